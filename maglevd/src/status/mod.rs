//! The live status page (`/status`, `/status.json`, `/status/events` on
//! the metrics listener): what operators see in a browser. Read-only:
//! actions stay behind the gRPC socket.
//!
//! `view` builds one [`StatusView`] from the checker's snapshot, the VPP
//! thread's published status and the recent events; `html` renders it
//! (with the inline `status.css` and `status.js`, allowed by their hashes
//! in `csp`), `/status.json` is its JSON, and `stream` sends it and each
//! transition as Server-Sent Events.

mod csp;
mod html;
mod stream;
pub mod view;

use std::sync::Arc;
use std::time::SystemTime;

use crate::checker::CheckerHandle;
use crate::http::{Reply, Response, StreamCtx};
use crate::vpp::VppHandle;

pub use html::render;
pub use view::StatusView;

/// Where the page reads from.
pub struct StatusSource {
    pub checker: CheckerHandle,
    /// `None` when VPP integration is off.
    pub vpp: Option<VppHandle>,
    /// When maglevd started.
    pub started: SystemTime,
}

impl StatusSource {
    pub fn view(&self) -> StatusView {
        let snap = self.checker.snapshot();
        let vpp = self.vpp.as_ref().map(|v| v.status());
        let events = self.checker.recent_events();
        view::build(&snap, vpp.as_ref(), &events, self.started, SystemTime::now())
    }

    pub fn page(&self) -> Response {
        Response::new(200, "text/html; charset=utf-8", render(&self.view()))
            .with_header("Content-Security-Policy", html::content_security_policy())
            .with_header("Cache-Control", "no-store")
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("Referrer-Policy", "no-referrer")
    }

    pub fn json(&self) -> Response {
        match serde_json::to_vec_pretty(&self.view()) {
            Ok(body) => Response::new(200, "application/json", body).with_header("Cache-Control", "no-store"),
            Err(e) => Response::text(500, &format!("cannot encode the status: {e}")),
        }
    }

    pub fn events(self: &Arc<Self>) -> Reply {
        let source = self.clone();
        Reply::Stream(Box::new(move |ctx: StreamCtx| stream::run(source, ctx)))
    }
}

#[cfg(test)]
mod tests;
