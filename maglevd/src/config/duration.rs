//! Go-style duration strings (`200ms`, `2s`, `1m30s`).
//!
//! Operators coming from the Go implementation (and from Prometheus,
//! Kubernetes, ...) already write durations this way, so the syntax is
//! exactly Go's `time.ParseDuration`, minus negative values.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The largest duration accepted: what fits in a `u64` of nanoseconds
/// (about 584 years), like Go's `time.Duration`.
const MAX_NANOS: u128 = u64::MAX as u128;

/// Fractional digits beyond this are ignored: they are below a nanosecond
/// for every unit.
const MAX_FRACTION_DIGITS: u32 = 18;

/// Parses a Go-style duration: a sequence of decimal numbers with units
/// `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (`1m30s`, `1.5s`, `0`). Negative
/// durations are rejected.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.strip_prefix('+').unwrap_or(s);
    if text.starts_with('-') {
        return Err("negative durations are not allowed".to_string());
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("empty duration; write e.g. 2s, 500ms or 1m30s".to_string());
    }
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // The number: digits, optionally a '.' and more digits.
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        let (frac_digits, after_num) = match after_int.strip_prefix('.') {
            Some(f) => {
                let frac_len = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(format!("expected a number at {rest:?}; write e.g. 2s, 500ms or 1m30s"));
        }
        // The unit: everything up to the next digit or '.'.
        let unit_len = after_num.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after_num.len());
        let (unit, after_unit) = after_num.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            "" => return Err(format!("missing unit in {s:?}; add one of ns, us, ms, s, m, h (e.g. 2s)")),
            other => return Err(format!("unknown unit {other:?} in {s:?}; use one of ns, us, ms, s, m, h")),
        };
        let too_large = || format!("duration {s:?} is too large");
        let int_value: u128 =
            if int_digits.is_empty() { 0 } else { int_digits.parse().map_err(|_| too_large())? };
        let mut nanos = int_value.checked_mul(unit_nanos).ok_or_else(too_large)?;
        if !frac_digits.is_empty() {
            let kept = &frac_digits[..frac_digits.len().min(MAX_FRACTION_DIGITS as usize)];
            let frac_value: u128 = kept.parse().map_err(|_| too_large())?;
            let scale = 10u128.pow(kept.len() as u32);
            // frac_value < 10^18 and unit_nanos < 4e12: the product fits in u128.
            nanos = nanos.checked_add(frac_value * unit_nanos / scale).ok_or_else(too_large)?;
        }
        total = total.checked_add(nanos).ok_or_else(too_large)?;
        if total > MAX_NANOS {
            return Err(too_large());
        }
        rest = after_unit;
    }
    Ok(Duration::from_nanos(total as u64))
}

/// Formats a duration the way Go prints it (`1m30s`, `200ms`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < NANOS_PER_SEC {
        // Sub-second: one unit with a decimal fraction, as Go does.
        let (unit_nanos, unit) = if nanos < 1_000 {
            (1, "ns")
        } else if nanos < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        return format!("{}{unit}", decimal(nanos, unit_nanos));
    }
    let hours = nanos / (3600 * NANOS_PER_SEC);
    let minutes = nanos / (60 * NANOS_PER_SEC) % 60;
    let seconds = decimal(nanos % (60 * NANOS_PER_SEC), NANOS_PER_SEC);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&seconds);
    out.push('s');
    out
}

/// `value / unit` as a decimal number without trailing zeros (`1.5`, `200`).
fn decimal(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_go_syntax() {
        let cases: &[(&str, Duration)] = &[
            ("0", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("200ms", ms(200)),
            ("2s", ms(2000)),
            ("1m30s", ms(90_000)),
            ("1.5s", ms(1500)),
            (".5s", ms(500)),
            ("1.s", ms(1000)),
            ("1h", Duration::from_secs(3600)),
            ("1h2m3s", Duration::from_secs(3723)),
            ("2h45m", Duration::from_secs(9900)),
            ("100us", Duration::from_micros(100)),
            ("100µs", Duration::from_micros(100)),
            ("100μs", Duration::from_micros(100)),
            ("5ns", Duration::from_nanos(5)),
            ("1.000000001s", Duration::from_nanos(1_000_000_001)),
            ("1.0000000019s", Duration::from_nanos(1_000_000_001)),
            ("0.1ms", Duration::from_micros(100)),
            ("1s500ms", ms(1500)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text).as_ref(), Ok(want), "parsing {text:?}");
        }
    }

    #[test]
    fn rejects_garbage_and_negatives() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("-1s", "negative"),
            ("-0", "negative"),
            ("2", "missing unit"),
            ("1.5", "missing unit"),
            ("2 s", "unknown unit"),
            ("2sec", "unknown unit"),
            ("2S", "unknown unit"),
            ("1m30", "missing unit"),
            ("s", "expected a number"),
            (".s", "expected a number"),
            ("1..5s", "missing unit"),
            ("abc", "expected a number"),
            ("1s-2ms", "unknown unit"),
            ("9999999999999999999999h", "too large"),
            ("6000000h", "too large"),
        ];
        for (text, want) in cases {
            match parse_duration(text) {
                Ok(d) => panic!("{text:?} parsed as {d:?}, expected an error containing {want:?}"),
                Err(e) => assert!(e.contains(want), "error for {text:?} is {e:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn formats_like_go() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(5), "5ns"),
            (Duration::from_micros(100), "100µs"),
            (Duration::from_nanos(1500), "1.5µs"),
            (ms(200), "200ms"),
            (Duration::from_micros(1500), "1.5ms"),
            (ms(1000), "1s"),
            (ms(1500), "1.5s"),
            (ms(90_000), "1m30s"),
            (ms(60_000), "1m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(3723), "1h2m3s"),
            (Duration::from_nanos(3_723_000_000_001), "1h2m3.000000001s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(*d), *want, "formatting {d:?}");
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        for nanos in
            [1, 999, 1_000, 123_456, 1_000_000, 999_999_999, 1_000_000_000, 61_500_000_000, 7_322_000_000_000]
        {
            let d = Duration::from_nanos(nanos);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "round trip of {d:?}");
        }
    }
}
