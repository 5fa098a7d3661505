//! Errors of the API client, with VPP's return codes made readable.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::codec::DecodeError;

/// Why a message maglevd needs cannot be used with this VPP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageProblem {
    /// No message of that name at all.
    Missing { name_crc: String },
    /// A message of that name exists with another CRC.
    CrcChanged { name_crc: String, vpp_has: Vec<String> },
}

impl fmt::Display for MessageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageProblem::Missing { name_crc } => {
                write!(f, "{name_crc}: not in VPP's message table (plugin not loaded or too old)")
            }
            MessageProblem::CrcChanged { name_crc, vpp_has } => {
                write!(f, "{name_crc}: VPP has {} (definition changed)", vpp_has.join(", "))
            }
        }
    }
}

#[derive(Debug)]
pub enum ApiError {
    /// The API socket could not be connected.
    Connect { path: PathBuf, source: io::Error },
    /// The connection is gone (EOF, socket error, or a stream that can no
    /// longer be trusted); reconnect.
    Disconnected { reason: String },
    /// No reply within the timeout. VPP drops requests silently (unknown id,
    /// wrong client index, truncated message), so this is also how those
    /// failures show.
    Timeout { msg: &'static str, context: u32, waited: Duration },
    /// VPP refused the `sockclnt_create` handshake or answered nonsense.
    Handshake { reason: String },
    /// A reply to our request could not be decoded.
    Decode { msg: &'static str, source: DecodeError },
    /// The message to send is not in VPP's message table.
    UnknownMessage { name_crc: &'static str },
    /// Messages that are needed but missing or changed in this VPP.
    Incompatible { problems: Vec<MessageProblem> },
    /// VPP answered with a non-zero `retval`.
    Retval { msg: &'static str, retval: i32 },
}

impl ApiError {
    /// The VPP return code, for `Retval` errors.
    pub fn retval(&self) -> Option<i32> {
        match self {
            ApiError::Retval { retval, .. } => Some(*retval),
            _ => None,
        }
    }

    /// True when the connection must be dropped and re-established.
    pub fn is_disconnect(&self) -> bool {
        matches!(self, ApiError::Disconnected { .. } | ApiError::Connect { .. })
    }

    /// A short label for metrics (`maglev_vpp_api_total{result}`).
    pub fn result_label(&self) -> &'static str {
        match self {
            ApiError::Connect { .. } | ApiError::Disconnected { .. } => "disconnected",
            ApiError::Timeout { .. } => "timeout",
            ApiError::Decode { .. } | ApiError::Handshake { .. } => "decode_error",
            ApiError::UnknownMessage { .. } | ApiError::Incompatible { .. } => "unsupported",
            ApiError::Retval { .. } => "error",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Connect { path, source } => {
                write!(f, "cannot connect to VPP API socket {}: {source} (is VPP running, and may this user use its socket?)", path.display())
            }
            ApiError::Disconnected { reason } => write!(f, "VPP API connection lost: {reason}"),
            ApiError::Timeout { msg, context, waited } => write!(
                f,
                "no reply from VPP to {msg} (context {context}) within {:.1}s",
                waited.as_secs_f64()
            ),
            ApiError::Handshake { reason } => write!(f, "VPP API handshake failed: {reason}"),
            ApiError::Decode { msg, source } => write!(f, "bad reply from VPP to {msg}: {source}"),
            ApiError::UnknownMessage { name_crc } => write!(
                f,
                "{name_crc} is not in VPP's message table (plugin not loaded, or a VPP version without it)"
            ),
            ApiError::Incompatible { problems } => {
                write!(f, "VPP's API does not have what is needed: ")?;
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
            ApiError::Retval { msg, retval } => {
                write!(f, "VPP refused {msg}: retval {retval} ({})", retval_name(*retval))
            }
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Connect { source, .. } => Some(source),
            ApiError::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The name of a VPP API return code (`src/vnet/error.h`), with a hint for
/// the ones the LB plugin returns.
pub fn retval_name(retval: i32) -> &'static str {
    match retval {
        0 => "OK",
        -1 => "UNSPECIFIED",
        -2 => "INVALID_SW_IF_INDEX",
        -3 => "NO_SUCH_FIB",
        -6 => "NO_SUCH_ENTRY: VIP, AS or route not found",
        -7 => "INVALID_VALUE",
        -70 => "INVALID_MEMORY_SIZE: a table length is not a power of two",
        -73 => "INVALID_ARGUMENT: per-port VIPs of one prefix must share the encap",
        -81 => "VALUE_EXIST: already exists or conflicts with an existing VIP/AS",
        -97 => "INVALID_ADDRESS_FAMILY: AS family does not match the encap",
        _ => "unknown VPP error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let e = ApiError::Incompatible {
            problems: vec![
                MessageProblem::CrcChanged {
                    name_crc: "lb_add_del_as_v2_2f1d3b0e".into(),
                    vpp_has: vec!["lb_add_del_as_v2_1234abcd".into()],
                },
                MessageProblem::Missing { name_crc: "lb_conf_get_51077d14".into() },
            ],
        };
        let s = e.to_string();
        assert!(
            s.contains("lb_add_del_as_v2_2f1d3b0e: VPP has lb_add_del_as_v2_1234abcd (definition changed)"),
            "{s}"
        );
        assert!(
            s.contains("lb_conf_get_51077d14: not in VPP's message table (plugin not loaded or too old)"),
            "{s}"
        );
        let e = ApiError::Retval { msg: "lb_add_del_vip_v2", retval: -81 };
        assert!(e.to_string().contains("VALUE_EXIST"));
        assert_eq!(e.retval(), Some(-81));
        assert_eq!(e.result_label(), "error");
    }
}
