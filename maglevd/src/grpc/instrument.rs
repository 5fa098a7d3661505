//! Records every call in the `grpc_server_*` metrics family (PRODUCT.md §9)
//! through the metrics module's [`GrpcCall`].

use std::sync::Arc;

use grpcio::{RpcContext, RpcStatus};
use protobuf::reflect::FileDescriptor;

use crate::metrics::{GrpcCall, GrpcCode, GrpcMethod, GrpcType, Metrics};

/// Where calls are recorded; `None` records nothing (tests, no metrics).
#[derive(Clone, Default)]
pub struct Instrument(pub Option<Arc<Metrics>>);

impl Instrument {
    /// Starts recording the call `ctx` belongs to; the request message of a
    /// unary or server-streaming call counts as received.
    pub fn begin(&self, ctx: &RpcContext, kind: GrpcType) -> Option<GrpcCall> {
        let metrics = self.0.as_ref()?;
        let path = std::str::from_utf8(ctx.method()).ok()?;
        let method = GrpcMethod::from_path(path, kind)?;
        let call = metrics.grpc_start(&method.service, &method.method, kind);
        if matches!(kind, GrpcType::Unary | GrpcType::ServerStream) {
            call.msg_received();
        }
        Some(call)
    }

    /// Creates every method's series at 0 (so they are scraped from the
    /// start).
    pub fn register(&self, files: &[&FileDescriptor], services: &[String]) {
        if let Some(metrics) = &self.0 {
            metrics.register_grpc_methods(&methods(files, services));
        }
    }
}

/// The methods of `services` as the descriptors define them.
pub fn methods(files: &[&FileDescriptor], services: &[String]) -> Vec<GrpcMethod> {
    let mut out = Vec::new();
    for fd in files {
        let proto = fd.proto();
        for s in &proto.service {
            let name = if proto.package().is_empty() {
                s.name().to_string()
            } else {
                format!("{}.{}", proto.package(), s.name())
            };
            if !services.contains(&name) {
                continue;
            }
            for m in &s.method {
                let kind = match (m.client_streaming(), m.server_streaming()) {
                    (false, false) => GrpcType::Unary,
                    (true, false) => GrpcType::ClientStream,
                    (false, true) => GrpcType::ServerStream,
                    (true, true) => GrpcType::BidiStream,
                };
                out.push(GrpcMethod::new(&name, m.name(), kind));
            }
        }
    }
    out
}

/// The metrics code of a status sent to the client.
pub fn code(status: &RpcStatus) -> GrpcCode {
    GrpcCode::from_i32(i32::from(status.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_come_from_the_descriptors_with_their_kind() {
        let m = methods(
            &[maglev_proto::maglev::file_descriptor(), maglev_proto::health_v1::file_descriptor()],
            &["maglev.Maglev".to_string(), "grpc.health.v1.Health".to_string()],
        );
        assert!(m.contains(&GrpcMethod::new("maglev.Maglev", "ListBackends", GrpcType::Unary)));
        assert!(m.contains(&GrpcMethod::new("maglev.Maglev", "WatchEvents", GrpcType::ServerStream)));
        assert!(m.contains(&GrpcMethod::new("grpc.health.v1.Health", "Watch", GrpcType::ServerStream)));
        assert_eq!(m.len(), 19 + 2);
    }
}
