//! maglevd: the health-checking control plane for VPP's lb plugin.
//!
//! The binary (`main.rs`) is a thin shell around this library so that
//! integration tests and benchmarks can drive the same code.
#![forbid(unsafe_code)]

pub mod checker;
pub mod config;
pub mod daemon;
pub mod flags;
pub mod grpc;
pub mod health;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod probe;
pub mod reload;
pub mod status;
pub mod version;
pub mod vpp;
pub mod watchdog;
