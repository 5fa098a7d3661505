//! The `event key=value key="quoted value"` line format.
//!
//! Every log line starts with an event name followed by key=value fields.
//! Values containing spaces, quotes or `=` are written quoted with `\"` and
//! `\\` escapes, so that [`parse`] recovers exactly what [`Value`] wrote.

use std::fmt;

/// Displays a field value, quoting it when needed.
pub struct Value<'a>(pub &'a str);

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let plain =
            !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '"' || c == '=' || c == '\\');
        if plain {
            return f.write_str(s);
        }
        f.write_str("\"")?;
        for c in s.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Splits a line into its event name and key=value fields. Words that are
/// not key=value pairs are ignored.
pub fn parse(line: &str) -> (String, Vec<(String, String)>) {
    let mut chars = line.trim_start().chars().peekable();
    let mut event = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            break;
        }
        event.push(c);
        chars.next();
    }
    let mut fields = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            continue; // a bare word
        }
        chars.next();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some(e) => value.push(e),
                        None => break,
                    },
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        if !key.is_empty() {
            fields.push((key, value));
        }
    }
    (event, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_quoted_values() {
        let detail = "connection refused \"x\" a=b \\ end";
        let line = format!(
            "backend-transition backend={} detail={} empty={}",
            Value("nginx0"),
            Value(detail),
            Value("")
        );
        let (event, fields) = parse(&line);
        assert_eq!(event, "backend-transition");
        assert_eq!(
            fields,
            vec![
                ("backend".to_string(), "nginx0".to_string()),
                ("detail".to_string(), detail.to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn ignores_bare_words_and_tolerates_garbage() {
        let (event, fields) = parse("starting now version=1.0 \"unterminated=x detail=\"abc");
        assert_eq!(event, "starting");
        assert_eq!(fields[0], ("version".to_string(), "1.0".to_string()));
        assert_eq!(fields.last().map(|f| f.1.as_str()), Some("abc"));
        assert_eq!(parse(""), (String::new(), vec![]));
    }
}
