//! Writing the Prometheus text format (0.0.4) straight into one buffer, for
//! the families with a series per backend: at a thousand backends they are
//! tens of thousands of lines, and building them as protobuf messages
//! first (what the `prometheus` crate's encoder takes) cost most of a
//! scrape. Label sets are rendered once and reused (`labels`).

use std::fmt::Write as _;
use std::io;

/// A buffer handed to the sink once it holds this much: a scrape then
/// needs this much memory, whatever the number of backends (10,000 of them
/// are 20 MB of text, which a whole-body buffer held twice, and which the
/// allocator kept afterwards).
pub(super) const CHUNK: usize = 64 * 1024;

/// The exposition being written: into a buffer handed to `sink` whenever
/// it holds `CHUNK` bytes.
pub(super) struct Text<'a> {
    out: String,
    sink: &'a mut dyn io::Write,
    /// The first write error; later output is dropped.
    failed: Option<io::Error>,
}

impl<'a> Text<'a> {
    /// `finish` sends what is left.
    pub fn new(sink: &'a mut dyn io::Write) -> Text<'a> {
        Text { out: String::with_capacity(CHUNK + 1024), sink, failed: None }
    }

    fn spill(&mut self, min: usize) {
        if self.out.len() < min {
            return;
        }
        if self.failed.is_none() {
            if let Err(e) = self.sink.write_all(self.out.as_bytes()) {
                self.failed = Some(e);
            }
        }
        self.out.clear();
    }

    /// Sends what is buffered and reports the first write error.
    pub fn finish(mut self) -> io::Result<()> {
        self.spill(1);
        match self.failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The `# HELP` and `# TYPE` lines that open a family.
    pub fn family(&mut self, name: &str, help: &str, kind: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_help(&mut self.out, help);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind);
        self.out.push('\n');
    }

    /// One sample: `name{labels,extra} value`. `labels` is rendered by
    /// [`labels`] (may be empty); `extra` are more `key="value"` pairs whose
    /// values need no escaping (a state name, a result code, a bucket bound).
    pub fn sample(&mut self, name: &str, labels: &str, extra: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() || !extra.is_empty() {
            self.out.push('{');
            self.out.push_str(labels);
            let mut first = labels.is_empty();
            for (k, v) in extra {
                if !first {
                    self.out.push(',');
                }
                first = false;
                self.out.push_str(k);
                self.out.push_str("=\"");
                self.out.push_str(v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
        self.spill(CHUNK);
    }
}

/// `k1="v1",k2="v2"` with the values escaped.
pub(super) fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        escape_label(&mut s, v);
        s.push('"');
    }
    s
}

fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A value as the format spells it: whole numbers without a fraction,
/// `+Inf`, `-Inf`, `NaN`.
pub(super) fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_labels_and_values_are_spelled_as_the_format_wants() {
        let mut sink = Vec::new();
        let mut t = Text::new(&mut sink);
        t.family("m", "Help with \\ and\nnewline.", "gauge");
        let l = labels(&[("backend", "a\"b\\c\nd"), ("type", "http")]);
        t.sample("m", &l, &[("le", "+Inf")], 3.0);
        t.sample("m", "", &[], 0.25);
        t.sample("m", "", &[("state", "up"), ("x", "y")], f64::INFINITY);
        t.sample("m", "", &[], f64::NAN);
        t.finish().expect("a Vec takes every write");
        assert_eq!(
            String::from_utf8(sink).expect("UTF-8"),
            "# HELP m Help with \\\\ and\\nnewline.\n# TYPE m gauge\n\
             m{backend=\"a\\\"b\\\\c\\nd\",type=\"http\",le=\"+Inf\"} 3\n\
             m 0.25\nm{state=\"up\",x=\"y\"} +Inf\nm NaN\n"
        );
    }
}
