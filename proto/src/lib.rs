//! maglevd's gRPC API: the messages and service glue generated from
//! `maglev.proto` and from the standard gRPC health and reflection protocols
//! (regenerate with `make proto`; the generator lives in `codegen/`).
//!
//! Each module's `file_descriptor()` gives the file's descriptor, which the
//! server's reflection service hands to generic clients.
#![forbid(unsafe_code)]

/// `maglev.proto`: the messages of the `maglev.Maglev` service.
pub mod maglev;
/// `maglev.Maglev`: `MaglevClient`, the `Maglev` server trait, `create_maglev`.
pub mod maglev_grpc;

/// `grpc/health/v1/health.proto`.
pub mod health_v1;
/// `grpc.health.v1.Health`.
pub mod health_v1_grpc;

/// `grpc/reflection/v1/reflection.proto`.
pub mod reflection_v1;
/// `grpc.reflection.v1.ServerReflection`.
pub mod reflection_v1_grpc;

/// `grpc/reflection/v1alpha/reflection.proto` (older clients such as grpcurl
/// releases before 1.9 only speak this one).
pub mod reflection_v1alpha;
/// `grpc.reflection.v1alpha.ServerReflection`.
pub mod reflection_v1alpha_grpc;
