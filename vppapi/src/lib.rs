//! A client for FD.io VPP's binary API (unix socket) and statistics
//! segment, as described in the project's VPP protocol reference.
//!
//! No maglevd policy lives here. `unsafe` is allowed only in the module that
//! maps the stats segment.
#![deny(unsafe_code)]

pub mod client;
pub mod codec;
pub mod error;
pub mod frame;
pub mod lb;
pub mod lb_cli;
pub mod messages;
pub mod stats;
pub mod types;
