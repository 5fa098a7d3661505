//! The `maglev.Maglev` service. Handlers run on grpcio's completion-queue
//! threads, so each one only reads the checker's snapshot, or sends one
//! command and waits for the checker's short reply; streams get their own
//! thread (see `watch`).

use std::sync::Arc;

use crossbeam_channel::Receiver;
use grpcio::{RpcContext, RpcStatus, RpcStatusCode, ServerStreamingSink, UnarySink};
use maglev_proto::maglev as pb;
use maglev_proto::maglev_grpc::Maglev;

use crate::checker::{CheckerHandle, Command, CommandError};
use crate::config::ConfigError;
use crate::metrics::{GrpcCall, GrpcCode, GrpcType};
use crate::reload::{ConfigSource, ReloadError};

use super::convert;
use super::instrument::{self, Instrument};
use super::vpp::{VppError, VppService};
use super::watch::{self, WatchFilter};

/// The daemon's identity as GetVersion reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: String,
    pub commit: String,
    pub build_date: String,
}

/// Called after a successful ReloadConfig, with the same meaning as after a
/// SIGHUP reload (e.g. tell the VPP thread to sync).
pub type AfterReload = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub struct MaglevService {
    pub(super) checker: CheckerHandle,
    pub(super) config: ConfigSource,
    pub(super) after_reload: Option<AfterReload>,
    pub(super) vpp: Option<Arc<dyn VppService>>,
    pub(super) version: VersionInfo,
    pub(super) shutdown: Receiver<()>,
    pub(super) instrument: Instrument,
}

/// Completes a unary call without blocking the completion queue, and
/// records it.
pub(super) fn reply<T: Send + 'static>(
    ctx: &RpcContext,
    call: Option<GrpcCall>,
    sink: UnarySink<T>,
    result: Result<T, RpcStatus>,
) {
    ctx.spawn(async move {
        let code = match &result {
            Ok(_) => GrpcCode::Ok,
            Err(s) => instrument::code(s),
        };
        // The client may have gone; there is nobody left to tell.
        let sent = match result {
            Ok(v) => sink.success(v).await.is_ok(),
            Err(s) => {
                let _ = sink.fail(s).await;
                false
            }
        };
        if let Some(call) = call {
            if sent {
                call.msg_sent();
            }
            call.finish(code);
        }
    });
}

fn status(code: RpcStatusCode, message: impl Into<String>) -> RpcStatus {
    RpcStatus::with_message(code, message.into())
}

fn command_status(e: CommandError) -> RpcStatus {
    let code = match &e {
        CommandError::NotFound(_) => RpcStatusCode::NOT_FOUND,
        CommandError::InvalidArgument(_) => RpcStatusCode::INVALID_ARGUMENT,
        CommandError::FailedPrecondition(_) => RpcStatusCode::FAILED_PRECONDITION,
        CommandError::Stopped => RpcStatusCode::UNAVAILABLE,
    };
    status(code, e.to_string())
}

fn vpp_status(e: VppError) -> RpcStatus {
    let code = match &e {
        VppError::Unavailable(_) => RpcStatusCode::UNAVAILABLE,
        VppError::NotFound(_) => RpcStatusCode::NOT_FOUND,
        VppError::FailedPrecondition(_) => RpcStatusCode::FAILED_PRECONDITION,
        VppError::Failed(_) => RpcStatusCode::INTERNAL,
    };
    status(code, e.to_string())
}

/// Names are required: an empty one is a client bug, not an unknown name.
fn required<'a>(what: &str, name: &'a str) -> Result<&'a str, RpcStatus> {
    if name.is_empty() {
        Err(status(RpcStatusCode::INVALID_ARGUMENT, format!("{what} name is empty")))
    } else {
        Ok(name)
    }
}

fn not_found(what: &str, name: &str) -> RpcStatus {
    status(RpcStatusCode::NOT_FOUND, format!("{what} {name:?} not found"))
}

fn config_status(e: &ConfigError) -> pb::ConfigStatus {
    if e.exit_code() == 2 {
        pb::ConfigStatus::CONFIG_SEMANTIC_ERROR
    } else {
        pb::ConfigStatus::CONFIG_PARSE_ERROR
    }
}

/// One message per error (a semantic error lists every rule it broke).
fn config_errors(e: &ConfigError) -> Vec<String> {
    e.to_string().lines().map(str::to_string).collect()
}

impl MaglevService {
    fn get_backend_info(&self, name: &str) -> Result<pb::BackendInfo, RpcStatus> {
        let name = required("backend", name)?;
        let snap = self.checker.snapshot();
        let b = snap.backends.get(name).ok_or_else(|| not_found("backend", name))?;
        Ok(convert::backend(&snap, b))
    }

    fn get_frontend_info(&self, name: &str) -> Result<pb::FrontendInfo, RpcStatus> {
        let name = required("frontend", name)?;
        let snap = self.checker.snapshot();
        let f = snap.frontends.get(name).ok_or_else(|| not_found("frontend", name))?;
        Ok(convert::frontend(&snap, f))
    }

    fn backend_action(
        &self,
        name: &str,
        make: impl FnOnce(String) -> Command,
    ) -> Result<pb::BackendInfo, RpcStatus> {
        let name = required("backend", name)?;
        self.checker.command(make(name.to_string())).map_err(command_status)?;
        self.get_backend_info(name)
    }

    fn set_weight(
        &self,
        req: &pb::SetFrontendPoolBackendWeightRequest,
    ) -> Result<pb::FrontendInfo, RpcStatus> {
        let frontend = required("frontend", &req.frontend)?;
        let pool = required("pool", &req.pool)?;
        let backend = required("backend", &req.backend)?;
        let weight = u8::try_from(req.weight).ok().filter(|w| *w <= 100).ok_or_else(|| {
            status(
                RpcStatusCode::INVALID_ARGUMENT,
                format!("weight {} is out of range: use 0..100", req.weight),
            )
        })?;
        self.checker
            .command(Command::SetWeight {
                frontend: frontend.to_string(),
                pool: pool.to_string(),
                backend: backend.to_string(),
                weight,
                flush: req.flush,
            })
            .map_err(command_status)?;
        self.get_frontend_info(frontend)
    }

    fn config_check_response(&self) -> pb::CheckConfigResponse {
        let mut resp =
            pb::CheckConfigResponse { path: self.config.path.display().to_string(), ..Default::default() };
        if let Err(e) = self.config.load() {
            resp.status = config_status(&e).into();
            resp.errors = config_errors(&e);
        }
        resp
    }

    fn reload_and_summarize(&self) -> Result<pb::ReloadConfigResponse, RpcStatus> {
        match self.config.reload(&self.checker) {
            Ok(summary) => {
                if let Some(hook) = &self.after_reload {
                    hook();
                }
                Ok(convert::reload_summary(&summary))
            }
            Err(ReloadError::Config(e)) => {
                let code = if e.exit_code() == 2 {
                    RpcStatusCode::FAILED_PRECONDITION
                } else {
                    RpcStatusCode::INVALID_ARGUMENT
                };
                Err(status(code, format!("{e}\nthe running config is kept")))
            }
            Err(ReloadError::Checker(e)) => Err(command_status(e)),
        }
    }

    fn vpp(&self) -> Result<&dyn VppService, RpcStatus> {
        self.vpp.as_deref().ok_or_else(|| {
            status(
                RpcStatusCode::UNAVAILABLE,
                "VPP integration is disabled (maglevd runs with an empty --vpp-api-addr)",
            )
        })
    }
}

impl Maglev for MaglevService {
    fn list_frontends(
        &mut self,
        ctx: RpcContext,
        _req: pb::ListFrontendsRequest,
        sink: UnarySink<pb::ListFrontendsResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let snap = self.checker.snapshot();
        let frontends = snap.frontends.values().map(|f| convert::frontend(&snap, f)).collect();
        reply(&ctx, call, sink, Ok(pb::ListFrontendsResponse { frontends, ..Default::default() }));
    }

    fn get_frontend(
        &mut self,
        ctx: RpcContext,
        req: pb::GetFrontendRequest,
        sink: UnarySink<pb::FrontendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.get_frontend_info(&req.name));
    }

    fn list_backends(
        &mut self,
        ctx: RpcContext,
        _req: pb::ListBackendsRequest,
        sink: UnarySink<pb::ListBackendsResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let snap = self.checker.snapshot();
        let backends = snap.backends.values().map(|b| convert::backend(&snap, b)).collect();
        reply(&ctx, call, sink, Ok(pb::ListBackendsResponse { backends, ..Default::default() }));
    }

    fn get_backend(&mut self, ctx: RpcContext, req: pb::GetBackendRequest, sink: UnarySink<pb::BackendInfo>) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.get_backend_info(&req.name));
    }

    fn list_health_checks(
        &mut self,
        ctx: RpcContext,
        _req: pb::ListHealthChecksRequest,
        sink: UnarySink<pb::ListHealthChecksResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let snap = self.checker.snapshot();
        let healthchecks =
            snap.config.healthchecks.values().map(|h| convert::healthcheck(&snap, h)).collect();
        reply(&ctx, call, sink, Ok(pb::ListHealthChecksResponse { healthchecks, ..Default::default() }));
    }

    fn get_health_check(
        &mut self,
        ctx: RpcContext,
        req: pb::GetHealthCheckRequest,
        sink: UnarySink<pb::HealthCheckInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let result = required("healthcheck", &req.name).and_then(|name| {
            let snap = self.checker.snapshot();
            let hc = snap.config.healthchecks.get(name).ok_or_else(|| not_found("healthcheck", name))?;
            Ok(convert::healthcheck(&snap, hc))
        });
        reply(&ctx, call, sink, result);
    }

    fn pause_backend(
        &mut self,
        ctx: RpcContext,
        req: pb::BackendActionRequest,
        sink: UnarySink<pb::BackendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.backend_action(&req.name, |backend| Command::Pause { backend }));
    }

    fn resume_backend(
        &mut self,
        ctx: RpcContext,
        req: pb::BackendActionRequest,
        sink: UnarySink<pb::BackendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.backend_action(&req.name, |backend| Command::Resume { backend }));
    }

    fn enable_backend(
        &mut self,
        ctx: RpcContext,
        req: pb::BackendActionRequest,
        sink: UnarySink<pb::BackendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.backend_action(&req.name, |backend| Command::Enable { backend }));
    }

    fn disable_backend(
        &mut self,
        ctx: RpcContext,
        req: pb::BackendActionRequest,
        sink: UnarySink<pb::BackendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.backend_action(&req.name, |backend| Command::Disable { backend }));
    }

    fn set_frontend_pool_backend_weight(
        &mut self,
        ctx: RpcContext,
        req: pb::SetFrontendPoolBackendWeightRequest,
        sink: UnarySink<pb::FrontendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.set_weight(&req));
    }

    fn watch_events(
        &mut self,
        ctx: RpcContext,
        req: pb::WatchEventsRequest,
        sink: ServerStreamingSink<pb::Event>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::ServerStream);
        let filter = match WatchFilter::from_request(&req) {
            Ok(f) => f,
            Err(m) => {
                let st = status(RpcStatusCode::INVALID_ARGUMENT, m);
                let code = instrument::code(&st);
                ctx.spawn(async move {
                    let _ = sink.fail(st).await;
                    if let Some(call) = call {
                        call.finish(code);
                    }
                });
                return;
            }
        };
        watch::spawn(ctx.peer(), filter, self.checker.clone(), self.shutdown.clone(), sink, call);
    }

    fn check_config(
        &mut self,
        ctx: RpcContext,
        _req: pb::CheckConfigRequest,
        sink: UnarySink<pb::CheckConfigResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, Ok(self.config_check_response()));
    }

    fn reload_config(
        &mut self,
        ctx: RpcContext,
        _req: pb::ReloadConfigRequest,
        sink: UnarySink<pb::ReloadConfigResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        reply(&ctx, call, sink, self.reload_and_summarize());
    }

    fn get_version(
        &mut self,
        ctx: RpcContext,
        _req: pb::GetVersionRequest,
        sink: UnarySink<pb::VersionInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let v = &self.version;
        let info = pb::VersionInfo {
            version: v.version.clone(),
            commit: v.commit.clone(),
            build_date: v.build_date.clone(),
            ..Default::default()
        };
        reply(&ctx, call, sink, Ok(info));
    }

    fn get_vpp_info(&mut self, ctx: RpcContext, _req: pb::GetVPPInfoRequest, sink: UnarySink<pb::VPPInfo>) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let result = self.vpp().and_then(|v| v.info().map_err(vpp_status)).map(|i| convert::vpp_info(&i));
        reply(&ctx, call, sink, result);
    }

    fn get_vpplb_state(
        &mut self,
        ctx: RpcContext,
        _req: pb::GetVPPLBStateRequest,
        sink: UnarySink<pb::VPPLBState>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let result =
            self.vpp().and_then(|v| v.lb_state().map_err(vpp_status)).map(|s| convert::vpp_lb_state(&s));
        reply(&ctx, call, sink, result);
    }

    fn sync_vpplb_state(
        &mut self,
        ctx: RpcContext,
        req: pb::SyncVPPLBStateRequest,
        sink: UnarySink<pb::SyncVPPLBStateResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let result = self.vpp().and_then(|v| {
            let frontend = (!req.frontend.is_empty()).then_some(req.frontend.as_str());
            if let Some(name) = frontend {
                if !self.checker.snapshot().frontends.contains_key(name) {
                    return Err(not_found("frontend", name));
                }
            }
            v.sync(frontend).map_err(vpp_status).map(|c| convert::sync_counts(&c))
        });
        reply(&ctx, call, sink, result);
    }

    fn get_vpplb_counters(
        &mut self,
        ctx: RpcContext,
        _req: pb::GetVPPLBCountersRequest,
        sink: UnarySink<pb::VPPLBCounters>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let result =
            self.vpp().and_then(|v| v.counters().map_err(vpp_status)).map(|c| convert::vpp_counters(&c));
        reply(&ctx, call, sink, result);
    }
}
