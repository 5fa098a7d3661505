//! The HTTP/1.1 request a probe sends.

use std::net::IpAddr;

use crate::config::HttpCheck;

/// Why no request could be built from the healthcheck (a configuration
/// problem that validation should have caught; reported, never sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestError(pub(crate) String);

/// The Host header value: `http.host` as configured, else the backend
/// address (IPv6 in brackets) with `:port` unless it is the scheme's default.
pub(crate) fn host_header(http: &HttpCheck, address: IpAddr, port: u16, default_port: u16) -> String {
    if let Some(host) = &http.host {
        return host.clone();
    }
    let host = match address {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    if port == default_port {
        host
    } else {
        format!("{host}:{port}")
    }
}

fn has_line_break(s: &str) -> bool {
    s.contains(['\r', '\n', '\0'])
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Serialises the request. Configured headers replace the defaults of the
/// same name (case-insensitive) and are otherwise appended in file order.
pub(crate) fn build(http: &HttpCheck, host: &str) -> Result<Vec<u8>, RequestError> {
    let path = if http.path.is_empty() { "/" } else { http.path.as_str() };
    if has_line_break(path) || path.contains(' ') {
        return Err(RequestError(format!("request path {path:?} contains a space or line break")));
    }
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), host.to_string()),
        ("User-Agent".into(), concat!("maglevd/", env!("CARGO_PKG_VERSION")).into()),
        ("Accept".into(), "*/*".into()),
        ("Connection".into(), "close".into()),
    ];
    for (name, value) in &http.headers {
        if !is_token(name) {
            return Err(RequestError(format!("request header name {name:?} is not a valid HTTP token")));
        }
        if has_line_break(value) {
            return Err(RequestError(format!("request header {name} contains a line break")));
        }
        match headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(existing) => *existing = (name.clone(), value.clone()),
            None => headers.push((name.clone(), value.clone())),
        }
    }
    if has_line_break(&headers[0].1) {
        return Err(RequestError("Host header contains a line break".into()));
    }
    let mut out = format!("{} {} HTTP/1.1\r\n", http.method.as_str(), path);
    for (name, value) in &headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HttpMethod, StatusMatcher};

    fn http() -> HttpCheck {
        HttpCheck {
            method: HttpMethod::Get,
            path: "/healthz".into(),
            host: None,
            headers: vec![],
            expect_status: StatusMatcher { ranges: vec![(200, 399)] },
            expect_body: None,
        }
    }

    #[test]
    fn host_defaults_to_the_address() {
        let h = http();
        assert_eq!(host_header(&h, "192.0.2.1".parse().unwrap(), 80, 80), "192.0.2.1");
        assert_eq!(host_header(&h, "192.0.2.1".parse().unwrap(), 8080, 80), "192.0.2.1:8080");
        assert_eq!(host_header(&h, "2001:db8::1".parse().unwrap(), 443, 443), "[2001:db8::1]");
        assert_eq!(host_header(&h, "2001:db8::1".parse().unwrap(), 8443, 443), "[2001:db8::1]:8443");
        let named = HttpCheck { host: Some("www.example.com".into()), ..http() };
        assert_eq!(host_header(&named, "192.0.2.1".parse().unwrap(), 8080, 80), "www.example.com");
    }

    #[test]
    fn request_has_the_fixed_headers_and_extras() {
        let h = HttpCheck {
            method: HttpMethod::Head,
            headers: vec![("X-Probe".into(), "maglev".into()), ("user-agent".into(), "custom".into())],
            ..http()
        };
        let req = String::from_utf8(build(&h, "example.org").unwrap()).unwrap();
        assert_eq!(
            req,
            "HEAD /healthz HTTP/1.1\r\nHost: example.org\r\nuser-agent: custom\r\nAccept: */*\r\n\
             Connection: close\r\nX-Probe: maglev\r\n\r\n"
        );
        let plain = String::from_utf8(build(&http(), "h").unwrap()).unwrap();
        assert!(plain.contains(&format!("User-Agent: maglevd/{}\r\n", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn injection_is_refused() {
        let bad_value = HttpCheck { headers: vec![("X".into(), "a\r\nEvil: 1".into())], ..http() };
        assert!(build(&bad_value, "h").is_err());
        let bad_name = HttpCheck { headers: vec![("X Y".into(), "v".into())], ..http() };
        assert!(build(&bad_name, "h").is_err());
        let bad_path = HttpCheck { path: "/a b".into(), ..http() };
        assert!(build(&bad_path, "h").is_err());
        assert!(build(&http(), "h\r\nX: y").is_err());
    }
}
