//! The `maglev.Maglev` service. Handlers run on grpcio's completion-queue
//! threads and never wait there: they read the checker's snapshot and
//! answer, or hand the call to the thread that does the work (the checker
//! for operator actions, the VPP thread for VPP reads and syncs, the
//! background thread for config files), which completes it through a
//! hand-off the call's task on the completion queue sleeps on. Queued
//! work whose deadline passes before it starts is dropped, not run.
//! Streams get their own thread each, up to a cap (see `watch`).

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::SystemTime;

use crossbeam_channel::Receiver;
use grpcio::{RpcContext, RpcStatus, RpcStatusCode, ServerStreamingSink, UnarySink};
use log::warn;
use maglev_proto::maglev as pb;
use maglev_proto::maglev_grpc::Maglev;

use crate::checker::{CheckerHandle, Command, CommandError};
use crate::config::ConfigError;
use crate::logging::Value;
use crate::metrics::{GrpcCall, GrpcCode, GrpcType};
use crate::reload::{ConfigSource, ReloadError};
use crate::vpp::VppError;

use super::background::{self, Background, Turn};
use super::convert;
use super::handoff::{handoff, Giver};
use super::instrument::{self, Instrument};
use super::vpp::VppService;
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
    pub(super) background: Background,
    /// WatchEvents streams open now, and how many may be.
    pub(super) watch_streams: Arc<AtomicUsize>,
    pub(super) max_watch_streams: usize,
}

/// Completes a unary call without blocking the completion queue, and
/// records it.
pub(super) fn reply<T: Send + 'static>(
    ctx: &RpcContext,
    call: Option<GrpcCall>,
    sink: UnarySink<T>,
    result: Result<T, RpcStatus>,
) {
    ctx.spawn(send_reply(call, sink, result));
}

async fn send_reply<T>(call: Option<GrpcCall>, sink: UnarySink<T>, result: Result<T, RpcStatus>) {
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
}

/// Where another thread puts a unary call's answer: the call is completed
/// by a task on the completion queue, which sleeps until then.
pub(super) type Answer<T> = Giver<Result<T, RpcStatus>>;

/// Leaves a unary call open for another thread to answer through the
/// returned [`Answer`] (dropped unanswered: UNAVAILABLE).
pub(super) fn answer_later<T: Send + 'static>(
    ctx: &RpcContext,
    call: Option<GrpcCall>,
    sink: UnarySink<T>,
) -> Answer<T> {
    let (giver, taker) = handoff();
    ctx.spawn(async move {
        let result = taker.await.unwrap_or_else(|| {
            Err(status(
                RpcStatusCode::UNAVAILABLE,
                "the request was dropped unanswered (maglevd is stopping?)",
            ))
        });
        send_reply(call, sink, result).await;
    });
    giver
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
        CommandError::Busy => RpcStatusCode::RESOURCE_EXHAUSTED,
        CommandError::Expired => RpcStatusCode::DEADLINE_EXCEEDED,
    };
    status(code, e.to_string())
}

fn vpp_status(e: VppError) -> RpcStatus {
    let code = match &e {
        VppError::Disconnected(_) => RpcStatusCode::UNAVAILABLE,
        VppError::NotFound(_) => RpcStatusCode::NOT_FOUND,
        VppError::FailedPrecondition(_) => RpcStatusCode::FAILED_PRECONDITION,
        VppError::Api(_) => RpcStatusCode::INTERNAL,
        VppError::Busy(_) => RpcStatusCode::RESOURCE_EXHAUSTED,
        VppError::Expired => RpcStatusCode::DEADLINE_EXCEEDED,
    };
    status(code, e.to_string())
}

/// Ends a stream at once with `st`.
pub(super) fn fail_stream<T: Send + 'static>(
    ctx: &RpcContext,
    call: Option<GrpcCall>,
    sink: ServerStreamingSink<T>,
    st: RpcStatus,
) {
    let code = instrument::code(&st);
    ctx.spawn(async move {
        let _ = sink.fail(st).await;
        if let Some(call) = call {
            call.finish(code);
        }
    });
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

fn backend_info(checker: &CheckerHandle, name: &str) -> Result<pb::BackendInfo, RpcStatus> {
    let name = required("backend", name)?;
    let snap = checker.snapshot();
    let b = snap.backends.get(name).ok_or_else(|| not_found("backend", name))?;
    Ok(convert::backend(&snap, b))
}

fn frontend_info(checker: &CheckerHandle, name: &str) -> Result<pb::FrontendInfo, RpcStatus> {
    let name = required("frontend", name)?;
    let snap = checker.snapshot();
    let f = snap.frontends.get(name).ok_or_else(|| not_found("frontend", name))?;
    Ok(convert::frontend(&snap, f))
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
    /// Hands an operator action to the checker; the checker thread
    /// completes the call with `answer` once the action is published.
    fn command<T: Send + 'static>(
        &self,
        ctx: &RpcContext,
        call: Option<GrpcCall>,
        sink: UnarySink<T>,
        cmd: Command,
        answer: impl FnOnce(&CheckerHandle) -> Result<T, RpcStatus> + Send + 'static,
    ) {
        let checker = self.checker.clone();
        let deadline = ctx.deadline();
        let out = answer_later(ctx, call, sink);
        self.checker.command_then(
            cmd,
            Box::new(move || deadline.exceeded()),
            Box::new(move |r| out.give(r.map_err(command_status).and_then(|()| answer(&checker)))),
        );
    }

    fn backend_action(
        &self,
        ctx: &RpcContext,
        call: Option<GrpcCall>,
        sink: UnarySink<pb::BackendInfo>,
        name: &str,
        make: impl FnOnce(String) -> Command,
    ) {
        let name = match required("backend", name) {
            Ok(n) => n.to_string(),
            Err(e) => return reply(ctx, call, sink, Err(e)),
        };
        let cmd = make(name.clone());
        self.command(ctx, call, sink, cmd, move |checker| backend_info(checker, &name));
    }

    fn set_weight(
        &self,
        ctx: &RpcContext,
        call: Option<GrpcCall>,
        sink: UnarySink<pb::FrontendInfo>,
        req: &pb::SetFrontendPoolBackendWeightRequest,
    ) {
        let parsed = (|| {
            let frontend = required("frontend", &req.frontend)?;
            let pool = required("pool", &req.pool)?;
            let backend = required("backend", &req.backend)?;
            let weight = u8::try_from(req.weight).ok().filter(|w| *w <= 100).ok_or_else(|| {
                status(
                    RpcStatusCode::INVALID_ARGUMENT,
                    format!("weight {} is out of range: use 0..100", req.weight),
                )
            })?;
            Ok(Command::SetWeight {
                frontend: frontend.to_string(),
                pool: pool.to_string(),
                backend: backend.to_string(),
                weight,
                flush: req.flush,
            })
        })();
        let cmd = match parsed {
            Ok(c) => c,
            Err(e) => return reply(ctx, call, sink, Err(e)),
        };
        let frontend = req.frontend.clone();
        self.command(ctx, call, sink, cmd, move |checker| frontend_info(checker, &frontend));
    }

    /// Runs `work` on the background thread, which completes the call;
    /// RESOURCE_EXHAUSTED when its queue is full.
    fn in_background<T: Send + 'static>(
        &self,
        ctx: &RpcContext,
        call: Option<GrpcCall>,
        sink: UnarySink<T>,
        work: impl FnOnce(&MaglevService) -> Result<T, RpcStatus> + Send + 'static,
    ) {
        let this = self.clone();
        let deadline = ctx.deadline();
        let out = answer_later(ctx, call, sink);
        self.background.run(Box::new(move |turn| {
            let result = match turn {
                Turn::Busy => Err(status(
                    RpcStatusCode::RESOURCE_EXHAUSTED,
                    format!("{} config requests are already queued; retry later", background::QUEUE),
                )),
                Turn::Run if deadline.exceeded() => {
                    Err(status(RpcStatusCode::DEADLINE_EXCEEDED, "the deadline passed while queued; not run"))
                }
                Turn::Run => work(&this),
            };
            out.give(result);
        }));
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
        reply(&ctx, call, sink, frontend_info(&self.checker, &req.name));
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
        reply(&ctx, call, sink, backend_info(&self.checker, &req.name));
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
        self.backend_action(&ctx, call, sink, &req.name, |backend| Command::Pause { backend });
    }

    fn resume_backend(
        &mut self,
        ctx: RpcContext,
        req: pb::BackendActionRequest,
        sink: UnarySink<pb::BackendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        self.backend_action(&ctx, call, sink, &req.name, |backend| Command::Resume { backend });
    }

    fn enable_backend(
        &mut self,
        ctx: RpcContext,
        req: pb::BackendActionRequest,
        sink: UnarySink<pb::BackendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        self.backend_action(&ctx, call, sink, &req.name, |backend| Command::Enable { backend });
    }

    fn disable_backend(
        &mut self,
        ctx: RpcContext,
        req: pb::BackendActionRequest,
        sink: UnarySink<pb::BackendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        self.backend_action(&ctx, call, sink, &req.name, |backend| Command::Disable { backend });
    }

    fn set_frontend_pool_backend_weight(
        &mut self,
        ctx: RpcContext,
        req: pb::SetFrontendPoolBackendWeightRequest,
        sink: UnarySink<pb::FrontendInfo>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        self.set_weight(&ctx, call, sink, &req);
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
            Err(m) => return fail_stream(&ctx, call, sink, status(RpcStatusCode::INVALID_ARGUMENT, m)),
        };
        let Some(slot) = watch::Slot::take(&self.watch_streams, self.max_watch_streams) else {
            let peer = ctx.peer();
            warn!(
                "watch-refused subscriber={} open={} detail={}",
                Value(&peer),
                self.max_watch_streams,
                Value("the WatchEvents stream limit is reached (--max-watch-streams)")
            );
            let st = status(
                RpcStatusCode::RESOURCE_EXHAUSTED,
                format!(
                    "too many WatchEvents streams: {} are open, the limit (--max-watch-streams); \
                     close one or raise the limit",
                    self.max_watch_streams
                ),
            );
            return fail_stream(&ctx, call, sink, st);
        };
        watch::spawn(ctx.peer(), filter, self.checker.clone(), self.shutdown.clone(), sink, call, slot);
    }

    fn check_config(
        &mut self,
        ctx: RpcContext,
        _req: pb::CheckConfigRequest,
        sink: UnarySink<pb::CheckConfigResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        self.in_background(&ctx, call, sink, |this| Ok(this.config_check_response()));
    }

    fn reload_config(
        &mut self,
        ctx: RpcContext,
        _req: pb::ReloadConfigRequest,
        sink: UnarySink<pb::ReloadConfigResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        self.in_background(&ctx, call, sink, |this| this.reload_and_summarize());
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
        let vpp = match self.vpp() {
            Ok(v) => v,
            Err(e) => return reply(&ctx, call, sink, Err(e)),
        };
        let deadline = ctx.deadline();
        let out = answer_later(&ctx, call, sink);
        vpp.lb_state(
            Box::new(move || deadline.exceeded()),
            Box::new(move |r| out.give(r.map(|s| convert::vpp_lb_state(&s)).map_err(vpp_status))),
        );
    }

    fn sync_vpplb_state(
        &mut self,
        ctx: RpcContext,
        req: pb::SyncVPPLBStateRequest,
        sink: UnarySink<pb::SyncVPPLBStateResponse>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let vpp = match self.vpp() {
            Ok(v) => v,
            Err(e) => return reply(&ctx, call, sink, Err(e)),
        };
        let frontend = (!req.frontend.is_empty()).then_some(req.frontend.as_str());
        if let Some(name) = frontend {
            if !self.checker.snapshot().frontends.contains_key(name) {
                return reply(&ctx, call, sink, Err(not_found("frontend", name)));
            }
        }
        let deadline = ctx.deadline();
        let out = answer_later(&ctx, call, sink);
        vpp.sync(
            frontend,
            Box::new(move || deadline.exceeded()),
            Box::new(move |r| out.give(r.map(|c| convert::sync_summary(&c)).map_err(vpp_status))),
        );
    }

    fn get_vpplb_counters(
        &mut self,
        ctx: RpcContext,
        _req: pb::GetVPPLBCountersRequest,
        sink: UnarySink<pb::VPPLBCounters>,
    ) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let result = self
            .vpp()
            .and_then(|v| v.counters().map_err(vpp_status))
            .map(|c| convert::vpp_counters(&c, SystemTime::now()));
        reply(&ctx, call, sink, result);
    }
}
