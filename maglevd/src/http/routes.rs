//! What the metrics listener answers, by path.

use std::sync::Arc;

use log::warn;

use super::{BodyWriter, Handler, Method, Reply, Request, Response};
use crate::logging::Value;
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::status::StatusSource;

pub struct Routes {
    pub metrics: Arc<Metrics>,
    /// `None`: `/metrics` only (tests and benchmarks).
    pub status: Option<Arc<StatusSource>>,
}

const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>maglevd</title></head><body>\n\
<h1>maglevd</h1>\n<p><a href=\"/metrics\">Metrics</a></p>\n</body></html>\n";

impl Handler for Routes {
    fn handle(&self, req: &Request) -> Reply {
        if !matches!(req.method, Method::Get | Method::Head) {
            let r = Response::text(405, "only GET and HEAD are supported").with_header("Allow", "GET, HEAD");
            return Reply::Full(r);
        }
        let status = self.status.as_ref();
        if req.path == "/metrics" {
            return self.metrics_reply();
        }
        Reply::Full(match (req.path.as_str(), status) {
            ("/", Some(_)) => Response::text(302, "see /status").with_header("Location", "/status"),
            ("/", None) => Response::new(200, "text/html; charset=utf-8", INDEX),
            ("/status", Some(s)) => s.page(),
            ("/status.json", Some(s)) => s.json(),
            ("/status/events", Some(s)) if req.method == Method::Get => return s.events(),
            _ => Response::text(404, "not found: see /status or /metrics"),
        })
    }
}

impl Routes {
    /// Streamed in pieces: at 10,000 backends the text is 20 MB. The only
    /// part that can fail to encode is encoded before anything is sent, so
    /// a failure is still a 500.
    fn metrics_reply(&self) -> Reply {
        match self.metrics.encode_registry() {
            Ok(registry) => {
                let metrics = self.metrics.clone();
                let write: BodyWriter = Box::new(move |sink| metrics.write_to(&registry, sink));
                Reply::Written { content_type: CONTENT_TYPE, write }
            }
            Err(e) => {
                warn!("metrics-encode-failed error={}", Value(&e.to_string()));
                Reply::Full(Response::text(500, &format!("cannot encode metrics: {e}")))
            }
        }
    }
}
