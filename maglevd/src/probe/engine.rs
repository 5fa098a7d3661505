//! Timer wheel + fixed worker pool.
//!
//! `schedule` puts a job into the wheel (or, when it is already due, the
//! workers' queue) under the engine's one lock, so callers (the checker
//! core) never wait for another thread. An idle worker sleeps until the
//! next occupied tick and runs the due job itself; the wheel thread steps
//! in only when every worker is busy past a tick, and answers the
//! watchdog's pings (`queue`). Cancelled jobs are dropped unrun. Each job
//! runs once: the engine never repeats or
//! "catches up" a late probe; rescheduling is the caller's business, and
//! the lateness (`started - due`) is reported in every outcome.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::pool::Pool;
use super::queue::Queue;
use super::{ProbeJob, ProbeOutcome};

/// Asks the wheel thread whether it is turning, without owning the engine.
#[derive(Clone)]
pub struct WheelPinger(Arc<Queue>);

impl WheelPinger {
    /// The receiver gets `()` once the wheel thread has handled the ping;
    /// it is disconnected when the engine is stopped.
    pub fn ping(&self) -> Receiver<()> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.0.ping(tx);
        rx
    }
}

/// Owns the wheel thread and the worker threads. Dropping it (or
/// `shutdown`) stops them.
pub struct Engine {
    queue: Arc<Queue>,
    wheel: Option<JoinHandle<()>>,
    pool: Option<Pool>,
}

impl Engine {
    /// Starts the wheel thread and `workers` worker threads (at least one).
    /// Finished probes are sent to `results`.
    pub fn start(workers: usize, results: Sender<ProbeOutcome>) -> io::Result<Engine> {
        Engine::start_with(Queue::new(), workers, results)
    }

    fn start_with(queue: Queue, workers: usize, results: Sender<ProbeOutcome>) -> io::Result<Engine> {
        let queue = Arc::new(queue);
        let pool = Pool::start(workers.max(1), queue.clone(), results)?;
        let wheel_queue = queue.clone();
        let wheel =
            std::thread::Builder::new().name("probe-wheel".into()).spawn(move || wheel_queue.run_wheel());
        let wheel = match wheel {
            Ok(handle) => handle,
            Err(e) => {
                queue.stop();
                pool.join();
                return Err(e);
            }
        };
        Ok(Engine { queue, wheel: Some(wheel), pool: Some(pool) })
    }

    /// Runs `job` at `at` (or as soon as a worker is free after that). Never
    /// blocks. A job due in the past runs at once.
    pub fn schedule(&self, at: Instant, job: ProbeJob) {
        self.queue.schedule(at, job);
    }

    /// A handle that asks the wheel thread for a sign of life.
    pub fn pinger(&self) -> WheelPinger {
        WheelPinger(self.queue.clone())
    }

    /// Jobs scheduled but not yet started or dropped (waiting in the wheel
    /// or for a worker); for metrics.
    pub fn pending(&self) -> usize {
        self.queue.pending()
    }

    /// Stops the wheel and the workers; running probes finish (bounded by
    /// their timeout), jobs not yet started are dropped without a result.
    pub fn shutdown(self) {}

    fn stop(&mut self) {
        self.queue.stop();
        if let Some(wheel) = self.wheel.take() {
            let _ = wheel.join();
        }
        if let Some(pool) = self.pool.take() {
            pool.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddr, TcpListener};
    use std::time::Duration;

    use super::*;
    use crate::config::{HttpCheck, HttpMethod, ProbeSpec, StatusMatcher};
    use crate::probe::test_backend::{Reply, TestBackend};
    use crate::probe::tests::check;
    use crate::probe::{CancelToken, ProbeTarget, ResultCode};

    const WAIT: Duration = Duration::from_secs(10);

    fn job(name: &str, spec: ProbeSpec, addr: SocketAddr, timeout: Duration, generation: u64) -> ProbeJob {
        let mut hc = check(spec);
        hc.timeout = timeout;
        let target = ProbeTarget::new(name, addr.ip(), Arc::new(hc));
        // The worst case, as for a target's first probe.
        ProbeJob { target: Arc::new(target), generation, token: CancelToken::new(), expected: timeout }
    }

    fn tcp_job(name: &str, addr: SocketAddr) -> ProbeJob {
        job(name, ProbeSpec::Tcp { port: addr.port() }, addr, Duration::from_secs(1), 0)
    }

    /// An http probe of a peer that completes the TCP handshake and never
    /// answers: it holds a worker for exactly its timeout.
    fn hanging_job(name: &str, addr: SocketAddr, timeout: Duration) -> ProbeJob {
        let http = HttpCheck {
            method: HttpMethod::Get,
            path: "/".into(),
            host: None,
            headers: vec![],
            expect_status: StatusMatcher { ranges: vec![(200, 399)] },
            expect_body: None,
        };
        job(name, ProbeSpec::Http { port: addr.port(), http }, addr, timeout, 0)
    }

    fn assert_no_connection(listener: &TcpListener, what: &str) {
        listener.set_nonblocking(true).expect("nonblocking");
        match listener.accept() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => panic!("{what}: a cancelled job connected: {other:?}"),
        }
    }

    #[test]
    fn engine_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
    }

    #[test]
    fn outcome_carries_backend_generation_and_timing() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(2, tx).expect("start engine");
        let due = Instant::now() + Duration::from_millis(30);
        let mut j = tcp_job("nginx0", listener.local_addr().expect("addr"));
        j.generation = 42;
        engine.schedule(due, j);
        let out = rx.recv_timeout(WAIT).expect("an outcome");
        assert_eq!((out.backend(), out.generation, out.result.code), ("nginx0", 42, ResultCode::L4Ok));
        assert_eq!(out.due, due);
        assert!(out.started >= due, "started {:?} before it was due", due - out.started);
        assert_eq!(engine.pending(), 0);
        engine.shutdown();
    }

    #[test]
    fn cancelled_jobs_never_run() {
        let victim = TcpListener::bind("127.0.0.1:0").expect("bind");
        let sentinel = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(2, tx).expect("start engine");
        let now = Instant::now();

        // Cancelled before it was scheduled, and cancelled while in the wheel.
        let before = tcp_job("before", victim.local_addr().expect("addr"));
        before.token.cancel();
        engine.schedule(now + Duration::from_millis(10), before);
        let in_wheel = tcp_job("in-wheel", victim.local_addr().expect("addr"));
        engine.schedule(now + Duration::from_millis(20), in_wheel.clone());
        in_wheel.token.cancel();
        // Due after both: once it has run, both had their chance.
        engine.schedule(
            now + Duration::from_millis(60),
            tcp_job("sentinel", sentinel.local_addr().expect("addr")),
        );

        let out = rx.recv_timeout(WAIT).expect("the sentinel's outcome");
        assert_eq!(out.backend(), "sentinel");
        assert!(rx.try_recv().is_err(), "a cancelled job produced an outcome");
        assert_no_connection(&victim, "cancelled jobs");
        assert_eq!(engine.pending(), 0);
    }

    #[test]
    fn job_cancelled_while_waiting_for_a_worker_never_runs() {
        let slow = TestBackend::start("127.0.0.1:0", None, Reply::Stall(Vec::new()));
        let victim = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(1, tx).expect("start engine");
        let now = Instant::now();
        engine.schedule(now, hanging_job("busy", slow.addr(), Duration::from_millis(300)));
        let queued = tcp_job("queued", victim.local_addr().expect("addr"));
        engine.schedule(now, queued.clone());
        // The only worker is now inside the hanging probe.
        slow.next_seen();
        queued.token.cancel();
        let out = rx.recv_timeout(WAIT).expect("the hanging probe's outcome");
        assert_eq!((out.backend(), out.result.code), ("busy", ResultCode::L7Tout));
        engine.shutdown();
        assert!(rx.try_recv().is_err(), "the cancelled job ran");
        assert_no_connection(&victim, "job cancelled in the queue");
    }

    #[test]
    fn hanging_probes_do_not_delay_others_beyond_pool_capacity() {
        const WORKERS: usize = 4;
        const HANGING: usize = 3;
        const QUICK: usize = 50;
        let timeout = Duration::from_millis(500);
        // Accepted by the kernel, never by anyone else: requests go unanswered.
        let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
        let up = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(WORKERS, tx).expect("start engine");

        let t0 = Instant::now() + Duration::from_millis(20);
        for i in 0..HANGING {
            engine
                .schedule(t0, hanging_job(&format!("hang{i}"), silent.local_addr().expect("addr"), timeout));
        }
        for i in 0..QUICK {
            // Spread over 100 ms so that the wheel, not only the queue, is exercised.
            let due = t0 + Duration::from_millis(2 * i as u64);
            engine.schedule(due, tcp_job(&format!("quick{i}"), up.local_addr().expect("addr")));
        }

        let outcomes: Vec<ProbeOutcome> = (0..HANGING + QUICK)
            .map(|i| rx.recv_timeout(WAIT).unwrap_or_else(|_| panic!("outcome {i} missing")))
            .collect();
        let allowed = timeout * HANGING as u32 / WORKERS as u32 + Duration::from_millis(150);
        for out in &outcomes {
            assert!(out.started >= out.due, "{} started before it was due", out.backend());
            if out.backend().starts_with("hang") {
                assert_eq!(out.result.code, ResultCode::L7Tout, "{out:?}");
                assert!(out.result.duration >= timeout - Duration::from_millis(10), "{out:?}");
                assert!(out.result.duration < timeout + Duration::from_millis(300), "{out:?}");
            } else {
                assert_eq!(out.result.code, ResultCode::L4Ok, "{out:?}");
                let lateness = out.started - out.due;
                assert!(
                    lateness <= allowed,
                    "{} started {lateness:?} late (allowed {allowed:?})",
                    out.backend()
                );
            }
        }
        let mut names: Vec<&str> = outcomes.iter().map(|o| o.backend()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HANGING + QUICK, "a job ran twice or not at all");
    }

    #[test]
    fn every_job_runs_exactly_once_and_never_early() {
        // A closed port: every probe is a quick L4CON, so thousands run in
        // well under a second on any machine.
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        const JOBS: u64 = 3000;
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(8, tx).expect("start engine");
        let mut hc = check(ProbeSpec::Tcp { port: closed.port() });
        hc.timeout = Duration::from_secs(1);
        let target = Arc::new(ProbeTarget::new("closed", closed.ip(), Arc::new(hc)));
        let t0 = Instant::now();
        let mut rng = fastrand::Rng::with_seed(7);
        for generation in 0..JOBS {
            // Some already due, most spread over 300 ms, a few in the same tick.
            let at = t0 + Duration::from_micros(rng.u64(0..300_000));
            // Half of them claim to be slow: their workers hand the wheel on.
            let expected = if rng.bool() { Duration::ZERO } else { Duration::from_secs(1) };
            let job = ProbeJob { target: target.clone(), generation, token: CancelToken::new(), expected };
            engine.schedule(at, job);
        }
        let mut seen = vec![0u32; JOBS as usize];
        for i in 0..JOBS {
            let out = rx.recv_timeout(WAIT).unwrap_or_else(|_| panic!("only {i} of {JOBS} outcomes arrived"));
            assert!(out.started >= out.due, "job {} started before it was due", out.generation);
            seen[out.generation as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n == 1), "jobs ran twice: {:?}", {
            seen.iter().enumerate().filter(|(_, &n)| n != 1).map(|(g, _)| g).collect::<Vec<_>>()
        });
        assert_eq!(engine.pending(), 0);
        engine.shutdown();
        assert!(rx.try_recv().is_err(), "an outcome after the last job");
    }

    #[test]
    fn an_earlier_job_wakes_a_sleeping_wheel() {
        let up = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(1, tx).expect("start engine");
        let now = Instant::now();
        // The wheel goes to sleep for an hour...
        engine.schedule(now + Duration::from_secs(3600), tcp_job("late", up.local_addr().expect("addr")));
        // ...and must wake for a job due in 20 ms.
        engine.schedule(now + Duration::from_millis(20), tcp_job("soon", up.local_addr().expect("addr")));
        let out = rx.recv_timeout(WAIT).expect("the earlier job's outcome");
        assert_eq!(out.backend(), "soon");
        assert_eq!(engine.pending(), 1, "the hour-later job waits in the wheel");
    }

    #[test]
    fn the_wheel_answers_pings_until_it_stops() {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(1, tx).expect("start engine");
        let pinger = engine.pinger();
        assert_eq!(pinger.ping().recv_timeout(WAIT), Ok(()), "a turning wheel answers");
        engine.shutdown();
        assert!(pinger.ping().recv_timeout(WAIT).is_err(), "a stopped wheel never answers");
    }

    #[test]
    fn shutdown_is_prompt_and_drops_waiting_jobs() {
        let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
        let slow = TestBackend::start("127.0.0.1:0", None, Reply::Stall(Vec::new()));
        let victim = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(1, tx).expect("start engine");
        let now = Instant::now();
        let timeout = Duration::from_millis(400);
        engine.schedule(now, hanging_job("running", slow.addr(), timeout));
        for i in 0..10 {
            engine.schedule(now, tcp_job(&format!("queued{i}"), victim.local_addr().expect("addr")));
        }
        engine.schedule(now + Duration::from_secs(3600), tcp_job("far", silent.local_addr().expect("addr")));
        slow.next_seen();

        let stopping = Instant::now();
        engine.shutdown();
        let took = stopping.elapsed();
        assert!(took < timeout + Duration::from_millis(500), "shutdown took {took:?}");
        let finished: Vec<String> = rx.try_iter().map(|o| o.backend().to_string()).collect();
        assert_eq!(finished, vec!["running".to_string()], "only the running probe may finish");
        assert_no_connection(&victim, "jobs queued at shutdown");
    }

    #[test]
    fn jobs_due_together_start_together() {
        // Each holds its worker for the whole timeout: if the worker that
        // expired the tick did not wake the others, they would run one
        // after the other.
        const JOBS: usize = 4;
        let slow = TestBackend::start("127.0.0.1:0", None, Reply::Stall(Vec::new()));
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(JOBS, tx).expect("start engine");
        let timeout = Duration::from_millis(400);
        let due = Instant::now() + Duration::from_millis(30);
        for i in 0..JOBS {
            engine.schedule(due, hanging_job(&format!("hang{i}"), slow.addr(), timeout));
        }
        for i in 0..JOBS {
            let out = rx.recv_timeout(WAIT).unwrap_or_else(|_| panic!("outcome {i} missing"));
            let late = out.started - out.due;
            assert!(
                late < timeout / 2,
                "{} started {late:?} late: it waited for another probe",
                out.backend()
            );
        }
    }

    /// Two workers whose wheel thread steps in only `slack` after a due
    /// tick, and a quick job (known to take no time) for `addr`.
    fn with_slack(slack: Duration, addr: SocketAddr) -> (Engine, Receiver<ProbeOutcome>, ProbeJob) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start_with(Queue::with_slack(slack), 2, tx).expect("start engine");
        let mut quick = tcp_job("quick", addr);
        quick.expected = Duration::ZERO;
        (engine, rx, quick)
    }

    /// The quick job's outcome came first, and well before the wheel
    /// thread could have started it.
    fn assert_led_on_time(rx: &Receiver<ProbeOutcome>, slack: Duration) {
        let out = rx.recv_timeout(WAIT).expect("an outcome");
        assert_eq!(out.backend(), "quick", "the quick job waited for the slow one");
        let late = out.started - out.due;
        assert!(late < slack / 2, "started {late:?} late: the backstop, not a new leader, ran it");
    }

    #[test]
    fn a_slow_probe_hands_the_wheel_to_an_idle_worker() {
        // The job due while the first worker runs a probe known to outlast
        // the backstop's slack must start because that worker woke the idle
        // one to lead, not because the wheel thread stepped in.
        let slow = TestBackend::start("127.0.0.1:0", None, Reply::Stall(Vec::new()));
        let up = TcpListener::bind("127.0.0.1:0").expect("bind");
        let slack = Duration::from_millis(600);
        let (engine, rx, quick) = with_slack(slack, up.local_addr().expect("addr"));
        let t0 = Instant::now();
        // Both in the wheel before either is due: the first is known slow.
        engine.schedule(
            t0 + Duration::from_millis(50),
            hanging_job("slow", slow.addr(), Duration::from_secs(2)),
        );
        engine.schedule(t0 + Duration::from_millis(100), quick);
        assert_led_on_time(&rx, slack);
    }

    #[test]
    fn a_job_scheduled_while_nobody_leads_wakes_an_idle_worker() {
        // The slow probe is taken from an otherwise empty wheel, so its
        // worker hands nothing on; the job scheduled while it runs must
        // wake the idle worker, not wait for the wheel thread.
        let slow = TestBackend::start("127.0.0.1:0", None, Reply::Stall(Vec::new()));
        let up = TcpListener::bind("127.0.0.1:0").expect("bind");
        let slack = Duration::from_millis(600);
        let (engine, rx, quick) = with_slack(slack, up.local_addr().expect("addr"));
        let slow_job = hanging_job("slow", slow.addr(), Duration::from_secs(2));
        engine.schedule(Instant::now() + Duration::from_millis(20), slow_job);
        slow.next_seen();
        engine.schedule(Instant::now() + Duration::from_millis(20), quick);
        assert_led_on_time(&rx, slack);
    }

    #[test]
    fn a_job_due_while_the_only_idle_worker_sleeps_untold_still_starts() {
        // Worker A expires the wheel and runs a probe that hangs for a
        // second; worker B sleeps waiting for ready jobs and nobody tells it
        // about the wheel. The wheel thread must hand the next job to B.
        let slow = TestBackend::start("127.0.0.1:0", None, Reply::Stall(Vec::new()));
        let up = TcpListener::bind("127.0.0.1:0").expect("bind");
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = Engine::start(2, tx).expect("start engine");
        let timeout = Duration::from_secs(1);
        engine
            .schedule(Instant::now() + Duration::from_millis(20), hanging_job("hang", slow.addr(), timeout));
        slow.next_seen();
        let due = Instant::now() + Duration::from_millis(20);
        engine.schedule(due, tcp_job("next", up.local_addr().expect("addr")));
        let out = rx.recv_timeout(WAIT).expect("an outcome");
        assert_eq!(out.backend(), "next", "the second job waited for the hanging one");
        let late = out.started - out.due;
        assert!(late < timeout / 2, "started {late:?} late");
    }
}
