//! The checker thread's state and its handling of each input.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use log::{debug, info, warn};
use parking_lot::RwLock;

use super::events::{BackendEvent, Event, EventBus, FrontendEvent, ReloadEvent, WeightEvent};
use super::observer::CheckerObserver;
use super::snapshot::{BackendSnapshot, BackendTable, FrontendSnapshot, Snapshot, Transition};
use super::{Command, CommandError, ReloadSummary};
use crate::config::{Backend, Config, Frontend};
use crate::health::interval::{base_interval, initial_delay, jittered};
use crate::health::{evaluate_frontend, BackendState, FrontendEval, FrontendState, HealthCounter};
use crate::logging::Value;
use crate::probe::{CancelToken, Engine, ProbeJob, ProbeOutcome, ProbeResult, ProbeTarget};

/// Runtime state of one backend.
struct BackendRt {
    cfg: Backend,
    state: BackendState,
    /// The operator's (or config's) enabled choice.
    enabled: bool,
    /// `None` for static backends.
    counter: Option<HealthCounter>,
    last_result: Option<ProbeResult>,
    last_result_at: Option<SystemTime>,
    /// When the last probe result arrived: a reload that changes the
    /// healthcheck schedules the next probe from it.
    last_done: Option<Instant>,
    /// Newest first; shared with published snapshots until it changes.
    history: Arc<Vec<Transition>>,
    /// Bumped whenever probing restarts; outcomes of older generations are dropped.
    generation: u64,
    token: CancelToken,
    target: Option<Arc<ProbeTarget>>,
}

/// Key of an operator weight override: (frontend, pool, backend).
type WeightKey = (String, String, String);

pub(super) struct Core {
    config: Arc<Config>,
    backends: BTreeMap<String, BackendRt>,
    /// Kept current by `recompute_frontends`, which runs after every change
    /// of a backend state, a weight or the config; `publish` reuses it.
    frontend_evals: BTreeMap<String, FrontendEval>,
    weights: HashMap<WeightKey, u8>,
    engine: Engine,
    rng: fastrand::Rng,
    seq: u64,
    next_generation: u64,
    published: Arc<RwLock<Arc<Snapshot>>>,
    bus: Arc<EventBus>,
    observer: Arc<dyn CheckerObserver>,
    /// Something changed since the last publication.
    dirty: bool,
    /// The backends of the next snapshot; published snapshots share its
    /// unchanged parts (see `table.rs`).
    table: BackendTable,
    /// Positions in `table` of backends changed since the last publication.
    touched: Vec<usize>,
    /// The set of backends or anything about them may have changed
    /// (reload, operator command): rebuild `table` whole.
    rebuild_backends: bool,
    frontends: Arc<BTreeMap<String, Arc<FrontendSnapshot>>>,
    frontends_dirty: bool,
    /// Events wait here until the snapshot that reflects them is published,
    /// so a subscriber reacting to an event never reads an older snapshot.
    outbox: Vec<Event>,
}

impl Core {
    pub(super) fn new(
        config: Arc<Config>,
        engine: Engine,
        published: Arc<RwLock<Arc<Snapshot>>>,
        bus: Arc<EventBus>,
        observer: Arc<dyn CheckerObserver>,
    ) -> Core {
        let mut core = Core {
            config: config.clone(),
            backends: BTreeMap::new(),
            frontend_evals: BTreeMap::new(),
            weights: HashMap::new(),
            engine,
            rng: fastrand::Rng::new(),
            seq: 0,
            next_generation: 1,
            published,
            bus,
            observer,
            dirty: true,
            table: BackendTable::default(),
            touched: Vec::new(),
            rebuild_backends: true,
            frontends: Arc::default(),
            frontends_dirty: true,
            outbox: Vec::new(),
        };
        for backend in config.backends.values() {
            core.add_backend(backend.clone());
        }
        core.recompute_frontends();
        core.publish();
        core
    }

    pub(super) fn shutdown(self) {
        for rt in self.backends.values() {
            rt.token.cancel();
        }
        self.engine.shutdown();
    }

    // ----- inputs -----

    pub(super) fn on_outcome(&mut self, outcome: ProbeOutcome) {
        let now = Instant::now();
        let Some(rt) = self.backends.get_mut(outcome.backend()) else { return };
        if outcome.generation != rt.generation || !rt.state.is_active() {
            return; // paused, disabled, removed or restarted since
        }
        let Some(target) = rt.target.clone() else { return };
        self.observer.on_probe(&outcome, target.check.probe.probe_type());
        let ProbeOutcome { result, due, started, .. } = outcome;
        let expected = result.duration;
        debug!(
            "probe-result backend={} code={} duration_ms={} late_ms={} detail={}",
            Value(&target.backend),
            result.code,
            result.duration.as_millis(),
            started.saturating_duration_since(due).as_millis(),
            Value(&result.detail)
        );
        let counter =
            rt.counter.get_or_insert_with(|| HealthCounter::unknown(target.check.rise, target.check.fall));
        counter.record(result.is_pass());
        let new_state = if counter.is_up() { BackendState::Up } else { BackendState::Down };
        let counter = *counter;
        rt.last_result_at = Some(SystemTime::now());
        rt.last_done = Some(now);
        let changed = new_state != rt.state;
        // The detail is copied only for a transition, not for every result.
        let cause = changed.then(|| (result.code, result.detail.clone()));
        rt.last_result = Some(result);
        let (generation, token) = (rt.generation, rt.token.clone());
        let name = &target.backend;
        self.touch(name);
        if let Some((code, detail)) = cause {
            self.transition(name, new_state, code.as_str(), &detail);
            self.recompute_frontends_of(name);
        }
        // Schedule from completion, so a late probe never causes a burst.
        let base = base_interval(&target.check, new_state, &counter);
        let delay = jittered(base, target.check.jitter_percent, &mut self.rng);
        // A transition changes neither the generation nor the token.
        self.engine.schedule(now + delay, ProbeJob { target, generation, token, expected });
    }

    pub(super) fn on_command(&mut self, cmd: Command) -> Result<(), CommandError> {
        // Commands are rare: republish everything rather than track what
        // each one touched.
        self.rebuild_backends = true;
        self.frontends_dirty = true;
        match cmd {
            Command::Pause { backend } => self.pause(&backend),
            Command::Resume { backend } => self.resume(&backend),
            Command::Enable { backend } => self.enable(&backend),
            Command::Disable { backend } => self.disable(&backend),
            Command::SetWeight { frontend, pool, backend, weight, flush } => {
                self.set_weight(frontend, pool, backend, weight, flush)
            }
        }
    }

    pub(super) fn on_subscribe(&mut self, capacity: usize) -> super::Subscription {
        // Deliver what is pending first, so the new subscriber's initial
        // state and its live stream neither overlap nor leave a gap.
        self.publish();
        let at = SystemTime::now();
        let mut initial = Vec::with_capacity(self.backends.len() + self.frontend_evals.len());
        for (name, rt) in &self.backends {
            let last = rt.history.first();
            initial.push(Event::Backend(BackendEvent {
                backend: name.clone(),
                address: rt.cfg.address,
                from: rt.state,
                to: rt.state,
                code: last.map(|t| t.code.clone()).unwrap_or_default(),
                detail: last.map(|t| t.detail.clone()).unwrap_or_default(),
                at: last.map(|t| t.at).unwrap_or(at),
            }));
        }
        for (name, eval) in &self.frontend_evals {
            initial.push(Event::Frontend(FrontendEvent {
                frontend: name.clone(),
                from: eval.state,
                to: eval.state,
                at,
            }));
        }
        self.bus.subscribe(capacity, initial)
    }

    pub(super) fn on_reload(&mut self, new: Config) -> ReloadSummary {
        let new = Arc::new(new);
        let mut summary = ReloadSummary::default();
        self.rebuild_backends = true;
        self.frontends_dirty = true;
        if new.healthchecker.workers != self.config.healthchecker.workers {
            warn!(
                "config-reload-ignored key=maglev.healthchecker.workers detail={}",
                Value("the probe pool size changes only at restart")
            );
        }
        // Tell the VPP thread what to hold before the transitions arrive.
        let becoming_unknown = |name: &String| match self.backends.get(name) {
            None => true,
            Some(rt) => {
                let b = &new.backends[name];
                b.address != rt.cfg.address || (b.enabled && !rt.cfg.enabled)
            }
        };
        let fresh: Vec<&String> = new.backends.keys().filter(|n| becoming_unknown(n)).collect();
        let held: Vec<String> = new
            .frontends
            .values()
            .filter(|fe| fe.backend_names().any(|b| fresh.iter().any(|n| *n == b)))
            .map(|fe| fe.name.clone())
            .collect();
        if !held.is_empty() {
            self.emit(Event::Reload(ReloadEvent { frontends: held, at: SystemTime::now() }));
        }
        let old_names: Vec<String> = self.backends.keys().cloned().collect();
        for name in old_names {
            match new.backends.get(&name) {
                None => {
                    self.remove_backend(&name);
                    summary.removed.push(name);
                }
                Some(b) if b.address != self.backends[&name].cfg.address => {
                    self.restart_backend(b.clone());
                    summary.restarted.push(name);
                }
                Some(b) if *b != self.backends[&name].cfg => {
                    self.reconfigure_backend(b.clone());
                    summary.reconfigured.push(name);
                }
                Some(_) => summary.unchanged.push(name),
            }
        }
        for (name, b) in &new.backends {
            if !self.backends.contains_key(name) {
                self.add_backend(b.clone());
                summary.added.push(name.clone());
            }
        }
        // Runtime weights survive unless the reload changed that entry.
        let old = std::mem::replace(&mut self.config, new.clone());
        self.weights.retain(|(fe, pool, be), _| {
            let configured = |c: &Config| {
                c.frontends
                    .get(fe)
                    .and_then(|f| f.pools.iter().find(|p| &p.name == pool))
                    .and_then(|p| p.backends.iter().find(|pb| &pb.backend == be).map(|pb| pb.weight))
            };
            configured(&new).is_some()
                && configured(&new) == configured(&old)
                && !summary.restarted.contains(be)
                && new.backends.get(be).map(|b| b.enabled) == old.backends.get(be).map(|b| b.enabled)
        });
        self.frontend_evals.retain(|name, _| new.frontends.contains_key(name));
        self.dirty = true;
        self.recompute_frontends();
        summary
    }

    // ----- operator actions -----

    fn backend_mut(&mut self, name: &str) -> Result<&mut BackendRt, CommandError> {
        self.backends.get_mut(name).ok_or_else(|| CommandError::NotFound(format!("backend {name:?}")))
    }

    fn pause(&mut self, name: &str) -> Result<(), CommandError> {
        let rt = self.backend_mut(name)?;
        match rt.state {
            BackendState::Disabled => {
                return Err(CommandError::FailedPrecondition(format!(
                    "backend {name:?} is disabled: enable it instead of pausing"
                )))
            }
            BackendState::Paused => return Ok(()),
            _ => {}
        }
        rt.token.cancel();
        rt.generation = 0;
        info!("backend-pause backend={}", Value(name));
        self.transition(name, BackendState::Paused, "pause", "operator");
        self.recompute_frontends_of(name);
        Ok(())
    }

    fn resume(&mut self, name: &str) -> Result<(), CommandError> {
        let rt = self.backend_mut(name)?;
        match rt.state {
            BackendState::Disabled => {
                return Err(CommandError::FailedPrecondition(format!(
                    "backend {name:?} is disabled: enable it instead of resuming"
                )))
            }
            BackendState::Paused => {}
            _ => return Ok(()),
        }
        info!("backend-resume backend={}", Value(name));
        self.start_probing(name, "resume", true);
        self.recompute_frontends_of(name);
        Ok(())
    }

    fn disable(&mut self, name: &str) -> Result<(), CommandError> {
        let rt = self.backend_mut(name)?;
        rt.enabled = false;
        if rt.state == BackendState::Disabled {
            return Ok(());
        }
        rt.token.cancel();
        rt.generation = 0;
        info!("backend-disable backend={}", Value(name));
        self.transition(name, BackendState::Disabled, "disable", "operator");
        self.recompute_frontends_of(name);
        Ok(())
    }

    fn enable(&mut self, name: &str) -> Result<(), CommandError> {
        let rt = self.backend_mut(name)?;
        rt.enabled = true;
        if rt.state != BackendState::Disabled {
            return Ok(());
        }
        info!("backend-enable backend={}", Value(name));
        self.start_probing(name, "enable", true);
        self.recompute_frontends_of(name);
        Ok(())
    }

    fn set_weight(
        &mut self,
        frontend: String,
        pool: String,
        backend: String,
        weight: u8,
        flush: bool,
    ) -> Result<(), CommandError> {
        if weight > 100 {
            return Err(CommandError::InvalidArgument(format!("weight {weight} is out of range 0..100")));
        }
        let fe = self
            .config
            .frontends
            .get(&frontend)
            .ok_or_else(|| CommandError::NotFound(format!("frontend {frontend:?}")))?;
        let p = fe
            .pools
            .iter()
            .find(|p| p.name == pool)
            .ok_or_else(|| CommandError::NotFound(format!("pool {pool:?} in frontend {frontend:?}")))?;
        if !p.backends.iter().any(|pb| pb.backend == backend) {
            return Err(CommandError::NotFound(format!(
                "backend {backend:?} in pool {pool:?} of frontend {frontend:?}"
            )));
        }
        let address = self
            .backends
            .get(&backend)
            .map(|b| b.cfg.address)
            .ok_or_else(|| CommandError::NotFound(format!("backend {backend:?}")))?;
        info!(
            "frontend-weight-set frontend={} pool={} backend={} weight={weight} flush={flush}",
            Value(&frontend),
            Value(&pool),
            Value(&backend)
        );
        self.weights.insert((frontend.clone(), pool.clone(), backend.clone()), weight);
        self.dirty = true;
        self.recompute_frontends();
        // Not a transition, but the VPP thread must sync this frontend now
        // (and flush if asked), not at its next periodic sync.
        self.emit(Event::Weight(WeightEvent {
            frontend,
            pool,
            backend,
            address,
            weight,
            flush,
            at: SystemTime::now(),
        }));
        Ok(())
    }

    // ----- backend life cycle -----

    fn add_backend(&mut self, cfg: Backend) {
        let name = cfg.name.clone();
        let enabled = cfg.enabled;
        self.backends.insert(
            name.clone(),
            BackendRt {
                cfg,
                state: BackendState::Unknown,
                enabled,
                counter: None,
                last_result: None,
                last_result_at: None,
                last_done: None,
                history: Arc::default(),
                generation: 0,
                token: CancelToken::new(),
                target: None,
            },
        );
        if enabled {
            self.start_probing(&name, "start", false);
        } else {
            self.transition(&name, BackendState::Disabled, "disable", "disabled in config");
        }
        self.dirty = true;
    }

    /// A reload changed the backend's healthcheck or enabled flag but not
    /// its address (PRODUCT.md §5.7): state, counter (clamped into the new
    /// range) and history carry over, and the new healthcheck applies from
    /// the next probe. A changed `enabled` applies the config's choice.
    fn reconfigure_backend(&mut self, cfg: Backend) {
        let name = cfg.name.clone();
        let Some(rt) = self.backends.get_mut(&name) else { return };
        let enabled_changed = cfg.enabled != rt.cfg.enabled;
        let check_changed = cfg.healthcheck != rt.cfg.healthcheck;
        rt.cfg = cfg;
        self.dirty = true;
        if enabled_changed {
            rt.enabled = rt.cfg.enabled;
            if rt.enabled && rt.state == BackendState::Disabled {
                self.start_probing(&name, "reload", false);
                return;
            }
            if !rt.enabled && rt.state != BackendState::Disabled {
                rt.token.cancel();
                rt.generation = 0;
                self.transition(&name, BackendState::Disabled, "reload", "disabled in config");
                return;
            }
        }
        if check_changed {
            self.apply_new_healthcheck(&name);
        }
    }

    /// Swaps in the backend's new healthcheck without touching its state.
    fn apply_new_healthcheck(&mut self, name: &str) {
        let now = Instant::now();
        let Some(rt) = self.backends.get_mut(name) else { return };
        let active = rt.state.is_active();
        let Some(check) = rt.cfg.healthcheck.clone() else {
            // Now static: no more probes, and up like any static backend.
            rt.token.cancel();
            rt.generation = 0;
            rt.counter = None;
            rt.target = None;
            if active {
                let result = ProbeResult::static_pass();
                rt.last_result = Some(result.clone());
                rt.last_result_at = Some(SystemTime::now());
                self.transition(name, BackendState::Up, result.code.as_str(), &result.detail);
            }
            return;
        };
        let counter = match (rt.state, rt.counter) {
            (BackendState::Unknown, _) => HealthCounter::unknown(check.rise, check.fall),
            (state, Some(old)) => old.reconfigured(check.rise, check.fall, state == BackendState::Up),
            // Was static: up at full health.
            (_, None) => HealthCounter::with_value(check.rise, check.fall, u32::MAX),
        };
        rt.counter = Some(counter);
        rt.target = Some(Arc::new(ProbeTarget::new(name, rt.cfg.address, check.clone())));
        if !active {
            return; // paused or disabled: resume and enable start probing
        }
        // The probe in flight (if any) used the old healthcheck: drop it,
        // and probe next where the new interval puts it after the last
        // result, or at a random point of the new interval if that is
        // already past, so that many backends sharing the changed
        // healthcheck never probe in one burst.
        let generation = self.next_generation;
        self.next_generation += 1;
        rt.token.cancel();
        rt.token = CancelToken::new();
        rt.generation = generation;
        let base = base_interval(&check, rt.state, &counter);
        let at = rt
            .last_done
            .map(|t| t + jittered(base, check.jitter_percent, &mut self.rng))
            .filter(|at| *at > now)
            .unwrap_or_else(|| now + initial_delay(base, &mut self.rng));
        self.schedule(name, at);
    }

    /// A reload changed the backend's address: it is another server now
    /// and starts `unknown`.
    fn restart_backend(&mut self, cfg: Backend) {
        let name = cfg.name.clone();
        let Some(rt) = self.backends.get_mut(&name) else { return };
        rt.token.cancel();
        rt.generation = 0;
        rt.enabled = cfg.enabled;
        rt.cfg = cfg;
        rt.last_result = None;
        rt.last_result_at = None;
        if rt.enabled {
            self.start_probing(&name, "reload", false);
        } else if rt.state != BackendState::Disabled {
            self.transition(&name, BackendState::Disabled, "reload", "disabled in config");
        }
        self.dirty = true;
    }

    fn remove_backend(&mut self, name: &str) {
        if let Some(rt) = self.backends.get_mut(name) {
            rt.token.cancel();
            rt.generation = 0;
        }
        self.transition(name, BackendState::Removed, "reload", "removed from config");
        self.backends.remove(name);
        self.dirty = true;
    }

    /// Enters `unknown` and (re)starts probing: a static backend passes at
    /// once; a checked one probes now (`immediate`) or after a random
    /// fraction of its interval (start, reload: no burst).
    fn start_probing(&mut self, name: &str, cause: &str, immediate: bool) {
        let generation = self.next_generation;
        self.next_generation += 1;
        let Some(rt) = self.backends.get_mut(name) else { return };
        rt.token.cancel();
        rt.token = CancelToken::new();
        rt.generation = generation;
        let check = rt.cfg.healthcheck.clone();
        rt.counter = check.as_ref().map(|c| HealthCounter::unknown(c.rise, c.fall));
        rt.target = check.as_ref().map(|c| Arc::new(ProbeTarget::new(name, rt.cfg.address, c.clone())));
        if rt.state != BackendState::Unknown {
            self.transition(name, BackendState::Unknown, cause, "probing restarted");
        }
        match check {
            None => {
                let result = ProbeResult::static_pass();
                if let Some(rt) = self.backends.get_mut(name) {
                    rt.last_result = Some(result.clone());
                    rt.last_result_at = Some(SystemTime::now());
                }
                self.transition(name, BackendState::Up, result.code.as_str(), &result.detail);
            }
            Some(c) => {
                let delay = if immediate {
                    std::time::Duration::ZERO
                } else {
                    initial_delay(c.interval, &mut self.rng)
                };
                self.schedule(name, Instant::now() + delay);
            }
        }
        self.dirty = true;
    }

    fn schedule(&mut self, name: &str, at: Instant) {
        let Some(rt) = self.backends.get(name) else { return };
        let Some(target) = rt.target.clone() else { return };
        // Nothing is known of this probe's duration yet: assume the worst.
        let expected = target.check.timeout;
        self.engine
            .schedule(at, ProbeJob { target, generation: rt.generation, token: rt.token.clone(), expected });
    }

    /// Records a state change, logs it and tells subscribers.
    fn transition(&mut self, name: &str, to: BackendState, code: &str, detail: &str) {
        let history_len = self.config.healthchecker.transition_history.max(1);
        let Some(rt) = self.backends.get_mut(name) else { return };
        let from = rt.state;
        if from == to {
            return;
        }
        let at = SystemTime::now();
        rt.state = to;
        // Copies the history only when a snapshot still shares it: once per
        // transition, never per probe.
        let history = Arc::make_mut(&mut rt.history);
        history.truncate(history_len - 1);
        history.insert(0, Transition { at, from, to, code: code.to_string(), detail: detail.to_string() });
        let line = format!(
            "backend-transition backend={} from={from} to={to} code={} detail={}",
            Value(name),
            Value(code),
            Value(detail)
        );
        if to == BackendState::Down {
            warn!("{line}");
        } else {
            info!("{line}");
        }
        let ev = BackendEvent {
            backend: name.to_string(),
            address: rt.cfg.address,
            from,
            to,
            code: code.to_string(),
            detail: detail.to_string(),
            at,
        };
        self.observer.on_transition(&ev);
        self.emit(Event::Backend(ev));
        self.touch(name);
    }

    /// Marks backend `name` for republication.
    fn touch(&mut self, name: &str) {
        match self.table.position(name) {
            Some(pos) => self.touched.push(pos),
            // Not published yet: only a reload adds backends, and it
            // rebuilds the table anyway.
            None => self.rebuild_backends = true,
        }
        self.dirty = true;
    }

    fn emit(&mut self, ev: Event) {
        self.outbox.push(ev);
        self.dirty = true;
    }

    fn flush_events(&mut self) {
        for ev in std::mem::take(&mut self.outbox) {
            let dropped = self.bus.publish(&ev);
            if dropped > 0 {
                warn!(
                    "watch-overflow subscribers={dropped} detail={}",
                    Value("event queue full; stream ended")
                );
            }
        }
    }

    // ----- frontends and snapshot -----

    fn state_of(&self, backend: &str) -> BackendState {
        self.backends.get(backend).map(|b| b.state).unwrap_or(BackendState::Removed)
    }

    fn weight_of(&self, fe: &Frontend, pool_index: usize, backend: &str) -> u8 {
        let Some(pool) = fe.pools.get(pool_index) else { return 0 };
        let key = (fe.name.clone(), pool.name.clone(), backend.to_string());
        if let Some(w) = self.weights.get(&key) {
            return *w;
        }
        pool.backends.iter().find(|pb| pb.backend == backend).map(|pb| pb.weight).unwrap_or(0)
    }

    /// Re-evaluates every frontend and emits frontend transitions.
    fn recompute_frontends(&mut self) {
        self.recompute_frontends_where(|_| true);
    }

    /// Only the frontends that reference `backend`: one backend's change
    /// cannot move the others, and re-evaluating all of them made every
    /// transition cost as much as the whole config.
    fn recompute_frontends_of(&mut self, backend: &str) {
        self.recompute_frontends_where(|fe| fe.backend_names().any(|n| n == backend));
    }

    fn recompute_frontends_where(&mut self, wanted: impl Fn(&Frontend) -> bool) {
        let config = self.config.clone();
        for fe in config.frontends.values().filter(|fe| wanted(fe)) {
            let eval = evaluate_frontend(fe, |b| self.state_of(b), |i, b| self.weight_of(fe, i, b));
            let old = self.frontend_evals.get(&fe.name).map(|e| e.state).unwrap_or(FrontendState::Unknown);
            let new = eval.state;
            self.frontend_evals.insert(fe.name.clone(), eval);
            self.frontends_dirty = true;
            if new == old {
                continue;
            }
            let line = format!("frontend-transition frontend={} from={old} to={new}", Value(&fe.name));
            if new == FrontendState::Down {
                warn!("{line}");
            } else {
                info!("{line}");
            }
            self.emit(Event::Frontend(FrontendEvent {
                frontend: fe.name.clone(),
                from: old,
                to: new,
                at: SystemTime::now(),
            }));
        }
        self.dirty = true;
    }

    /// Publishes a new snapshot if anything changed since the last one. It
    /// costs what changed: the backends touched since the last one, and the
    /// frontends only when one of them changed.
    pub(super) fn publish(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.seq += 1;
        if std::mem::take(&mut self.rebuild_backends) {
            self.touched.clear();
            self.table = BackendTable::new(
                self.backends.iter().map(|(name, rt)| Arc::new(rt.snapshot(name))).collect(),
            );
        } else {
            // Taken and put back to keep its allocation.
            let mut touched = std::mem::take(&mut self.touched);
            touched.sort_unstable();
            touched.dedup();
            for &pos in &touched {
                let Some(name) = self.table.name_at(pos) else { continue };
                let Some(rt) = self.backends.get(name) else { continue };
                let snap = Arc::new(rt.snapshot(name));
                self.table.set(pos, snap);
            }
            touched.clear();
            self.touched = touched;
        }
        if std::mem::take(&mut self.frontends_dirty) {
            // A frontend whose evaluation did not change is shared with the
            // previous snapshot.
            let prev = self.frontends.clone();
            self.frontends = Arc::new(
                self.config
                    .frontends
                    .values()
                    .filter_map(|fe| {
                        let eval = self.frontend_evals.get(&fe.name)?;
                        let kept = prev.get(&fe.name).filter(|p| p.eval == *eval && p.config == *fe);
                        let snap = kept.cloned().unwrap_or_else(|| {
                            Arc::new(FrontendSnapshot {
                                config: fe.clone(),
                                state: eval.state,
                                eval: eval.clone(),
                            })
                        });
                        Some((fe.name.clone(), snap))
                    })
                    .collect(),
            );
        }
        let snap = Snapshot {
            seq: self.seq,
            config: self.config.clone(),
            backends: self.table.clone(),
            frontends: self.frontends.clone(),
        };
        *self.published.write() = Arc::new(snap);
        self.flush_events();
    }
}

impl BackendRt {
    fn snapshot(&self, name: &str) -> BackendSnapshot {
        BackendSnapshot {
            name: name.to_string(),
            address: self.cfg.address,
            state: self.state,
            enabled: self.enabled,
            healthcheck: self.cfg.healthcheck.as_ref().map(|c| c.name.clone()),
            counter: self.counter,
            last_result: self.last_result.clone(),
            last_result_at: self.last_result_at,
            history: self.history.clone(),
        }
    }
}
