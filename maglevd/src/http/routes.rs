//! What the metrics listener answers, by path.

use std::sync::Arc;

use log::warn;

use super::{Handler, Method, Reply, Request, Response};
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
        Reply::Full(match (req.path.as_str(), status) {
            ("/metrics", _) => self.metrics_response(),
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
    fn metrics_response(&self) -> Response {
        match self.metrics.encode() {
            Ok(text) => Response::new(200, CONTENT_TYPE, text),
            Err(e) => {
                warn!("metrics-encode-failed error={}", Value(&e.to_string()));
                Response::text(500, &format!("cannot encode metrics: {e}"))
            }
        }
    }
}
