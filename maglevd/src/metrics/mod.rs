//! Prometheus metrics (PRODUCT.md §9) and the `/metrics` endpoint.
//!
//! One [`Metrics`] (shared in an `Arc`) owns the registry. Values reach it
//! three ways:
//! - pushed, as counters and histograms: probe results and transitions
//!   from the checker (`impl CheckerObserver for Metrics`, in `probes`),
//!   VPP API messages and sync writes ([`Metrics::vpp_api_message`],
//!   [`Metrics::vpp_lbsync`]), gRPC calls ([`Metrics::grpc_start`]);
//! - pulled at scrape time from published state: backend and frontend
//!   state and weights from the checker's snapshot (`health`), VPP's
//!   connection and VIP counters from a [`VppStatusSource`] (`vpp`), and
//!   /proc/self (`process`);
//! - constant: `maglev_build_info`.
//!
//! A scrape writes the families with a series per backend (`health`,
//! `probes`) straight into one buffer through `text`, then appends the
//! registry's: at a thousand backends the registry's route (protobuf
//! messages, then the crate's encoder) cost three times the 10 ms budget.
//!
//! `vpp_bridge` plugs the VPP thread into that seam (its observer, and its
//! published status as the scrape-time source); the gRPC server records
//! each call through [`GrpcCall`].
//!
//! Nothing here ever blocks the checker or VPP threads: pushes are atomic
//! adds, pulls read immutable snapshots.

mod error;
mod family;
mod grpc;
mod health;
mod probes;
mod process;
mod server;
mod text;
mod vpp;
mod vpp_bridge;

use std::sync::Arc;

use prometheus::{IntGaugeVec, Opts, Registry, TextEncoder};

use crate::checker::CheckerHandle;
use crate::version::{COMMIT, VERSION};
use text::Text;

pub use error::MetricsError;
pub use grpc::{GrpcCall, GrpcCode, GrpcMethod, GrpcType};
pub use server::{serve, MetricsServer, CONTENT_TYPE};
pub use vpp::{VppStatusSource, LBSYNC_KINDS, LBSYNC_SCOPES};

/// Every metric maglevd exports. Create it before the checker (it is the
/// checker's observer), then [`attach_checker`](Metrics::attach_checker).
pub struct Metrics {
    registry: Registry,
    probes: probes::ProbeMetrics,
    vpp: vpp::VppCounters,
    grpc: grpc::GrpcMetrics,
    checker: health::SnapshotSlot,
    vpp_source: vpp::VppSourceSlot,
}

impl Metrics {
    pub fn new() -> Metrics {
        // Every family is defined by constants in this module; a failure
        // here is a programming error that the unit tests catch.
        Metrics::build().unwrap_or_else(|e| panic!("metric definitions are inconsistent: {e}"))
    }

    fn build() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let checker: health::SnapshotSlot = Arc::default();
        let vpp_source: vpp::VppSourceSlot = Arc::default();
        registry.register(Box::new(vpp::VppCollector::new(vpp_source.clone())))?;
        registry.register(Box::new(process::ProcessCollector::new()))?;
        let build_info = IntGaugeVec::new(
            Opts::new("maglev_build_info", "maglevd's version and commit; always 1."),
            &["version", "commit"],
        )?;
        build_info.with_label_values(&[VERSION, COMMIT]).set(1);
        registry.register(Box::new(build_info))?;
        Ok(Metrics {
            probes: probes::ProbeMetrics::register(&registry)?,
            vpp: vpp::VppCounters::register(&registry)?,
            grpc: grpc::GrpcMetrics::register(&registry)?,
            registry,
            checker,
            vpp_source,
        })
    }

    /// Where scrapes read backend and frontend state from. Until this is
    /// called those families are absent.
    pub fn attach_checker(&self, handle: CheckerHandle) {
        *self.checker.write() = Some(handle);
    }

    /// The same text a scrape streams ([`Metrics::write_to`]), whole.
    pub fn encode(&self) -> Result<String, prometheus::Error> {
        let registry = self.encode_registry()?;
        let mut out = Vec::new();
        self.write_to(&registry, &mut out)?;
        // Every piece was written from a `String`.
        Ok(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// The registry's families; encoded first, so that a scrape that
    /// streams knows of an encoding error before it has sent anything.
    pub fn encode_registry(&self) -> Result<String, prometheus::Error> {
        let mut out = String::new();
        TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out)?;
        Ok(out)
    }

    /// The whole exposition in the Prometheus text format 0.0.4, written
    /// to `sink` in pieces of about 64 KiB: a scrape needs that much
    /// memory, not the size of the whole text (20 MB at 10,000 backends).
    /// The per-backend families are written directly (`health`, `probes`),
    /// then `registry`, what [`Metrics::encode_registry`] returned.
    pub fn write_to(&self, registry: &str, sink: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut t = Text::new(sink);
        health::write(&self.checker, &mut t);
        self.probes.write(&mut t);
        t.finish()?;
        sink.write_all(registry.as_bytes())
    }

    /// The registry, for embedding or for tests that inspect families.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests;
