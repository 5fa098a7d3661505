//! Generates the Rust for maglevd's .proto files: the messages with
//! protobuf-codegen (protobuf 3, pure-Rust parser, no protoc), and the
//! grpcio service glue (method descriptors, a client, a server trait and a
//! `create_<service>` function) in the shape grpcio-compiler produces, which
//! only supports protobuf 2.
//!
//! Usage: `maglev-proto-codegen <proto dir> <output dir>`; `make proto`
//! runs it. Each .proto file becomes `<module>.rs` (messages) and, when it
//! has services, `<module>_grpc.rs` in the output directory.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use protobuf::descriptor::{FileDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto};

/// (.proto file relative to the proto dir, Rust module name).
const FILES: &[(&str, &str)] = &[
    ("maglev.proto", "maglev"),
    ("grpc/health/v1/health.proto", "health_v1"),
    ("grpc/reflection/v1/reflection.proto", "reflection_v1"),
    ("grpc/reflection/v1alpha/reflection.proto", "reflection_v1alpha"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [proto_dir, out_dir] = args.as_slice() else {
        eprintln!("usage: maglev-proto-codegen <proto dir> <output dir>");
        return ExitCode::from(2);
    };
    match run(Path::new(proto_dir), Path::new(out_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maglev-proto-codegen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(proto_dir: &Path, out_dir: &Path) -> Result<(), String> {
    for (file, module) in FILES {
        let input = proto_dir.join(file);
        generate_messages(proto_dir, &input, out_dir, module)?;
        let parsed = protobuf_parse::Parser::new()
            .pure()
            .include(proto_dir)
            .input(&input)
            .parse_and_typecheck()
            .map_err(|e| format!("{}: {e:#}", input.display()))?;
        let descriptor = parsed
            .file_descriptors
            .iter()
            .find(|f| f.name() == *file)
            .ok_or_else(|| format!("{file}: no descriptor after parsing"))?;
        if !descriptor.service.is_empty() {
            let code = grpc_module(descriptor, module)?;
            let path = out_dir.join(format!("{module}_grpc.rs"));
            std::fs::write(&path, code).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Runs protobuf-codegen for one file into a scratch directory and moves the
/// result to `<out_dir>/<module>.rs` (protobuf-codegen names its output after
/// the file stem, and both reflection versions are `reflection.proto`).
fn generate_messages(proto_dir: &Path, input: &Path, out_dir: &Path, module: &str) -> Result<(), String> {
    let scratch: PathBuf =
        std::env::temp_dir().join(format!("maglev-codegen-{}-{module}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    protobuf_codegen::Codegen::new()
        .pure()
        .include(proto_dir)
        .input(input)
        .out_dir(&scratch)
        .customize(protobuf_codegen::Customize::default().gen_mod_rs(false))
        .run()
        .map_err(|e| format!("{}: {e:#}", input.display()))?;
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| format!("{}: bad file name", input.display()))?;
    let generated = scratch.join(format!("{stem}.rs"));
    let target = out_dir.join(format!("{module}.rs"));
    std::fs::copy(&generated, &target)
        .map_err(|e| format!("{} -> {}: {e}", generated.display(), target.display()))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unary,
    ClientStreaming,
    ServerStreaming,
    Duplex,
}

impl Kind {
    fn of(m: &MethodDescriptorProto) -> Kind {
        match (m.client_streaming(), m.server_streaming()) {
            (false, false) => Kind::Unary,
            (true, false) => Kind::ClientStreaming,
            (false, true) => Kind::ServerStreaming,
            (true, true) => Kind::Duplex,
        }
    }

    fn method_type(self) -> &'static str {
        match self {
            Kind::Unary => "::grpcio::MethodType::Unary",
            Kind::ClientStreaming => "::grpcio::MethodType::ClientStreaming",
            Kind::ServerStreaming => "::grpcio::MethodType::ServerStreaming",
            Kind::Duplex => "::grpcio::MethodType::Duplex",
        }
    }

    fn add_handler(self) -> &'static str {
        match self {
            Kind::Unary => "add_unary_handler",
            Kind::ClientStreaming => "add_client_streaming_handler",
            Kind::ServerStreaming => "add_server_streaming_handler",
            Kind::Duplex => "add_duplex_streaming_handler",
        }
    }
}

struct Method {
    /// `ListFrontends`.
    proto_name: String,
    /// `list_frontends`.
    rust_name: String,
    /// `METHOD_MAGLEV_LIST_FRONTENDS`.
    constant: String,
    input: String,
    output: String,
    kind: Kind,
}

fn grpc_module(file: &FileDescriptorProto, module: &str) -> Result<String, String> {
    let mut out = String::new();
    out.push_str(&format!(
        "// Generated from {} by proto/codegen (`make proto`). Do not edit.\n\
         // @generated\n\n\
         #![allow(unknown_lints)]\n\
         #![allow(clippy::all)]\n\
         #![allow(dead_code)]\n\
         #![allow(missing_docs)]\n\
         #![allow(unused_imports)]\n",
        file.name()
    ));
    for service in &file.service {
        out.push('\n');
        service_code(&mut out, file, service, module)?;
    }
    Ok(out)
}

fn service_code(
    out: &mut String,
    file: &FileDescriptorProto,
    service: &ServiceDescriptorProto,
    module: &str,
) -> Result<(), String> {
    let service_name = service.name();
    let path = if file.package().is_empty() {
        format!("/{service_name}")
    } else {
        format!("/{}.{service_name}", file.package())
    };
    let methods = service
        .method
        .iter()
        .map(|m| {
            let rust_name = snake_case(m.name());
            Ok(Method {
                proto_name: m.name().to_string(),
                constant: format!(
                    "METHOD_{}_{}",
                    snake_case(service_name).to_uppercase(),
                    rust_name.to_uppercase()
                ),
                rust_name,
                input: rust_type(file, m.input_type(), module)?,
                output: rust_type(file, m.output_type(), module)?,
                kind: Kind::of(m),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if methods.is_empty() {
        return Err(format!("service {service_name} has no methods"));
    }

    // Method descriptors.
    for m in &methods {
        let _ = writeln!(
            out,
            "const {c}: ::grpcio::Method<{i}, {o}> = ::grpcio::Method {{\n    \
             ty: {t},\n    \
             name: \"{path}/{n}\",\n    \
             req_mar: ::grpcio::Marshaller {{ ser: ::grpcio::pb_ser, de: ::grpcio::pb_de }},\n    \
             resp_mar: ::grpcio::Marshaller {{ ser: ::grpcio::pb_ser, de: ::grpcio::pb_de }},\n\
             }};\n",
            c = m.constant,
            i = m.input,
            o = m.output,
            t = m.kind.method_type(),
            n = m.proto_name,
        );
    }

    // Client.
    let client = format!("{service_name}Client");
    let _ = writeln!(
        out,
        "#[derive(Clone)]\npub struct {client} {{\n    pub client: ::grpcio::Client,\n}}\n\n\
         impl {client} {{\n    \
         pub fn new(channel: ::grpcio::Channel) -> Self {{\n        \
         {client} {{ client: ::grpcio::Client::new(channel) }}\n    }}\n"
    );
    for m in &methods {
        client_methods(out, m);
    }
    out.push_str(
        "    pub fn spawn<F>(&self, f: F)\n    where\n        F: ::std::future::Future<Output = ()> + Send + 'static,\n    {\n        self.client.spawn(f)\n    }\n}\n\n",
    );

    // Server trait.
    let _ = writeln!(out, "pub trait {service_name} {{");
    for m in &methods {
        let (arg, arg_type, sink) = match m.kind {
            Kind::Unary => ("req", m.input.clone(), "UnarySink"),
            Kind::ClientStreaming => {
                ("stream", format!("::grpcio::RequestStream<{}>", m.input), "ClientStreamingSink")
            }
            Kind::ServerStreaming => ("req", m.input.clone(), "ServerStreamingSink"),
            Kind::Duplex => ("stream", format!("::grpcio::RequestStream<{}>", m.input), "DuplexSink"),
        };
        let _ = writeln!(
            out,
            "    fn {n}(&mut self, ctx: ::grpcio::RpcContext, _{arg}: {arg_type}, sink: ::grpcio::{sink}<{o}>) {{\n        \
             grpcio::unimplemented_call!(ctx, sink)\n    }}",
            n = m.rust_name,
            o = m.output,
        );
    }
    out.push_str("}\n\n");

    // Service builder.
    let _ = writeln!(
        out,
        "pub fn create_{s}<S: {service_name} + Send + Clone + 'static>(s: S) -> ::grpcio::Service {{\n    \
         let mut builder = ::grpcio::ServiceBuilder::new();",
        s = snake_case(service_name)
    );
    for (i, m) in methods.iter().enumerate() {
        if i + 1 < methods.len() {
            out.push_str("    let mut instance = s.clone();\n");
        } else {
            out.push_str("    let mut instance = s;\n");
        }
        let _ = writeln!(
            out,
            "    builder = builder.{h}(&{c}, move |ctx, req, resp| instance.{n}(ctx, req, resp));",
            h = m.kind.add_handler(),
            c = m.constant,
            n = m.rust_name,
        );
    }
    out.push_str("    builder.build()\n}\n");
    Ok(())
}

fn client_methods(out: &mut String, m: &Method) {
    let (n, c, i, o) = (&m.rust_name, &m.constant, &m.input, &m.output);
    let _ = match m.kind {
        Kind::Unary => writeln!(
            out,
            "    pub fn {n}_opt(&self, req: &{i}, opt: ::grpcio::CallOption) -> ::grpcio::Result<{o}> {{\n        \
             self.client.unary_call(&{c}, req, opt)\n    }}\n\n    \
             pub fn {n}(&self, req: &{i}) -> ::grpcio::Result<{o}> {{\n        \
             self.{n}_opt(req, ::grpcio::CallOption::default())\n    }}\n\n    \
             pub fn {n}_async_opt(&self, req: &{i}, opt: ::grpcio::CallOption) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<{o}>> {{\n        \
             self.client.unary_call_async(&{c}, req, opt)\n    }}\n\n    \
             pub fn {n}_async(&self, req: &{i}) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<{o}>> {{\n        \
             self.{n}_async_opt(req, ::grpcio::CallOption::default())\n    }}\n"
        ),
        Kind::ClientStreaming => writeln!(
            out,
            "    pub fn {n}_opt(&self, opt: ::grpcio::CallOption) -> ::grpcio::Result<(::grpcio::ClientCStreamSender<{i}>, ::grpcio::ClientCStreamReceiver<{o}>)> {{\n        \
             self.client.client_streaming(&{c}, opt)\n    }}\n\n    \
             pub fn {n}(&self) -> ::grpcio::Result<(::grpcio::ClientCStreamSender<{i}>, ::grpcio::ClientCStreamReceiver<{o}>)> {{\n        \
             self.{n}_opt(::grpcio::CallOption::default())\n    }}\n"
        ),
        Kind::ServerStreaming => writeln!(
            out,
            "    pub fn {n}_opt(&self, req: &{i}, opt: ::grpcio::CallOption) -> ::grpcio::Result<::grpcio::ClientSStreamReceiver<{o}>> {{\n        \
             self.client.server_streaming(&{c}, req, opt)\n    }}\n\n    \
             pub fn {n}(&self, req: &{i}) -> ::grpcio::Result<::grpcio::ClientSStreamReceiver<{o}>> {{\n        \
             self.{n}_opt(req, ::grpcio::CallOption::default())\n    }}\n"
        ),
        Kind::Duplex => writeln!(
            out,
            "    pub fn {n}_opt(&self, opt: ::grpcio::CallOption) -> ::grpcio::Result<(::grpcio::ClientDuplexSender<{i}>, ::grpcio::ClientDuplexReceiver<{o}>)> {{\n        \
             self.client.duplex_streaming(&{c}, opt)\n    }}\n\n    \
             pub fn {n}(&self) -> ::grpcio::Result<(::grpcio::ClientDuplexSender<{i}>, ::grpcio::ClientDuplexReceiver<{o}>)> {{\n        \
             self.{n}_opt(::grpcio::CallOption::default())\n    }}\n"
        ),
    };
}

/// `.maglev.ListFrontendsRequest` -> `super::maglev::ListFrontendsRequest`.
/// Only top-level messages of the same file are supported, which is all
/// our services use.
fn rust_type(file: &FileDescriptorProto, proto_type: &str, module: &str) -> Result<String, String> {
    let prefix = if file.package().is_empty() { ".".to_string() } else { format!(".{}.", file.package()) };
    let name = proto_type.strip_prefix(&prefix).filter(|n| !n.contains('.')).ok_or_else(|| {
        format!("{}: method type {proto_type} is not a top-level message of this file", file.name())
    })?;
    Ok(format!("super::{module}::{name}"))
}

/// `ServerReflectionInfo` -> `server_reflection_info`; `GetVPPInfo` ->
/// `get_vpp_info` (a run of capitals is one word).
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("ListFrontends"), "list_frontends");
        assert_eq!(snake_case("GetVPPInfo"), "get_vpp_info");
        assert_eq!(snake_case("GetVPPLBState"), "get_vpplb_state");
        assert_eq!(snake_case("ServerReflectionInfo"), "server_reflection_info");
        assert_eq!(snake_case("Check"), "check");
        assert_eq!(snake_case("Maglev"), "maglev");
    }
}
