//! `--request-log FILE`: one JSON object per line for every API message
//! received after the handshake, written and flushed line by line so a
//! test can follow the file while vppsim runs:
//!
//! `{"seq":1,"t_ms":12,"msg":"lb_as_set_weight","client":2147483649,"context":7,"retval":0,"vip":"192.0.2.1/32",...}`
//!
//! `retval` is absent for messages without one (dumps, dropped messages);
//! the remaining keys are the decoded request fields.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

/// A decoded request field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(i64),
    Bool(bool),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
macro_rules! num_from {
    ($($t:ty),*) => {$(impl From<$t> for Value { fn from(n: $t) -> Self { Value::Num(i64::from(n)) } })*};
}
num_from!(u8, u16, u32, i32, i64);

/// One logged request.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub msg: String,
    pub client: u32,
    pub context: u32,
    pub retval: Option<i32>,
    pub fields: Vec<(&'static str, Value)>,
}

pub struct RequestLog {
    file: Mutex<File>,
    seq: AtomicU64,
    start: Instant,
}

impl RequestLog {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(RequestLog {
            file: Mutex::new(File::create(path)?),
            seq: AtomicU64::new(0),
            start: Instant::now(),
        })
    }

    /// Appends one line; a failing write is reported once per call in the
    /// log and otherwise ignored (the simulator keeps serving).
    pub fn record(&self, entry: &Entry) {
        let mut file = self.file.lock();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let line = format_line(seq, self.start.elapsed().as_millis() as u64, entry);
        if let Err(e) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            log::warn!("request log: cannot write: {e}");
        }
    }
}

fn format_line(seq: u64, t_ms: u64, entry: &Entry) -> String {
    let mut out = String::with_capacity(160);
    let _ = write!(out, "{{\"seq\":{seq},\"t_ms\":{t_ms},\"msg\":");
    push_json_string(&mut out, &entry.msg);
    let _ = write!(out, ",\"client\":{},\"context\":{}", entry.client, entry.context);
    if let Some(rv) = entry.retval {
        let _ = write!(out, ",\"retval\":{rv}");
    }
    for (key, value) in &entry.fields {
        out.push(',');
        push_json_string(&mut out, key);
        out.push(':');
        match value {
            Value::Str(s) => push_json_string(&mut out, s),
            Value::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
    out.push_str("}\n");
    out
}

/// A JSON string literal (RFC 8259 escaping).
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format_and_escaping() {
        let e = Entry {
            msg: "cli_inband".into(),
            client: 0x8000_0001,
            context: 7,
            retval: Some(0),
            fields: vec![
                ("cmd", "say \"hi\"\\\n\u{1}".into()),
                ("weight", 0u8.into()),
                ("flush", true.into()),
            ],
        };
        assert_eq!(
            format_line(3, 12, &e),
            "{\"seq\":3,\"t_ms\":12,\"msg\":\"cli_inband\",\"client\":2147483649,\"context\":7,\"retval\":0,\
             \"cmd\":\"say \\\"hi\\\"\\\\\\n\\u0001\",\"weight\":0,\"flush\":true}\n"
        );
        let no_rv = Entry { msg: "lb_vip_dump".into(), client: 1, context: 2, retval: None, fields: vec![] };
        assert_eq!(
            format_line(1, 0, &no_rv),
            "{\"seq\":1,\"t_ms\":0,\"msg\":\"lb_vip_dump\",\"client\":1,\"context\":2}\n"
        );
    }

    #[test]
    fn lines_are_flushed_as_written() {
        let dir = std::env::temp_dir().join(format!("vppsim-reqlog-{}", std::process::id()));
        let log = RequestLog::create(&dir).unwrap();
        log.record(&Entry { msg: "a".into(), client: 1, context: 1, retval: Some(0), fields: vec![] });
        log.record(&Entry { msg: "b".into(), client: 1, context: 2, retval: Some(-6), fields: vec![] });
        let text = std::fs::read_to_string(&dir).unwrap();
        let _ = std::fs::remove_file(&dir);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].starts_with("{\"seq\":2,"));
        assert!(lines[1].ends_with("\"retval\":-6}"));
    }
}
