//! gRPC server reflection (`grpc.reflection.v1` and `v1alpha`), so that
//! generic clients (grpcurl, grpcui, any language's reflection client) can
//! list the services and fetch their descriptors without a copy of the
//! .proto files. grpcio has none; this serves the descriptors embedded in
//! the generated code.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use grpcio::{DuplexSink, RequestStream, RpcContext, RpcStatusCode, WriteFlags};
use protobuf::descriptor::{DescriptorProto, FileDescriptorProto};
use protobuf::reflect::FileDescriptor;
use protobuf::Message;

use crate::metrics::{GrpcCode, GrpcType};

use super::instrument::Instrument;

/// The descriptors the server can hand out, indexed by file name and by
/// every fully qualified symbol they define.
pub struct Registry {
    files: Vec<FileEntry>,
    by_name: HashMap<String, usize>,
    symbols: HashMap<String, usize>,
    services: Vec<String>,
    /// Fully qualified message names (for extension-number queries).
    messages: Vec<String>,
}

struct FileEntry {
    bytes: Vec<u8>,
    dependencies: Vec<String>,
}

/// A reflection request, independent of the protocol version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    FileByFilename(String),
    FileContainingSymbol(String),
    FileContainingExtension { containing_type: String, number: i32 },
    AllExtensionNumbersOfType(String),
    ListServices,
    Invalid,
}

/// A reflection answer, independent of the protocol version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Serialized FileDescriptorProtos: the file asked for first, then its
    /// dependencies.
    Files(Vec<Vec<u8>>),
    ExtensionNumbers {
        base_type: String,
        numbers: Vec<i32>,
    },
    Services(Vec<String>),
    Error {
        code: RpcStatusCode,
        message: String,
    },
}

impl Registry {
    /// `services`: the fully qualified names of the services the server runs.
    pub fn new(files: &[&FileDescriptor], services: Vec<String>) -> Registry {
        let mut reg = Registry {
            files: Vec::new(),
            by_name: HashMap::new(),
            symbols: HashMap::new(),
            services,
            messages: Vec::new(),
        };
        for fd in files {
            reg.add(fd.proto());
        }
        reg
    }

    fn add(&mut self, proto: &FileDescriptorProto) {
        if self.by_name.contains_key(proto.name()) {
            return;
        }
        let idx = self.files.len();
        // Serializing a descriptor held in memory cannot fail; an empty entry
        // would only make that one file unavailable to clients.
        let bytes = proto.write_to_bytes().unwrap_or_default();
        self.files.push(FileEntry { bytes, dependencies: proto.dependency.clone() });
        self.by_name.insert(proto.name().to_string(), idx);
        let package = proto.package();
        let scope =
            |name: &str| if package.is_empty() { name.to_string() } else { format!("{package}.{name}") };
        for m in &proto.message_type {
            self.add_message(&scope(m.name()), m, idx);
        }
        for e in &proto.enum_type {
            self.symbols.insert(scope(e.name()), idx);
            for v in &e.value {
                self.symbols.insert(scope(v.name()), idx);
            }
        }
        for s in &proto.service {
            let name = scope(s.name());
            for m in &s.method {
                self.symbols.insert(format!("{name}.{}", m.name()), idx);
            }
            self.symbols.insert(name, idx);
        }
    }

    fn add_message(&mut self, name: &str, m: &DescriptorProto, idx: usize) {
        self.symbols.insert(name.to_string(), idx);
        self.messages.push(name.to_string());
        for f in &m.field {
            self.symbols.insert(format!("{name}.{}", f.name()), idx);
        }
        for o in &m.oneof_decl {
            self.symbols.insert(format!("{name}.{}", o.name()), idx);
        }
        for n in &m.nested_type {
            self.add_message(&format!("{name}.{}", n.name()), n, idx);
        }
        for e in &m.enum_type {
            self.symbols.insert(format!("{name}.{}", e.name()), idx);
            for v in &e.value {
                self.symbols.insert(format!("{name}.{}", v.name()), idx);
            }
        }
    }

    /// The file at `idx` followed by its transitive dependencies that the
    /// registry knows, each once.
    fn with_dependencies(&self, idx: usize) -> Vec<Vec<u8>> {
        let mut order = vec![idx];
        let mut i = 0;
        while i < order.len() {
            if let Some(f) = self.files.get(order[i]) {
                for dep in &f.dependencies {
                    if let Some(&d) = self.by_name.get(dep) {
                        if !order.contains(&d) {
                            order.push(d);
                        }
                    }
                }
            }
            i += 1;
        }
        order.into_iter().filter_map(|i| self.files.get(i).map(|f| f.bytes.clone())).collect()
    }

    pub fn answer(&self, query: &Query) -> Answer {
        let not_found = |what: String| Answer::Error { code: RpcStatusCode::NOT_FOUND, message: what };
        match query {
            Query::ListServices => Answer::Services(self.services.clone()),
            Query::FileByFilename(name) => match self.by_name.get(name) {
                Some(&idx) => Answer::Files(self.with_dependencies(idx)),
                None => not_found(format!("file {name:?} not found")),
            },
            Query::FileContainingSymbol(symbol) => {
                match self.symbols.get(symbol.strip_prefix('.').unwrap_or(symbol)) {
                    Some(&idx) => Answer::Files(self.with_dependencies(idx)),
                    None => not_found(format!("symbol {symbol:?} not found")),
                }
            }
            Query::FileContainingExtension { containing_type, number } => not_found(format!(
                "extension {number} of {containing_type:?} not found (no extensions are defined)"
            )),
            Query::AllExtensionNumbersOfType(t) => {
                let name = t.strip_prefix('.').unwrap_or(t);
                if self.messages.iter().any(|m| m == name) {
                    Answer::ExtensionNumbers { base_type: name.to_string(), numbers: Vec::new() }
                } else {
                    not_found(format!("type {t:?} not found"))
                }
            }
            Query::Invalid => Answer::Error {
                code: RpcStatusCode::INVALID_ARGUMENT,
                message: "the request names no known reflection query".to_string(),
            },
        }
    }
}

/// The same service for both protocol versions: the message types are
/// identical in shape, only their package differs.
macro_rules! reflection_service {
    ($service:ident, $messages:ident, $grpc:ident) => {
        #[derive(Clone)]
        pub struct $service {
            registry: Arc<Registry>,
            instrument: Instrument,
        }

        impl $service {
            pub fn new(registry: Arc<Registry>, instrument: Instrument) -> Self {
                $service { registry, instrument }
            }
        }

        impl maglev_proto::$grpc::ServerReflection for $service {
            fn server_reflection_info(
                &mut self,
                ctx: RpcContext,
                mut stream: RequestStream<maglev_proto::$messages::ServerReflectionRequest>,
                mut sink: DuplexSink<maglev_proto::$messages::ServerReflectionResponse>,
            ) {
                use maglev_proto::$messages as pb;
                use pb::server_reflection_request::Message_request as Req;
                use pb::server_reflection_response::Message_response as Resp;

                let registry = self.registry.clone();
                let call = self.instrument.begin(&ctx, GrpcType::BidiStream);
                // Answers are in-memory lookups, so the stream is served on
                // the completion queue without a thread of its own.
                ctx.spawn(async move {
                    while let Some(Ok(req)) = stream.next().await {
                        if let Some(c) = &call {
                            c.msg_received();
                        }
                        let query = match &req.message_request {
                            Some(Req::FileByFilename(f)) => Query::FileByFilename(f.clone()),
                            Some(Req::FileContainingSymbol(s)) => Query::FileContainingSymbol(s.clone()),
                            Some(Req::FileContainingExtension(e)) => Query::FileContainingExtension {
                                containing_type: e.containing_type.clone(),
                                number: e.extension_number,
                            },
                            Some(Req::AllExtensionNumbersOfType(t)) => {
                                Query::AllExtensionNumbersOfType(t.clone())
                            }
                            Some(Req::ListServices(_)) => Query::ListServices,
                            _ => Query::Invalid,
                        };
                        let body = match registry.answer(&query) {
                            Answer::Files(files) => {
                                Resp::FileDescriptorResponse(pb::FileDescriptorResponse {
                                    file_descriptor_proto: files,
                                    ..Default::default()
                                })
                            }
                            Answer::ExtensionNumbers { base_type, numbers } => {
                                Resp::AllExtensionNumbersResponse(pb::ExtensionNumberResponse {
                                    base_type_name: base_type,
                                    extension_number: numbers,
                                    ..Default::default()
                                })
                            }
                            Answer::Services(names) => Resp::ListServicesResponse(pb::ListServiceResponse {
                                service: names
                                    .into_iter()
                                    .map(|name| pb::ServiceResponse { name, ..Default::default() })
                                    .collect(),
                                ..Default::default()
                            }),
                            Answer::Error { code, message } => Resp::ErrorResponse(pb::ErrorResponse {
                                error_code: i32::from(code),
                                error_message: message,
                                ..Default::default()
                            }),
                        };
                        let resp = pb::ServerReflectionResponse {
                            valid_host: req.host.clone(),
                            original_request: protobuf::MessageField::some(req),
                            message_response: Some(body),
                            ..Default::default()
                        };
                        if sink.send((resp, WriteFlags::default())).await.is_err() {
                            if let Some(c) = call {
                                c.finish(GrpcCode::Canceled);
                            }
                            return;
                        }
                        if let Some(c) = &call {
                            c.msg_sent();
                        }
                    }
                    let _ = sink.close().await;
                    if let Some(c) = call {
                        c.finish(GrpcCode::Ok);
                    }
                });
            }
        }
    };
}

reflection_service!(ReflectionV1, reflection_v1, reflection_v1_grpc);
reflection_service!(ReflectionV1Alpha, reflection_v1alpha, reflection_v1alpha_grpc);

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::new(
            &[maglev_proto::maglev::file_descriptor(), maglev_proto::health_v1::file_descriptor()],
            vec!["maglev.Maglev".to_string(), "grpc.health.v1.Health".to_string()],
        )
    }

    fn file_names(answer: Answer) -> Vec<String> {
        match answer {
            Answer::Files(files) => files
                .iter()
                .map(|b| {
                    FileDescriptorProto::parse_from_bytes(b).expect("valid descriptor").name().to_string()
                })
                .collect(),
            other => panic!("expected files, got {other:?}"),
        }
    }

    #[test]
    fn lists_services() {
        assert_eq!(
            registry().answer(&Query::ListServices),
            Answer::Services(vec!["maglev.Maglev".to_string(), "grpc.health.v1.Health".to_string()])
        );
    }

    #[test]
    fn finds_files_by_symbol_of_every_kind() {
        let r = registry();
        for symbol in [
            "maglev.Maglev",
            "maglev.Maglev.ListBackends",
            "maglev.BackendInfo",
            ".maglev.BackendInfo",
            "maglev.BackendInfo.address",
            "maglev.ConfigStatus",
            "maglev.CONFIG_OK",
        ] {
            assert_eq!(
                file_names(r.answer(&Query::FileContainingSymbol(symbol.to_string()))),
                ["maglev.proto"],
                "{symbol}"
            );
        }
        assert_eq!(
            file_names(r.answer(&Query::FileContainingSymbol(
                "grpc.health.v1.HealthCheckResponse.ServingStatus".to_string()
            ))),
            ["grpc/health/v1/health.proto"]
        );
    }

    #[test]
    fn finds_files_by_name_and_reports_unknowns() {
        let r = registry();
        assert_eq!(
            file_names(r.answer(&Query::FileByFilename("maglev.proto".to_string()))),
            ["maglev.proto"]
        );
        for q in [
            Query::FileByFilename("nope.proto".to_string()),
            Query::FileContainingSymbol("maglev.Nope".to_string()),
            Query::FileContainingExtension { containing_type: "maglev.BackendInfo".to_string(), number: 100 },
            Query::AllExtensionNumbersOfType("maglev.Nope".to_string()),
        ] {
            assert!(matches!(r.answer(&q), Answer::Error { code: RpcStatusCode::NOT_FOUND, .. }), "{q:?}");
        }
        assert_eq!(
            r.answer(&Query::AllExtensionNumbersOfType("maglev.BackendInfo".to_string())),
            Answer::ExtensionNumbers { base_type: "maglev.BackendInfo".to_string(), numbers: vec![] }
        );
    }
}
