//! The maglevd process: flags, logging, threads, signals.

use std::sync::Arc;

use log::{error, info, warn};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::checker::Checker;
use crate::checker::CheckerHandle;
use crate::config::LoadOptions;
use crate::flags::{self, Action, Options, USAGE};
use crate::grpc::{self, AfterReload, GrpcOptions, HealthStatus, VersionInfo, VppService};
use crate::health::BackendState;
use crate::http::{self, Limits, Routes};
use crate::logging::{self, Value};
use crate::metrics::Metrics;
use crate::notify::{self, Notifier};
use crate::reload::ConfigSource;
use crate::status::StatusSource;
use crate::version::{BUILD_DATE, COMMIT, VERSION};
use crate::vpp::warmup::Phase;
use crate::vpp::{Vpp, VppHandle, VppOptions};
use crate::watchdog::Watchdog;

/// Runs maglevd; returns the process exit status.
pub fn main() -> i32 {
    match flags::parse(std::env::args_os().skip(1), |k| std::env::var(k).ok()) {
        Err(e) => {
            eprintln!("maglevd: {e}\n\n{USAGE}");
            2
        }
        Ok(Action::Help) => {
            print!("{USAGE}");
            0
        }
        Ok(Action::Version) => {
            println!("maglevd {VERSION} commit {COMMIT} built {BUILD_DATE}");
            0
        }
        Ok(Action::Run(opts)) if opts.check => check(&opts),
        Ok(Action::Run(opts)) => run(*opts),
    }
}

fn source(opts: &Options) -> ConfigSource {
    ConfigSource { path: opts.config.clone(), opts: LoadOptions { vpp_enabled: opts.vpp_enabled() } }
}

/// `--check`: 0 valid, 1 parse error, 2 semantic error.
fn check(opts: &Options) -> i32 {
    match source(opts).load() {
        Ok(c) => {
            println!(
                "{}: ok ({} healthchecks, {} backends, {} frontends)",
                opts.config.display(),
                c.healthchecks.len(),
                c.backends.len(),
                c.frontends.len()
            );
            0
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

fn run(opts: Options) -> i32 {
    let started = std::time::SystemTime::now();
    logging::init(opts.log_level, logging::journal_from_env());
    info!("starting version={VERSION} commit={COMMIT} build-date={BUILD_DATE} pid={}", std::process::id());
    // Signals are registered before any thread starts so that none is missed.
    let mut signals = match Signals::new(handled_signals()) {
        Ok(s) => s,
        Err(e) => {
            error!("startup-failed error={}", Value(&format!("cannot install signal handlers: {e}")));
            return 1;
        }
    };
    let notifier = match Notifier::from_env() {
        Ok(n) => Arc::new(n),
        Err(e) => {
            error!("startup-failed error={}", Value(&e.to_string()));
            return 1;
        }
    };
    let source = source(&opts);
    let config = match source.load() {
        Ok(c) => c,
        Err(e) => {
            error!("config-invalid error={}", Value(&e.to_string()));
            return e.exit_code();
        }
    };
    info!(
        "config-loaded file={} healthchecks={} backends={} frontends={}",
        Value(&opts.config.display().to_string()),
        config.healthchecks.len(),
        config.backends.len(),
        config.frontends.len()
    );
    // The metrics observe the checker from its first probe.
    let metrics = Arc::new(Metrics::new());
    let checker = match Checker::start(config, metrics.clone()) {
        Ok(c) => c,
        Err(e) => {
            error!("startup-failed error={}", Value(&format!("cannot start the checker: {e}")));
            return 1;
        }
    };
    let handle = checker.handle();
    metrics.attach_checker(handle.clone());
    // gRPC health follows the VPP thread's readiness (warmup over, VPP
    // connected with the weight API); with VPP disabled, SERVING at once.
    let health = HealthStatus::new(!opts.vpp_enabled());
    let vpp_health = health.clone();
    let vpp = if opts.vpp_enabled() {
        let vopts = VppOptions::new(&opts.vpp_api_addr, &opts.vpp_stats_addr);
        match Vpp::start(
            vopts,
            handle.clone(),
            metrics.clone(),
            Box::new(move |ready| vpp_health.set_serving(ready)),
        ) {
            Ok(v) => {
                metrics.set_vpp_source(Arc::new(v.handle()));
                Some(v)
            }
            Err(e) => {
                error!("startup-failed error={}", Value(&format!("cannot start the VPP thread: {e}")));
                return 1;
            }
        }
    } else {
        info!("vpp-disabled detail={}", Value("--vpp-api-addr is empty"));
        None
    };
    let metrics_server = if opts.metrics_addr.is_empty() {
        info!("metrics-disabled detail={}", Value("--metrics-addr is empty"));
        None
    } else {
        let status = StatusSource { checker: handle.clone(), vpp: vpp.as_ref().map(|v| v.handle()), started };
        let routes = Routes { metrics: metrics.clone(), status: Some(Arc::new(status)) };
        match http::serve(&opts.metrics_addr, Arc::new(routes), Limits::default()) {
            Ok(s) => {
                info!("metrics-listen addr={}", Value(&s.local_addr().to_string()));
                Some(s)
            }
            Err(e) => {
                error!("startup-failed error={}", Value(&e.to_string()));
                return 1;
            }
        }
    };
    let after_reload: Option<AfterReload> = vpp.as_ref().map(|v| {
        let h = v.handle();
        Arc::new(move || h.reloaded()) as AfterReload
    });
    let grpc_server = match grpc::start(
        handle.clone(),
        GrpcOptions {
            addr: opts.grpc_addr.clone(),
            socket_group: opts.grpc_socket_group.clone(),
            insecure_remote: opts.grpc_insecure_remote,
            tls: opts.grpc_tls.clone(),
            reflection: opts.reflection,
            version: VersionInfo {
                version: VERSION.into(),
                commit: COMMIT.into(),
                build_date: BUILD_DATE.into(),
            },
            config: source.clone(),
            after_reload,
            vpp: vpp.as_ref().map(|v| Arc::new(v.handle()) as Arc<dyn VppService>),
            metrics: Some(metrics.clone()),
            health,
            max_watch_streams: opts.max_watch_streams,
        },
    ) {
        Ok(s) => s,
        Err(e) => {
            error!("startup-failed error={}", Value(&e.to_string()));
            return 1;
        }
    };
    // The config is loaded and every listener is up: systemd may start
    // what depends on maglevd, and `systemctl start` returns.
    let watchdog = match Watchdog::start(
        notifier.clone(),
        notify::watchdog_interval(),
        checker.liveness(),
        Box::new(status_text(handle.clone(), vpp.as_ref().map(Vpp::handle))),
    ) {
        Ok(w) => w,
        Err(e) => {
            error!("startup-failed error={}", Value(&format!("cannot start the watchdog thread: {e}")));
            return 1;
        }
    };
    if let Err(e) = notifier.send("READY=1") {
        warn!("notify-failed state=READY=1 error={}", Value(&e.to_string()));
    }
    info!("ready");
    let mut stop_signal = "none";
    for sig in signals.forever() {
        match sig {
            SIGHUP => {
                info!("config-reload-requested signal=SIGHUP");
                if source.reload(&handle).is_ok() {
                    if let Some(v) = &vpp {
                        v.handle().reloaded();
                    }
                }
            }
            SIGTERM => {
                stop_signal = "SIGTERM";
                break;
            }
            SIGINT => {
                stop_signal = "SIGINT";
                break;
            }
            #[cfg(debug_assertions)]
            signal_hook::consts::SIGUSR2 => {
                warn!("test-fault signal=SIGUSR2 fault=freeze-checker");
                handle.freeze_for_test();
            }
            _ => {}
        }
    }
    info!("stopping signal={stop_signal}");
    let _ = notifier.send("STOPPING=1");
    watchdog.stop();
    // The VPP state is left as it is: the dataplane keeps forwarding.
    if let Some(v) = vpp {
        v.stop();
    }
    grpc_server.stop();
    if let Some(s) = metrics_server {
        s.stop();
    }
    checker.stop();
    info!("stopped");
    0
}

/// SIGHUP reloads, SIGTERM and SIGINT stop. In debug builds (the tests'),
/// with `MAGLEVD_TEST_FAULTS` set, SIGUSR2 freezes the checker loop, so
/// that a test can watch the systemd watchdog notice; release builds have
/// no such hook.
fn handled_signals() -> Vec<i32> {
    let signals = [SIGHUP, SIGTERM, SIGINT];
    #[cfg(debug_assertions)]
    if std::env::var_os("MAGLEVD_TEST_FAULTS").is_some() {
        return [&signals[..], &[signal_hook::consts::SIGUSR2]].concat();
    }
    signals.to_vec()
}

/// systemd's one-line status: backends by state, then VPP (connection,
/// warmup).
fn status_text(checker: CheckerHandle, vpp: Option<VppHandle>) -> impl Fn() -> String + Send {
    move || {
        let snap = checker.snapshot();
        let up = snap.backends.values().filter(|b| b.state == BackendState::Up).count();
        let backends = format!("{} backends, {up} up", snap.backends.len());
        let vpp = match &vpp {
            None => "VPP disabled".to_string(),
            Some(v) => {
                let st = v.status();
                if !st.connected {
                    format!("VPP not connected: {}", st.reason)
                } else if st.warmup == Phase::Holding {
                    "VPP connected, warmup: holding all writes".to_string()
                } else if st.warmup == Phase::Releasing {
                    "VPP connected, warmup: releasing frontends as they become ready".to_string()
                } else if !st.writable {
                    format!("VPP connected, read-only: {}", st.reason)
                } else {
                    "VPP connected, warmup done".to_string()
                }
            }
        };
        format!("{backends}; {vpp}")
    }
}
