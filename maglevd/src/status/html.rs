//! The status page as HTML, rendered on the server from a [`StatusView`].
//! The page is complete without JavaScript; the script (`status.js`) then
//! keeps it current from `/status/events`. It finds a backend's row by its
//! id (`b-NAME`), a frontend's rows by the id of its `tbody` (`f-NAME`,
//! header row first, then its pools' members in order) and cells by
//! position, so the columns here and there must stay in step. Markup is
//! terse (no per-cell classes; `status.css` styles columns by position):
//! a page for 100 backends stays under 60 KB.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use super::view::{BackendView, EventView, FrontendView, StatusView, VppView};
use crate::logging::rfc3339;

const CSS: &str = include_str!("status.css");
const JS: &str = include_str!("status.js");

/// The script without its indentation and comment lines (a third smaller;
/// nothing in it spans lines, so this cannot change its meaning).
fn script() -> &'static str {
    static JS_MIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JS_MIN.get_or_init(|| {
        JS.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The Content-Security-Policy that lets this page's style and script run.
pub fn content_security_policy() -> &'static str {
    super::csp::policy(CSS, script())
}

/// Escapes text for an HTML element or a quoted attribute.
fn esc(s: &str) -> Escaped<'_> {
    Escaped(s)
}

struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut last = 0;
        for (i, c) in self.0.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[last..i])?;
            f.write_str(rep)?;
            last = i + 1;
        }
        f.write_str(&self.0[last..])
    }
}

/// `5s`, `3m12s`, `2h05m`, `3d04h`: how long ago `then_ms` was at `now_ms`.
pub fn age(now_ms: u64, then_ms: u64) -> String {
    let s = now_ms.saturating_sub(then_ms) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s / 60) % 60),
        _ => format!("{}d{:02}h", s / 86_400, (s / 3600) % 24),
    }
}

/// `1234`, `12.3k`, `4.56M`, `7.89G`: counters at a glance (exact value in a title).
pub fn si(n: f64) -> String {
    let a = n.abs();
    let (v, unit) = if a >= 1e12 {
        (n / 1e12, "T")
    } else if a >= 1e9 {
        (n / 1e9, "G")
    } else if a >= 1e6 {
        (n / 1e6, "M")
    } else if a >= 1e4 {
        (n / 1e3, "k")
    } else {
        return if n.fract() == 0.0 { format!("{n:.0}") } else { format!("{n:.1}") };
    };
    if v.abs() >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

fn utc(ms: u64) -> String {
    rfc3339(UNIX_EPOCH + Duration::from_millis(ms))
}

/// `HH:MM:SS` of a Unix time in milliseconds (UTC).
fn clock(ms: u64) -> String {
    utc(ms)[11..19].to_string()
}

pub fn render(v: &StatusView) -> String {
    let mut o = String::with_capacity(12_288 + 450 * v.backends.len());
    let now = v.maglevd.now_ms;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\">\
<title>maglevd status</title><style>{CSS}</style></head>\n\
<body data-layout=\"{}\" data-now=\"{now}\">\n<header><h1>maglevd</h1> <span>{} <small>{}</small></span> \
<span>up <span data-t=\"{}\" id=\"d-up\">{}</span></span> <b id=\"live\" class=\"unknown\">static</b> \
<a href=\"/status.json\">json</a> <a href=\"/metrics\">metrics</a></header>\n<main>\n",
        esc(&v.maglevd.layout),
        esc(&v.maglevd.version),
        esc(&v.maglevd.commit),
        v.maglevd.started_ms,
        age(now, v.maglevd.started_ms),
    );
    frontends(&mut o, v);
    backends(&mut o, v);
    vpp(&mut o, v.vpp.as_ref(), now);
    events(&mut o, &v.events);
    let _ = write!(o, "</main>\n<script>{}</script>\n</body></html>\n", script());
    o
}

fn badge(o: &mut String, state: &str) {
    let _ = write!(o, "<b class=\"{0}\">{0}</b>", esc(state));
}

fn frontends(o: &mut String, v: &StatusView) {
    let _ = writeln!(
        o,
        "<section><h2>Frontends <small>{}</small></h2><div class=\"tw\"><table class=\"fe\">\
<thead><tr><th>pool</th><th>backend</th><th>state</th><th>weight</th><th>effective</th></tr></thead>",
        v.frontends.len()
    );
    for f in &v.frontends {
        frontend(o, f);
    }
    o.push_str("</table></div></section>\n");
}

fn frontend(o: &mut String, f: &FrontendView) {
    let port = if f.port == 0 { String::new() } else { format!(":{}", f.port) };
    let _ = write!(
        o,
        "<tbody id=\"f-{0}\"><tr><th colspan=\"5\"><span>{0}</span> <code>{1} {2}{port}</code> ",
        esc(&f.name),
        esc(&f.address),
        esc(&f.protocol),
    );
    badge(o, &f.state);
    if !f.description.is_empty() {
        let _ = write!(o, " <small>{}</small>", esc(&f.description));
    }
    o.push_str("</th></tr>\n");
    for p in &f.pools {
        for (i, m) in p.backends.iter().enumerate() {
            let _ = write!(
                o,
                "<tr{}><td>{}</td><td>{}</td><td>",
                if p.active { " class=\"act\"" } else { "" },
                if i == 0 { esc(&p.name).to_string() } else { String::new() },
                esc(&m.name),
            );
            badge(o, &m.state);
            let _ = writeln!(
                o,
                "</td><td>{}</td><td{}>{}</td></tr>",
                m.weight,
                if m.effective_weight == 0 { " class=\"z\"" } else { "" },
                m.effective_weight
            );
        }
    }
    o.push_str("</tbody>\n");
}

fn backends(o: &mut String, v: &StatusView) {
    let _ = writeln!(
        o,
        "<section><h2>Backends <small>{}</small></h2><div class=\"tw\"><table class=\"be\">\
<thead><tr><th>backend</th><th>address</th><th>state</th><th>health</th><th>last result</th>\
<th>took</th><th>checked</th><th>since</th><th>check</th><th>frontends</th></tr></thead><tbody>",
        v.backends.len()
    );
    for b in &v.backends {
        backend(o, b, v.maglevd.now_ms);
    }
    o.push_str("</tbody></table></div></section>\n");
}

fn backend(o: &mut String, b: &BackendView, now: u64) {
    let _ = write!(o, "<tr id=\"b-{0}\"><td>{0}</td><td>{1}</td><td>", esc(&b.name), esc(&b.address));
    badge(o, &b.state);
    let health = b.health.as_ref().map(|h| h.text.as_str()).unwrap_or("static");
    let _ = write!(o, "</td><td>{}</td>", esc(health));
    match &b.last_result {
        Some(r) => {
            let _ = write!(
                o,
                "<td><code>{}</code> {}</td><td>{:.1}ms</td>",
                esc(&r.code),
                esc(&r.detail),
                r.duration_ms
            );
            time_cell(o, r.at_ms, now);
        }
        None => o.push_str("<td></td><td></td><td></td>"),
    }
    time_cell(o, b.last_transition_ms, now);
    let _ = writeln!(
        o,
        "<td>{}</td><td>{}</td></tr>",
        esc(b.healthcheck.as_deref().unwrap_or("")),
        esc(&b.frontends.join(" "))
    );
}

/// An age cell that the script keeps counting.
fn time_cell(o: &mut String, at: Option<u64>, now: u64) {
    match at {
        Some(t) => {
            let _ = write!(o, "<td data-t=\"{t}\">{}</td>", age(now, t));
        }
        None => o.push_str("<td></td>"),
    }
}

fn vpp(o: &mut String, v: Option<&VppView>, now: u64) {
    o.push_str("<section id=\"vpp\"><h2>VPP</h2>");
    let Some(v) = v else {
        o.push_str("<p>VPP integration is off (<code>--vpp-api-addr</code> is empty).</p></section>\n");
        return;
    };
    o.push_str("<dl>");
    let conn = if v.connected { "connected" } else { "disconnected" };
    let _ = write!(o, "<dt>api</dt><dd id=\"v-conn\">");
    badge(o, conn);
    if !v.reason.is_empty() {
        let _ = write!(o, " {}", esc(&v.reason));
    }
    let _ = write!(o, "</dd><dt>stats</dt><dd id=\"v-stats\">");
    badge(o, if v.stats_connected { "connected" } else { "disconnected" });
    let _ = write!(o, "</dd><dt>version</dt><dd id=\"v-ver\">{}</dd>", esc(&v.version));
    dd_age(o, "uptime", "v-up", v.boot_ms, now);
    dd_age(o, "connected", "v-con", v.connected_ms, now);
    let _ = write!(
        o,
        "<dt>warmup</dt><dd id=\"v-warm\">{}</dd><dt>last sync</dt><dd id=\"v-sync\">",
        esc(&v.warmup)
    );
    if let Some(s) = &v.last_sync {
        let _ = write!(
            o,
            "<span data-t=\"{}\" title=\"{}\">{}</span> ago, {} ({:.1}ms): vip +{} -{}, as +{} -{}, weight {}",
            s.at_ms,
            utc(s.at_ms),
            age(now, s.at_ms),
            if s.scope == "all" { "all".to_string() } else { esc(&s.frontends.join(",")).to_string() },
            s.duration_ms,
            s.vips_added,
            s.vips_removed,
            s.ases_added,
            s.ases_removed,
            s.weights_updated
        );
    } else {
        o.push_str("none yet");
    }
    o.push_str(
        "</dd></dl>\n<div class=\"tw\"><table class=\"ct\"><thead><tr><th>frontend</th><th>vip</th>\
<th>first</th><th>next</th><th>untracked</th><th>no server</th><th>pkt/s</th><th>route bytes</th>\
<th>bit/s</th></tr></thead><tbody>\n",
    );
    for c in &v.vips {
        let rate = |r: Option<f64>, k: f64| r.map(|r| si(r * k)).unwrap_or_else(|| "–".into());
        let _ = write!(o, "<tr><td>{}</td><td>{}</td>", esc(&c.frontend), esc(&c.vip));
        for n in [c.first, c.next, c.untracked, c.no_server] {
            let _ = write!(o, "<td>{}</td>", si(n as f64));
        }
        let _ = writeln!(
            o,
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            rate(c.packets_rate, 1.0),
            si(c.route_bytes as f64),
            rate(c.bytes_rate, 8.0)
        );
    }
    o.push_str("</tbody></table></div></section>\n");
}

fn dd_age(o: &mut String, label: &str, id: &str, at: Option<u64>, now: u64) {
    let _ = write!(o, "<dt>{label}</dt><dd id=\"{id}\">");
    if let Some(t) = at {
        let _ = write!(o, "<span data-t=\"{t}\" title=\"{}\">{}</span>", utc(t), age(now, t));
    }
    o.push_str("</dd>");
}

fn events(o: &mut String, evs: &[EventView]) {
    o.push_str(
        "<section><h2>Events</h2><div class=\"tw\"><table class=\"ev\"><thead><tr><th>UTC</th><th>what</th>\
<th>transition</th><th>code</th><th>detail</th></tr></thead><tbody id=\"events\">\n",
    );
    for e in evs {
        event(o, e);
    }
    o.push_str("</tbody></table></div></section>\n");
}

/// A backend event names the backend; a frontend event says "frontend".
fn event(o: &mut String, e: &EventView) {
    let kind = if e.kind == "frontend" { "frontend " } else { "" };
    let _ = write!(o, "<tr><td>{}</td><td>{kind}{}</td><td>", clock(e.at_ms), esc(&e.name));
    badge(o, &e.from);
    o.push_str(" → ");
    badge(o, &e.to);
    let _ = writeln!(o, "</td><td>{}</td><td>{}</td></tr>", esc(&e.code), esc(&e.detail));
}
