//! maglevd's gRPC API types (generated from `maglev.proto`).
#![forbid(unsafe_code)]
