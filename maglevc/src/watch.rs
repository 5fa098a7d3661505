//! `watch events`: one compact JSON line per event until Ctrl-C, any key
//! (when stdin is a terminal), `num` events, or the end of the stream.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{never, Receiver};
use std::task::Poll;

use futures_util::future::{self, Either};
use futures_util::task::AtomicWaker;
use futures_util::StreamExt;
use grpcio::CallOption;
use maglev_proto::maglev as pb;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

use crate::client::{CallError, Client};
use crate::format;
use crate::tree::Parsed;

pub fn request(cmd: &Parsed) -> pb::WatchEventsRequest {
    pb::WatchEventsRequest {
        log: cmd.has("log"),
        log_level: cmd.get("level").unwrap_or("").to_string(),
        backend: cmd.has("backend"),
        frontend: cmd.has("frontend"),
        ..Default::default()
    }
}

pub fn run(client: &Client, cmd: &Parsed, interactive: bool, out: &mut dyn Write) -> Result<(), CallError> {
    let limit: Option<u64> = cmd.get("num").and_then(|n| n.parse().ok());
    let mut stream =
        client.api.watch_events_opt(&request(cmd), CallOption::default()).map_err(|e| client.err(e))?;
    let (tx, events) = crossbeam_channel::bounded::<Result<pb::Event, grpcio::Error>>(256);
    let stop = StopSignal::default();
    let stopper = stop.clone();
    thread::spawn(move || {
        futures_executor::block_on(async move {
            loop {
                let next = match future::select(stream.next(), stopper.wait()).await {
                    Either::Left((next, _)) => next,
                    // Dropping the stream cancels the call.
                    Either::Right(_) => return,
                };
                let Some(item) = next else { return };
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
        });
    });
    // However the watch ends, the call is cancelled at once.
    let _cancel = CancelOnDrop(stop);
    let keys = KeyWatch::start(interactive);
    if interactive {
        let _ = writeln!(out, "(press any key to stop)");
    }
    let mut seen = 0u64;
    loop {
        crossbeam_channel::select! {
            recv(events) -> item => match item {
                Ok(Ok(ev)) => {
                    let line = json_line(&ev);
                    let written = writeln!(out, "{line}").and_then(|_| out.flush());
                    if written.is_err() {
                        // The reader of our output went away (e.g. `| head`).
                        return Ok(());
                    }
                    seen += 1;
                    if limit.is_some_and(|n| seen >= n) {
                        return Ok(());
                    }
                }
                Ok(Err(e)) => return Err(client.err(e)),
                Err(_) => return Ok(()),
            },
            recv(keys.as_ref().map(|k| k.pressed.clone()).unwrap_or_else(never)) -> _ => return Ok(()),
        }
    }
}

/// Tells the stream thread to stop, which cancels the call.
#[derive(Clone, Default)]
struct StopSignal(Arc<(AtomicBool, AtomicWaker)>);

impl StopSignal {
    fn wait(&self) -> impl std::future::Future<Output = ()> + '_ {
        future::poll_fn(move |cx| {
            self.0 .1.register(cx.waker());
            if self.0 .0.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    fn trigger(&self) {
        self.0 .0.store(true, Ordering::Release);
        self.0 .1.wake();
    }
}

/// Triggers the stop signal when the watch returns, however it returns.
struct CancelOnDrop(StopSignal);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

/// Reads single key presses from a terminal in cbreak mode (no echo, no
/// line buffering, Ctrl-C as a key) and restores the terminal when dropped.
struct KeyWatch {
    pressed: Receiver<()>,
    stop: Arc<AtomicBool>,
    saved: Termios,
    thread: Option<thread::JoinHandle<()>>,
}

impl KeyWatch {
    fn start(_interactive: bool) -> Option<KeyWatch> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        raw.local_flags.remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        let (tx, pressed) = crossbeam_channel::bounded(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        // Polls with a timeout so that the thread ends with the watch and
        // never steals a key from the shell afterwards.
        let thread = thread::spawn(move || {
            let stdin = std::io::stdin();
            while !stop2.load(Ordering::Acquire) {
                let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
                match nix::poll::poll(&mut fds, PollTimeout::from(100u8)) {
                    Ok(n) if n > 0 => {
                        let mut b = [0u8; 16];
                        let _ = stdin.lock().read(&mut b);
                        let _ = tx.try_send(());
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        Some(KeyWatch { pressed, stop, saved, thread: Some(thread) })
    }
}

impl Drop for KeyWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
        // Give the terminal a moment to settle before the prompt returns.
        thread::sleep(Duration::from_millis(1));
    }
}

/// One event as compact JSON.
pub fn json_line(ev: &pb::Event) -> String {
    use pb::event::Event as E;
    let mut o = JsonObject::default();
    match &ev.event {
        Some(E::Backend(b)) => {
            o.str("type", "backend");
            o.str("time", &format::time(b.time_ns));
            o.str("backend", &b.backend);
            o.str("address", &b.address);
            o.str("from", &b.from);
            o.str("to", &b.to);
            o.str("code", &b.code);
            o.str("detail", &b.detail);
        }
        Some(E::Frontend(f)) => {
            o.str("type", "frontend");
            o.str("time", &format::time(f.time_ns));
            o.str("frontend", &f.frontend);
            o.str("from", &f.from);
            o.str("to", &f.to);
        }
        Some(E::Log(l)) => {
            o.str("type", "log");
            o.str("time", &format::time(l.time_ns));
            o.str("level", &l.level);
            o.str("event", &l.event);
            o.str("message", &l.message);
            let mut fields = JsonObject::default();
            for f in &l.fields {
                fields.str(&f.key, &f.value);
            }
            o.raw("fields", &fields.finish());
        }
        _ => o.str("type", "unknown"),
    }
    o.finish()
}

#[derive(Default)]
struct JsonObject {
    parts: Vec<String>,
}

impl JsonObject {
    fn str(&mut self, key: &str, value: &str) {
        self.parts.push(format!("{}:{}", json_string(key), json_string(value)));
    }

    fn raw(&mut self, key: &str, value: &str) {
        self.parts.push(format!("{}:{value}", json_string(key)));
    }

    fn finish(self) -> String {
        format!("{{{}}}", self.parts.join(","))
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_compact_json() {
        let ev = pb::Event {
            event: Some(pb::event::Event::Backend(pb::BackendEvent {
                backend: "b1".into(),
                address: "127.0.0.1".into(),
                from: "up".into(),
                to: "down".into(),
                code: "L4CON".into(),
                detail: "connection \"refused\"".into(),
                time_ns: 1_700_000_000_000_000_000,
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(
            json_line(&ev),
            r#"{"type":"backend","time":"2023-11-14T22:13:20.000Z","backend":"b1","address":"127.0.0.1","from":"up","to":"down","code":"L4CON","detail":"connection \"refused\""}"#
        );
        let log = pb::Event {
            event: Some(pb::event::Event::Log(pb::LogEvent {
                level: "info".into(),
                event: "ready".into(),
                message: "ready\tnow".into(),
                fields: vec![pb::LogField { key: "k".into(), value: "v".into(), ..Default::default() }],
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(
            json_line(&log),
            r#"{"type":"log","time":"-","level":"info","event":"ready","message":"ready\tnow","fields":{"k":"v"}}"#
        );
    }
}
