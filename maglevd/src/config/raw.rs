//! Stage 1: the YAML file as serde structs (deny unknown keys).
//!
//! This stage answers "is this the shape of a maglev config": YAML syntax,
//! known keys, and the type of every value, including the syntax of the
//! typed scalars (durations, IP addresses, keywords). It stops at the first
//! problem and reports it with the YAML path, line and column. Ranges and
//! relations between objects are stage 2 (`validate.rs`), so numbers are
//! kept wide (`i64`) here and range-checked there with a better message than
//! "invalid value: integer `300`, expected u8".
//!
//! Every optional key is an `Option` so that stage 2 knows what was written
//! and what must be defaulted; `key:` with no value (YAML null) counts as
//! absent.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::duration::parse_duration;
use super::ConfigError;

/// The whole file: a single `maglev:` key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// Required, but may be empty (`maglev:` alone is a valid config).
    #[serde(deserialize_with = "required_nullable")]
    pub maglev: Option<RawMaglev>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawMaglev {
    pub healthchecker: Option<RawHealthChecker>,
    pub vpp: Option<RawVpp>,
    pub healthchecks: Option<OrderedMap<RawHealthCheck>>,
    pub backends: Option<OrderedMap<RawBackend>>,
    pub frontends: Option<OrderedMap<RawFrontend>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHealthChecker {
    pub transition_history: Option<i64>,
    pub netns: Option<String>,
    pub workers: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawVpp {
    pub lb: Option<RawLb>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawLb {
    pub ipv4_src_address: Option<RawIp>,
    pub ipv6_src_address: Option<RawIp>,
    pub sticky_buckets_per_core: Option<i64>,
    pub flow_timeout: Option<RawDuration>,
    pub sync_interval: Option<RawDuration>,
    pub startup_min_delay: Option<RawDuration>,
    pub startup_max_delay: Option<RawDuration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawProbeType {
    Icmp,
    Tcp,
    Http,
    Https,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHealthCheck {
    #[serde(rename = "type")]
    pub kind: RawProbeType,
    pub port: Option<i64>,
    pub interval: Option<RawDuration>,
    pub fast_interval: Option<RawDuration>,
    pub down_interval: Option<RawDuration>,
    pub timeout: Option<RawDuration>,
    pub rise: Option<i64>,
    pub fall: Option<i64>,
    pub jitter_percent: Option<i64>,
    pub netns: Option<String>,
    pub source_ipv4: Option<RawIp>,
    pub source_ipv6: Option<RawIp>,
    pub http: Option<RawHttp>,
    pub tls: Option<RawTls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(super) enum RawMethod {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "HEAD")]
    Head,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawHttp {
    pub method: Option<RawMethod>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub headers: Option<OrderedMap<String>>,
    pub expect_status: Option<StatusText>,
    pub expect_body: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawTls {
    pub server_name: Option<String>,
    pub verify: Option<bool>,
    pub ca_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawBackend {
    pub address: RawIp,
    pub healthcheck: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawProtocol {
    Tcp,
    Udp,
    Any,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawFrontend {
    pub description: Option<String>,
    pub address: RawPrefix,
    pub protocol: Option<RawProtocol>,
    pub port: Option<i64>,
    pub src_ip_sticky: Option<bool>,
    pub flush_on_down: Option<bool>,
    pub pools: Option<Vec<RawPool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPool {
    pub name: String,
    /// `nginx0: {weight: 50}`, `nginx0: {}` and `nginx0:` (null) all work.
    pub backends: Option<OrderedMap<Option<RawPoolBackend>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPoolBackend {
    pub weight: Option<i64>,
}

/// A YAML mapping with string keys, kept in file order, duplicate keys
/// rejected (YAML forbids them, but serde would silently keep the last).
#[derive(Debug)]
pub(super) struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format_args!(
                            "duplicate key `{key}`; each name may appear only once"
                        )));
                    }
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// A Go-style duration string (`2s`, `1m30s`); a bare `0` is also accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawDuration(pub Duration);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl<'de> Visitor<'de> for DurationVisitor {
            type Value = RawDuration;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 2s, 500ms or 1m30s")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawDuration, E> {
                parse_duration(s)
                    .map(RawDuration)
                    .map_err(|e| E::custom(format_args!("invalid duration {s:?}: {e}")))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<RawDuration, E> {
                if n == 0 {
                    Ok(RawDuration(Duration::ZERO))
                } else {
                    Err(E::custom(format_args!("a duration needs a unit: write \"{n}s\" or \"{n}ms\"")))
                }
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawDuration, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom("negative durations are not allowed")),
                }
            }
        }

        deserializer.deserialize_any(DurationVisitor)
    }
}

/// An IPv4 or IPv6 address (without prefix length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawIp(pub IpAddr);

impl<'de> Deserialize<'de> for RawIp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IpVisitor;

        impl<'de> Visitor<'de> for IpVisitor {
            type Value = RawIp;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an IP address such as 192.0.2.1 or 2001:db8::1")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawIp, E> {
                s.trim().parse().map(RawIp).map_err(|_| {
                    E::custom(format_args!(
                        "invalid IP address {s:?}: write an IPv4 address like 192.0.2.1 \
                         or an IPv6 address like 2001:db8::1"
                    ))
                })
            }
        }

        deserializer.deserialize_str(IpVisitor)
    }
}

/// A VIP: an address with an optional `/len`. The length is range-checked
/// in stage 2 (it depends on the family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawPrefix {
    pub address: IpAddr,
    pub len: Option<u8>,
}

impl<'de> Deserialize<'de> for RawPrefix {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrefixVisitor;

        impl<'de> Visitor<'de> for PrefixVisitor {
            type Value = RawPrefix;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an IP address or prefix such as 192.0.2.1 or 2001:db8::/64")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawPrefix, E> {
                let bad = || {
                    E::custom(format_args!(
                        "invalid VIP {s:?}: write an address like 192.0.2.1 or 2001:db8::1, \
                         or a prefix like 192.0.2.0/24"
                    ))
                };
                let s = s.trim();
                let (addr, len) = match s.split_once('/') {
                    Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad())?)),
                    None => (s, None),
                };
                let address = addr.parse().map_err(|_| bad())?;
                Ok(RawPrefix { address, len })
            }
        }

        deserializer.deserialize_str(PrefixVisitor)
    }
}

/// `expect-status`: a string like "200,204,300-302", or a bare number
/// (`expect-status: 200`). Its content is checked in stage 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StatusText(pub String);

impl<'de> Deserialize<'de> for StatusText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;

        impl<'de> Visitor<'de> for StatusVisitor {
            type Value = StatusText;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("HTTP status codes such as \"200-399\" or \"200,204\"")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusText, E> {
                Ok(StatusText(s.to_string()))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusText, E> {
                Ok(StatusText(n.to_string()))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<StatusText, E> {
                Ok(StatusText(n.to_string()))
            }
        }

        deserializer.deserialize_any(StatusVisitor)
    }
}

/// A key that must be present but may be empty (YAML null).
fn required_nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// Parses the YAML text; `file` names it in the error.
pub(super) fn parse(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        return Err(ConfigError::Parse {
            file: file.to_string(),
            path: String::new(),
            line: None,
            column: None,
            message: "the file is empty: a config starts with a `maglev:` section".to_string(),
        });
    }
    let deserializer = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| parse_error(e, file, text))
}

/// Splits serde_yaml's message ("<path>: <message> at line L column C")
/// into the structured fields of `ConfigError::Parse`, and rewords what
/// only makes sense to a Rust programmer.
fn parse_error(err: serde_path_to_error::Error<serde_yaml::Error>, file: &str, text: &str) -> ConfigError {
    // serde_path_to_error writes `?` for a key it could not read (a
    // syntax error inside a mapping): keep the part of the path it knows.
    let mut path = err.path().to_string();
    while let Some(stripped) = path.strip_suffix(".?") {
        path = stripped.to_string();
    }
    if path == "." || path == "?" {
        path.clear();
    }
    let inner = err.into_inner();
    let location = inner.location();
    let mut message = inner.to_string();
    if let Some(loc) = &location {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(i) = message.find(&suffix) {
            // libyaml's syntax errors continue after the position with a
            // context ("..., while parsing a block mapping"): keep that.
            message.replace_range(i..i + suffix.len(), "");
        }
    }
    // serde_yaml prefixes its own idea of the path, which for unknown keys
    // is the parent of ours.
    if let Some((head, rest)) = message.split_once(": ") {
        if !head.is_empty() && !head.contains(' ') && path.starts_with(head) {
            message = rest.to_string();
        }
    }
    message = reword(&message);
    if let Some(loc) = &location {
        let line_text = text.lines().nth(loc.line().saturating_sub(1)).unwrap_or("");
        if message.contains("cannot start any token") && line_text.contains('\t') {
            message.push_str(" (YAML does not allow tabs for indentation: use spaces)");
        }
    }
    ConfigError::Parse {
        file: file.to_string(),
        path,
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        message,
    }
}

/// Replaces the Rust type names serde puts in "expected ..." with words.
fn reword(message: &str) -> String {
    let mut out = message.replace("expected i64", "expected an integer");
    while let Some(start) = out.find("expected struct Raw") {
        let name_start = start + "expected struct ".len();
        let name_end = out[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |n| name_start + n);
        out.replace_range(start..name_end, "expected a mapping of keys");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, column, path, message) of the parse error for `text`.
    fn parse_err(text: &str) -> (Option<usize>, Option<usize>, String, String) {
        match parse(text, "test.yaml") {
            Ok(raw) => panic!("expected a parse error, got {raw:?}"),
            Err(ConfigError::Parse { line, column, path, message, .. }) => (line, column, path, message),
            Err(other) => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn type_error_names_path_line_and_column() {
        let (line, col, path, msg) =
            parse_err("maglev:\n  healthchecks:\n    http-80:\n      type: http\n      rise: two\n");
        assert_eq!((line, col), (Some(5), Some(13)));
        assert_eq!(path, "maglev.healthchecks.http-80.rise");
        assert_eq!(msg, "invalid type: string \"two\", expected an integer");
    }

    #[test]
    fn unknown_key_names_the_key() {
        let (line, col, path, msg) =
            parse_err("maglev:\n  healthchecks:\n    http-80:\n      type: http\n      intervall: 2s\n");
        assert_eq!((line, col), (Some(5), Some(7)));
        assert_eq!(path, "maglev.healthchecks.http-80.intervall");
        assert!(msg.starts_with("unknown field `intervall`, expected one of"), "{msg}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let (line, col, path, msg) = parse_err("maglev:\n  healthchecker:\n    netns: a\n   workers: 4\n");
        assert_eq!((line, col), (Some(4), Some(4)), "{msg}");
        assert!(path.starts_with("maglev"), "{path}");
        assert!(msg.contains("did not find expected key"), "{msg}");
    }

    #[test]
    fn tab_indentation_gets_a_hint() {
        let (line, _, _, msg) = parse_err("maglev:\n\thealthchecks: {}\n");
        assert_eq!(line, Some(2));
        assert!(msg.contains("use spaces"), "{msg}");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let (line, _, path, msg) = parse_err(
            "maglev:\n  backends:\n    a:\n      address: 192.0.2.1\n    a:\n      address: 192.0.2.2\n",
        );
        // serde reports the mapping, not the repeated key.
        assert_eq!(path, "maglev.backends");
        assert_eq!(line, Some(3));
        assert!(msg.contains("duplicate key `a`"), "{msg}");
    }

    #[test]
    fn struct_names_do_not_leak() {
        let (_, _, path, msg) = parse_err("maglev: 1\n");
        assert_eq!(path, "maglev");
        assert_eq!(msg, "invalid type: integer `1`, expected a mapping of keys");
    }

    #[test]
    fn empty_file_and_missing_section() {
        let (_, _, _, msg) = parse_err("# only a comment\n\n");
        assert!(msg.contains("empty"), "{msg}");
        let (_, _, path, msg) = parse_err("maglevd:\n");
        assert_eq!(path, "maglevd");
        assert!(msg.contains("unknown field `maglevd`, expected `maglev`"), "{msg}");
    }

    #[test]
    fn typed_scalars() {
        let raw = parse(
            "maglev:\n  vpp:\n    lb:\n      startup-min-delay: 0\n      flow-timeout: 1m\n\
             \x20 frontends:\n    f:\n      address: 2001:db8::/64\n",
            "t",
        )
        .expect("valid");
        let m = raw.maglev.expect("section");
        let lb = m.vpp.and_then(|v| v.lb).expect("lb");
        assert_eq!(lb.startup_min_delay, Some(RawDuration(Duration::ZERO)));
        assert_eq!(lb.flow_timeout, Some(RawDuration(Duration::from_secs(60))));
        let fe = &m.frontends.expect("frontends").0[0];
        assert_eq!(fe.0, "f");
        assert_eq!(fe.1.address, RawPrefix { address: "2001:db8::".parse().expect("ip"), len: Some(64) });

        let (_, _, path, msg) = parse_err("maglev:\n  vpp:\n    lb:\n      flow-timeout: 40\n");
        assert_eq!(path, "maglev.vpp.lb.flow-timeout");
        assert!(msg.contains("needs a unit"), "{msg}");
        let (_, _, path, msg) = parse_err("maglev:\n  frontends:\n    f:\n      address: 192.0.2.1/x\n");
        assert_eq!(path, "maglev.frontends.f.address");
        assert!(msg.contains("invalid VIP"), "{msg}");
    }
}
