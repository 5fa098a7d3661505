//! The VPP thread's loop: connect and watch, push the global conf, sync on
//! events and timers, honour the warmup, refresh counters, answer requests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crossbeam_channel::{select, Receiver};
use log::{debug, error, info, warn};
use parking_lot::RwLock;
use vppapi::client::LbGlobalConf;
use vppapi::error::ApiError;
use vppapi::lb::VipKey;

use super::connection::{StatsConn, VppConn};
use super::counters::{self, RouteIndexes};
use super::desired::{desired_vips, frontend_ready, DesiredVip};
use super::model::{self, Model};
use super::plan::{plan, recreate_reason, ActualVip, Op};
use super::state;
use super::warmup::{Phase, Warmup};
use super::{
    AsState, LbState, Request, SyncRecord, SyncSummary, VipCounters, VipState, VppError, VppObserver,
    VppOptions, VppStatus,
};
use crate::checker::{CheckerHandle, Event, Subscription};
use crate::config::Config;
use crate::health::BackendState;
use crate::logging::Value;

/// Events queued for the VPP thread before it is cut off (then it
/// resubscribes and runs a full sync).
const EVENT_QUEUE: usize = 16_384;

/// How often the API socket is checked for EOF (cheap, non-blocking), so a
/// VPP restart is noticed within a second, not at the next control_ping.
const LIVENESS: std::time::Duration = std::time::Duration::from_secs(1);

pub(super) struct Worker {
    opts: VppOptions,
    checker: CheckerHandle,
    observer: Arc<dyn VppObserver>,
    status: Arc<RwLock<VppStatus>>,
    on_ready: Box<dyn Fn(bool) + Send>,
    /// The last value given to `on_ready`.
    ready: bool,
    conn: Option<VppConn>,
    /// Lives on its own: losing it degrades only the counters.
    stats: Option<StatsConn>,
    next_stats_connect: Instant,
    last_stats_failure: String,
    warmup: Warmup,
    last_phase: Phase,
    /// The lb_conf last pushed on this connection.
    pushed_conf: Option<LbGlobalConf>,
    routes: RouteIndexes,
    /// What VPP holds as far as this thread knows (the last full read plus
    /// every write accepted since); `None` when unknown (not read on this
    /// connection yet, or a write failed), so the next sync reads.
    model: Option<Model>,
    /// VIPs were added since the last read: their pool indexes (counters)
    /// are unknown until the next one.
    indexes_stale: bool,
    frontend_of: BTreeMap<VipKey, String>,
    events: Option<Subscription>,
    pending: BTreeSet<String>,
    /// ASes (frontend, address) an operator asked to flush: their next
    /// write carries is_flush (PRODUCT.md §7.5).
    flush_asked: BTreeSet<(String, IpAddr)>,
    next_connect: Instant,
    next_liveness: Instant,
    next_ping: Instant,
    next_counters: Instant,
    next_full_sync: Instant,
    last_failure: String,
    /// VIPs `show lb vips verbose` did not describe, already warned about.
    unparsed: BTreeSet<VipKey>,
}

impl Worker {
    pub(super) fn new(
        opts: VppOptions,
        checker: CheckerHandle,
        observer: Arc<dyn VppObserver>,
        status: Arc<RwLock<VppStatus>>,
        on_ready: Box<dyn Fn(bool) + Send>,
    ) -> Worker {
        let now = Instant::now();
        let lb = checker.snapshot().config.vpp.lb.clone();
        let warmup = Warmup::new(now, lb.startup_min_delay, lb.startup_max_delay);
        let last_phase = warmup.phase(now);
        Worker {
            opts,
            checker,
            observer,
            status,
            on_ready,
            ready: false,
            conn: None,
            stats: None,
            next_stats_connect: now,
            last_stats_failure: String::new(),
            warmup,
            last_phase,
            pushed_conf: None,
            routes: RouteIndexes::default(),
            model: None,
            indexes_stale: false,
            frontend_of: BTreeMap::new(),
            events: None,
            pending: BTreeSet::new(),
            flush_asked: BTreeSet::new(),
            next_connect: now,
            next_liveness: now,
            next_ping: now,
            next_counters: now,
            next_full_sync: now + lb.sync_interval,
            last_failure: String::new(),
            unparsed: BTreeSet::new(),
        }
    }

    pub(super) fn run(mut self, requests: Receiver<Request>) {
        self.subscribe();
        loop {
            self.tick();
            let timeout = self.next_deadline().saturating_duration_since(Instant::now());
            let never = crossbeam_channel::never();
            let events = self.events.as_ref().map(|s| &s.rx).unwrap_or(&never);
            select! {
                recv(requests) -> r => match r {
                    Ok(Request::Stop) | Err(_) => break,
                    Ok(req) => self.handle(req),
                },
                recv(events) -> ev => match ev {
                    Ok(ev) => self.on_event(ev),
                    Err(_) => self.resubscribe(),
                },
                default(timeout) => {}
            }
            // Coalesce bursts: everything already queued joins this sync.
            self.drain_events();
            if !self.pending.is_empty() {
                let names = std::mem::take(&mut self.pending);
                let _ = self.sync_frontends(&names, false);
            }
        }
        if let Some(c) = self.conn.take() {
            c.close();
        }
    }

    /// Handles every event already queued.
    fn drain_events(&mut self) {
        let mut drained = Vec::new();
        if let Some(sub) = &self.events {
            while let Ok(ev) = sub.rx.try_recv() {
                drained.push(ev);
            }
        }
        for ev in drained {
            self.on_event(ev);
        }
    }

    fn config(&self) -> Arc<Config> {
        self.checker.snapshot().config.clone()
    }

    fn subscribe(&mut self) {
        self.events = self.checker.subscribe(EVENT_QUEUE).ok();
    }

    fn resubscribe(&mut self) {
        let overflowed = self.events.as_ref().is_some_and(|s| s.overflowed());
        self.subscribe();
        if overflowed {
            warn!("vpp-events-overflow detail={}", Value("event queue full; running a full sync"));
            let _ = self.full_sync();
        }
    }

    /// Tells `on_ready` when [`VppStatus::ready`] changed.
    fn publish_ready(&mut self) {
        let ready = self.status.read().ready();
        if ready != self.ready {
            self.ready = ready;
            info!("vpp-ready ready={ready}");
            (self.on_ready)(ready);
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut d = if self.conn.is_some() {
            let d = self.next_ping.min(self.next_counters).min(self.next_full_sync).min(self.next_liveness);
            if self.stats.is_none() {
                d.min(self.next_stats_connect)
            } else {
                d
            }
        } else {
            self.next_connect
        };
        if let Some(w) = self.warmup.next_deadline(Instant::now()) {
            d = d.min(w);
        }
        d
    }

    // ----- timers -----

    fn tick(&mut self) {
        let now = Instant::now();
        self.warmup_tick(now);
        if self.conn.is_none() {
            if now >= self.next_connect {
                self.connect();
            }
            return;
        }
        if now >= self.next_liveness {
            self.next_liveness = now + LIVENESS;
            if self.conn.as_mut().is_some_and(|c| c.api.peer_closed()) {
                self.disconnect("VPP closed the API socket");
                return;
            }
        }
        if now >= self.next_ping {
            self.next_ping = now + self.opts.ping;
            let alive = self.conn.as_mut().map(|c| c.check_alive()).unwrap_or(Ok(()));
            if let Err(reason) = alive {
                self.disconnect(&reason.to_string());
                return;
            }
            let stall = self.opts.ping * 3;
            if let Some(Err(reason)) = self.stats.as_mut().map(|s| s.check_alive(stall)) {
                self.disconnect_stats(&reason.to_string());
            }
        }
        if self.stats.is_none() && now >= self.next_stats_connect {
            self.connect_stats();
        }
        if now >= self.next_full_sync {
            self.next_full_sync = now + self.config().vpp.lb.sync_interval;
            let _ = self.full_sync();
        }
        if now >= self.next_counters {
            self.next_counters = now + self.opts.counters;
            let _ = self.refresh_counters();
        }
    }

    fn warmup_tick(&mut self, now: Instant) {
        // A reload hold that reached startup-max-delay releases its frontend.
        self.pending.extend(self.warmup.expire_holds(now));
        let phase = self.warmup.phase(now);
        if phase == self.last_phase && (phase != Phase::Done || self.warmup.is_finished()) {
            return;
        }
        self.last_phase = phase;
        self.status.write().warmup = phase;
        match phase {
            Phase::Holding => {}
            Phase::Releasing => {
                info!(
                    "vpp-warmup-release detail={}",
                    Value("frontends sync as soon as all their backends are known")
                );
                self.pending.extend(self.config().frontends.keys().cloned());
            }
            Phase::Done => {
                if self.conn.is_some() {
                    // The final full sync releases every remaining frontend.
                    self.warmup.finish();
                    let _ = self.full_sync();
                } else {
                    self.warmup.finish();
                }
                info!("vpp-warmup-done");
                {
                    let mut s = self.status.write();
                    s.warmup_done = true;
                    s.warmup = Phase::Done;
                }
                self.publish_ready();
            }
        }
    }

    // ----- connection -----

    fn connect(&mut self) {
        match VppConn::connect(&self.opts, self.observer.clone()) {
            Ok(conn) => {
                info!(
                    "vpp-connect version={} pid={} build-date={}",
                    Value(&conn.info.version),
                    conn.info.pid,
                    Value(&conn.info.build_date)
                );
                if let Some(why) = &conn.not_writable {
                    error!("vpp-not-writable reason={}", Value(why));
                }
                {
                    let mut s = self.status.write();
                    s.connected = true;
                    s.reason = conn.not_writable.clone().unwrap_or_default();
                    s.info = Some(conn.info.clone());
                    s.writable = conn.not_writable.is_none();
                }
                self.last_failure.clear();
                self.conn = Some(conn);
                // A new connection may be a new VPP, with a new segment.
                self.stats = None;
                self.connect_stats();
                self.pushed_conf = None;
                self.routes.clear();
                let now = Instant::now();
                self.next_ping = now + self.opts.ping;
                self.next_counters = now;
                self.next_full_sync = now + self.config().vpp.lb.sync_interval;
                self.push_conf();
                let _ = self.full_sync();
                // Ready once VPP holds what maglevd wants, not before.
                self.publish_ready();
            }
            Err(e) => {
                let reason = e.to_string();
                if reason != self.last_failure {
                    warn!(
                        "vpp-connect-failed reason={} retry-in={}s",
                        Value(&reason),
                        self.opts.retry.as_secs()
                    );
                    self.last_failure = reason.clone();
                } else {
                    debug!("vpp-connect-failed reason={}", Value(&reason));
                }
                self.status.write().reason = reason;
                self.next_connect = Instant::now() + self.opts.retry;
            }
        }
    }

    fn disconnect(&mut self, reason: &str) {
        if let Some(c) = self.conn.take() {
            c.close();
        }
        warn!("vpp-disconnect reason={} retry-in={}s", Value(reason), self.opts.retry.as_secs());
        {
            let mut s = self.status.write();
            s.connected = false;
            s.reason = reason.to_string();
            s.counters = Arc::new(Vec::new());
            s.counters_at = None;
            s.previous_counters = Arc::new(Vec::new());
            s.previous_counters_at = None;
        }
        self.publish_ready();
        self.model = None;
        self.next_connect = Instant::now() + self.opts.retry;
    }

    /// Maps the stats segment; on failure, retries later on its own.
    fn connect_stats(&mut self) {
        match StatsConn::connect(&self.opts) {
            Ok(stats) => {
                let boottime =
                    stats.boot_time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                info!("vpp-stats-connect boottime={boottime}");
                {
                    let mut s = self.status.write();
                    s.stats_connected = true;
                    if let Some(info) = s.info.as_mut() {
                        info.boot_time = Some(stats.boot_time);
                    }
                }
                self.last_stats_failure.clear();
                self.stats = Some(stats);
                self.next_counters = Instant::now();
            }
            Err(e) => {
                let reason = e.to_string();
                if reason != self.last_stats_failure {
                    warn!(
                        "vpp-stats-connect-failed reason={} retry-in={}s detail={}",
                        Value(&reason),
                        self.opts.retry.as_secs(),
                        Value("counters are unavailable; programming VPP goes on")
                    );
                    self.last_stats_failure = reason;
                }
                self.next_stats_connect = Instant::now() + self.opts.retry;
            }
        }
    }

    /// Drops the stats mapping only: programming goes on without counters.
    fn disconnect_stats(&mut self, reason: &str) {
        self.stats = None;
        warn!(
            "vpp-stats-disconnect reason={} retry-in={}s detail={}",
            Value(reason),
            self.opts.retry.as_secs(),
            Value("counters are unavailable; programming VPP goes on")
        );
        self.last_stats_failure = reason.to_string();
        {
            let mut s = self.status.write();
            s.stats_connected = false;
            s.counters = Arc::new(Vec::new());
            s.counters_at = None;
            s.previous_counters = Arc::new(Vec::new());
            s.previous_counters_at = None;
            if let Some(info) = s.info.as_mut() {
                info.boot_time = None;
            }
        }
        self.next_stats_connect = Instant::now() + self.opts.retry;
    }

    /// Drops the connection on transport errors; other errors are the caller's.
    fn api_failed(&mut self, what: &str, e: &ApiError) -> VppError {
        let msg = format!("{what}: {e}");
        if matches!(e, ApiError::Disconnected { .. } | ApiError::Timeout { .. } | ApiError::Decode { .. }) {
            self.disconnect(&msg);
            VppError::Disconnected(msg)
        } else {
            warn!("vpp-api-failed call={} error={}", Value(what), Value(&e.to_string()));
            VppError::Api(msg)
        }
    }

    fn writable_conn(&mut self) -> Result<&mut VppConn, VppError> {
        let reason = self.status.read().reason.clone();
        match self.conn.as_mut() {
            None => Err(VppError::Disconnected(reason)),
            Some(c) => match &c.not_writable {
                Some(why) => Err(VppError::FailedPrecondition(why.clone())),
                None => Ok(c),
            },
        }
    }

    // ----- global conf -----

    fn wanted_conf(config: &Config) -> LbGlobalConf {
        let lb = &config.vpp.lb;
        LbGlobalConf {
            ip4_src_address: lb.ipv4_src_address.unwrap_or(Ipv4Addr::UNSPECIFIED),
            ip6_src_address: lb.ipv6_src_address.unwrap_or(Ipv6Addr::UNSPECIFIED),
            sticky_buckets_per_core: lb.sticky_buckets_per_core,
            flow_timeout: lb.flow_timeout.as_secs() as u32,
        }
    }

    /// Sends lb_conf unless VPP already has the wanted values; logs only a
    /// real change.
    fn push_conf(&mut self) {
        let want = Self::wanted_conf(&self.config());
        if self.pushed_conf == Some(want) {
            return;
        }
        let Ok(conn) = self.writable_conn() else { return };
        let current = conn.api.lb_conf_get().ok();
        if current == Some(want) {
            self.pushed_conf = Some(want);
            return;
        }
        match conn.api.lb_conf(&want) {
            Ok(()) => {
                info!(
                    "vpp-lb-conf-set ipv4-src={} ipv6-src={} sticky-buckets-per-core={} flow-timeout={}s",
                    want.ip4_src_address,
                    want.ip6_src_address,
                    want.sticky_buckets_per_core,
                    want.flow_timeout
                );
                self.pushed_conf = Some(want);
            }
            Err(e) => {
                let _ = self.api_failed("lb_conf", &e);
            }
        }
    }

    // ----- sync -----

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Backend(b) if b.from != b.to => {
                // Disable flushes (PRODUCT.md §6) even when the weight is
                // already 0 (a down backend without flush-on-down).
                let flush = b.to == BackendState::Disabled;
                let config = self.config();
                for fe in config.frontends.values() {
                    if fe.backend_names().any(|n| n == b.backend) {
                        self.pending.insert(fe.name.clone());
                        if flush {
                            self.flush_asked.insert((fe.name.clone(), b.address));
                        }
                    }
                }
            }
            Event::Frontend(f) if f.from != f.to => {
                self.pending.insert(f.frontend);
            }
            Event::Reload(r) => {
                debug!("vpp-reload-hold frontends={}", Value(&r.frontends.join(",")));
                self.warmup.hold_after_reload(r.frontends, Instant::now());
            }
            Event::Weight(w) => {
                if w.flush {
                    self.flush_asked.insert((w.frontend.clone(), w.address));
                }
                self.pending.insert(w.frontend);
            }
            _ => {}
        }
    }

    /// Sync of some frontends (never deletes other VIPs). Frontends the
    /// warmup still holds are skipped. Without `read`, it plans against
    /// the model and costs only the writes it makes (event-driven syncs);
    /// with it, it reads VPP first (full syncs, `sync vpp lb state`).
    fn sync_frontends(&mut self, names: &BTreeSet<String>, read: bool) -> Result<SyncSummary, VppError> {
        self.writable_conn()?;
        let snap = self.checker.snapshot();
        let now = Instant::now();
        let mut want: BTreeMap<VipKey, DesiredVip> = BTreeMap::new();
        for name in names {
            if !snap.frontends.contains_key(name) {
                continue; // removed by a reload: the full sync deletes its VIP
            }
            if !self.warmup.allows(name, frontend_ready(&snap, name), now) {
                debug!("vpp-lbsync-suppressed frontend={} reason=warmup", Value(name));
                continue;
            }
            want.extend(desired_vips(&snap, Some(name)));
        }
        if want.is_empty() {
            return Ok(SyncSummary::default());
        }
        self.run_sync("vip", want, false, &BTreeSet::new(), read)
    }

    /// A full sync (connect, reload, timer, operator). During the warmup it
    /// covers only released frontends and deletes nothing.
    fn full_sync(&mut self) -> Result<SyncSummary, VppError> {
        self.writable_conn()?;
        if !self.warmup.is_finished() {
            let names: BTreeSet<String> = self.config().frontends.keys().cloned().collect();
            return self.sync_frontends(&names, true);
        }
        let snap = self.checker.snapshot();
        let mut want = desired_vips(&snap, None);
        // VIPs of frontends a reload holds are left exactly as they are.
        let now = Instant::now();
        let mut held = BTreeSet::new();
        want.retain(|key, vip| {
            let hold = self.warmup.is_held_after_reload(&vip.frontend)
                && !self.warmup.allows(&vip.frontend, frontend_ready(&snap, &vip.frontend), now);
            if hold {
                debug!("vpp-lbsync-suppressed frontend={} reason=reload", Value(&vip.frontend));
                held.insert(*key);
            }
            !hold
        });
        self.run_sync("all", want, true, &held, true)
    }

    fn run_sync(
        &mut self,
        scope: &str,
        mut want: BTreeMap<VipKey, DesiredVip>,
        delete_unwanted: bool,
        leave_alone: &BTreeSet<VipKey>,
        read: bool,
    ) -> Result<SyncSummary, VppError> {
        let started = Instant::now();
        let flushing = self.mark_flush_asked(&mut want);
        let want = &want;
        if read || self.model.is_none() {
            self.read_model()?;
        }
        let have = self.model.as_ref().ok_or_else(|| VppError::Disconnected("no VPP state read".into()))?;
        for (key, w) in want {
            if let Some(reason) = have.get(key).and_then(|h| recreate_reason(w, h)) {
                info!(
                    "vpp-lbsync-vip-recreate frontend={} vip={} reason={}",
                    Value(&w.frontend),
                    Value(&key.to_string()),
                    Value(&reason)
                );
            }
        }
        let ops = if leave_alone.is_empty() {
            plan(want, have, delete_unwanted)
        } else {
            let have = have.iter().filter(|(k, _)| !leave_alone.contains(k)).map(|(k, v)| (*k, v.clone()));
            plan(want, &have.collect(), delete_unwanted)
        };
        let vip_changes = ops.iter().any(|o| matches!(o, Op::AddVip { .. } | Op::DelVip { .. }));
        let observer = self.observer.clone();
        self.writable_conn()?;
        let (Some(conn), Some(vpp_model)) = (self.conn.as_mut(), self.model.as_mut()) else {
            return Err(VppError::Disconnected("not connected".into()));
        };
        let result = super::sync::apply(&mut conn.api, &ops, scope, observer.as_ref(), |op| {
            model::applied(vpp_model, op)
        });
        if vip_changes {
            // A re-added route gets a new load-balance index, a new VIP a
            // pool index only a read tells.
            self.routes.clear();
            self.indexes_stale = true;
        }
        let summary = match result {
            Ok(s) => s,
            Err(e) => {
                // What VPP made of the writes after the failure is unknown.
                self.model = None;
                return Err(self.api_failed("lb sync", &e));
            }
        };
        for done in flushing {
            self.flush_asked.remove(&done);
        }
        self.record_frontends(want, delete_unwanted);
        let frontends: Vec<&str> = want.values().map(|v| v.frontend.as_str()).collect();
        self.status.write().last_sync = Some(SyncRecord {
            at: SystemTime::now(),
            full: scope == "all",
            frontends: if scope == "all" {
                Vec::new()
            } else {
                frontends.iter().map(|f| f.to_string()).collect()
            },
            summary: summary.clone(),
            duration: started.elapsed(),
        });
        info!(
            "vpp-lbsync scope={scope} frontends={} vip-added={} vip-removed={} as-added={} as-removed={} \
             as-weight={} duration_ms={}",
            if scope == "all" { "all".to_string() } else { frontends.join(",") },
            summary.vips_added,
            summary.vips_removed,
            summary.ases_added,
            summary.ases_removed,
            summary.weights_updated,
            started.elapsed().as_millis()
        );
        Ok(summary)
    }

    /// Warns once per VIP that `show lb vips verbose` did not describe
    /// (again if it recovers and breaks once more).
    fn warn_unparsed(&mut self, vips: &BTreeMap<VipKey, ActualVip>) {
        let missed = |v: &ActualVip| v.src_ip_sticky.is_none() || v.index.is_none();
        self.unparsed.retain(|k| vips.get(k).is_some_and(missed));
        for (key, v) in vips {
            if missed(v) && self.unparsed.insert(*key) {
                warn!(
                    "vpp-cli-unparsed vip={} detail={}",
                    Value(&key.to_string()),
                    Value(
                        "show lb vips verbose did not describe this VIP: its src-ip-sticky flag and index are \
                         unknown, so it is never recreated for them and has no counters"
                    )
                );
            }
        }
    }

    /// Marks the ASes of `want` an operator asked to flush; returns them, to
    /// forget once the sync wrote them. A request for an AS this sync does
    /// not cover waits for the sync that does (e.g. after the warmup).
    fn mark_flush_asked(&self, want: &mut BTreeMap<VipKey, DesiredVip>) -> Vec<(String, IpAddr)> {
        let mut marked = Vec::new();
        if self.flush_asked.is_empty() {
            return marked;
        }
        for vip in want.values_mut() {
            for (address, a) in vip.ases.iter_mut() {
                let asked = (vip.frontend.clone(), *address);
                if self.flush_asked.contains(&asked) {
                    a.flush_now = true;
                    marked.push(asked);
                }
            }
        }
        marked
    }

    /// Reads what VPP holds into the model (a full read: VIPs, ASes, the
    /// CLI's sticky flags and indexes).
    fn read_model(&mut self) -> Result<(), VppError> {
        let conn = self.writable_conn()?;
        match state::read(&mut conn.api, false) {
            Ok(actual) => {
                self.warn_unparsed(&actual.vips);
                self.model = Some(actual.vips);
                self.indexes_stale = false;
                Ok(())
            }
            Err(e) => {
                self.model = None;
                Err(self.api_failed("read lb state", &e))
            }
        }
    }

    /// Records which frontend owns each VIP (for counters); a full sync
    /// replaces the map.
    fn record_frontends(&mut self, want: &BTreeMap<VipKey, DesiredVip>, full: bool) {
        if full {
            self.frontend_of = want.iter().map(|(k, v)| (*k, v.frontend.clone())).collect();
        } else {
            for (k, v) in want {
                self.frontend_of.insert(*k, v.frontend.clone());
            }
        }
    }

    fn refresh_counters(&mut self) -> Result<Arc<Vec<VipCounters>>, VppError> {
        let reason = self.status.read().reason.clone();
        let Some(conn) = self.conn.as_mut() else { return Err(VppError::Disconnected(reason)) };
        let Some(stats) = self.stats.as_mut() else {
            return Err(VppError::Disconnected(format!(
                "the stats segment is not mapped: {}",
                self.last_stats_failure
            )));
        };
        if self.model.is_none() || self.indexes_stale {
            if let Ok(actual) = state::read(&mut conn.api, false) {
                self.model = Some(actual.vips);
                self.indexes_stale = false;
            }
        }
        let empty = Model::new();
        if self.frontend_of.is_empty() {
            let snap = self.checker.snapshot();
            self.frontend_of = desired_vips(&snap, None).into_iter().map(|(k, v)| (k, v.frontend)).collect();
        }
        match counters::read(
            &mut conn.api,
            &mut stats.client,
            &mut self.routes,
            self.model.as_ref().unwrap_or(&empty),
            &self.frontend_of,
        ) {
            Ok(rows) => {
                let rows = Arc::new(rows);
                let mut s = self.status.write();
                s.previous_counters = std::mem::replace(&mut s.counters, rows.clone());
                s.previous_counters_at = s.counters_at.replace(SystemTime::now());
                Ok(rows)
            }
            Err(e) => {
                let reason = e.to_string();
                self.disconnect_stats(&reason);
                Err(VppError::Disconnected(reason))
            }
        }
    }

    // ----- requests -----

    fn handle(&mut self, req: Request) {
        if req.is_expired() {
            debug!("vpp-request-expired detail={}", Value("the caller stopped waiting; not run"));
            req.refuse(VppError::Expired);
            return;
        }
        match req {
            Request::LbState(reply) => reply.send(self.lb_state()),
            Request::Sync(frontend, reply) => {
                let r = match frontend {
                    None => self.full_sync(),
                    Some(name) => self.operator_sync(name),
                };
                reply.send(r);
            }
            Request::RefreshCounters(reply) => reply.send(self.refresh_counters()),
            Request::Reloaded => {
                // The reload's events (which frontends to hold) were queued
                // before this request: apply them before syncing.
                self.drain_events();
                if self.conn.is_some() {
                    self.push_conf();
                    let _ = self.full_sync();
                }
                self.next_full_sync = Instant::now() + self.config().vpp.lb.sync_interval;
            }
            Request::Stop => {}
        }
    }

    /// `sync vpp lb state FRONTEND`.
    fn operator_sync(&mut self, name: String) -> Result<SyncSummary, VppError> {
        if !self.config().frontends.contains_key(&name) {
            Err(VppError::NotFound(format!("frontend {name:?}")))
        } else if self.conn.is_some()
            && self.writable_conn().is_ok()
            && !self.warmup.allows(&name, frontend_ready(&self.checker.snapshot(), &name), Instant::now())
        {
            Err(VppError::FailedPrecondition(format!(
                "frontend {name:?} is held by the startup warmup (its backends are not all known yet)"
            )))
        } else {
            self.sync_frontends(&BTreeSet::from([name]), true)
        }
    }

    fn lb_state(&mut self) -> Result<LbState, VppError> {
        let reason = self.status.read().reason.clone();
        let Some(conn) = self.conn.as_mut() else { return Err(VppError::Disconnected(reason)) };
        let with_conf = conn.not_writable.is_none();
        let actual = match state::read(&mut conn.api, with_conf) {
            Ok(a) => a,
            Err(e) => return Err(self.api_failed("read lb state", &e)),
        };
        let snap = self.checker.snapshot();
        let owners: BTreeMap<VipKey, String> =
            desired_vips(&snap, None).into_iter().map(|(k, v)| (k, v.frontend)).collect();
        let vips = actual
            .vips
            .values()
            .map(|v| VipState {
                key: v.key,
                frontend: owners.get(&v.key).cloned(),
                encap: v.encap,
                src_ip_sticky: v.src_ip_sticky,
                index: v.index,
                flow_table_length: actual.flow_table_length.get(&v.key).copied().flatten(),
                ases: v
                    .ases
                    .iter()
                    .map(|(a, s)| AsState {
                        address: *a,
                        weight: s.weight,
                        num_buckets: s.num_buckets,
                        in_use: s.in_use,
                    })
                    .collect(),
            })
            .collect();
        Ok(LbState { conf: actual.conf, vips })
    }
}
