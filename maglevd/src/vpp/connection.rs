//! The two VPP sockets, each with a life of its own: the API connection,
//! which programming needs, and the stats segment, which only the counters
//! need. Losing the stats side (its socket gone, its heartbeat stalled)
//! degrades the counters and nothing else; it reconnects on its own.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vppapi::client::{ConnectOptions, Connection, Direction};
use vppapi::error::ApiError;
use vppapi::lb::{LbFlavor, MASTER_MESSAGES};
use vppapi::messages::{
    CliInband, CliInbandReply, ControlPing, ControlPingReply, IpRouteLookup, IpRouteLookupReply,
    LbVipDetails, LbVipDump, Message, ShowVersion, ShowVersionReply,
};
use vppapi::stats::{StatsClient, StatsError};

use super::{VppInfo, VppObserver, VppOptions};

/// Messages without which maglevd cannot even read VPP.
const CORE_MESSAGES: &[&str] = &[
    ControlPing::NAME_CRC,
    ControlPingReply::NAME_CRC,
    ShowVersion::NAME_CRC,
    ShowVersionReply::NAME_CRC,
    CliInband::NAME_CRC,
    CliInbandReply::NAME_CRC,
    IpRouteLookup::NAME_CRC,
    IpRouteLookupReply::NAME_CRC,
    LbVipDump::NAME_CRC,
    LbVipDetails::NAME_CRC,
];

/// Why a VPP socket could not be connected, or must be dropped. Its
/// message is the `reason=` of the log line and the status's reason; the
/// VPP thread retries on its own either way.
#[derive(Debug)]
pub(super) enum ConnError {
    /// The API socket could not be connected, or VPP refused the handshake.
    Connect(ApiError),
    /// VPP lacks messages maglevd needs just to read it.
    Incompatible(ApiError),
    /// An API call on a fresh or live connection failed.
    Call { call: &'static str, source: ApiError },
    /// The stats socket could not be connected or the segment mapped.
    StatsConnect { socket: PathBuf, source: StatsError },
    /// Reading the mapped stats segment failed (`what`: which entries).
    StatsRead { what: &'static str, source: StatsError },
    /// `/sys/heartbeat` stood still longer than allowed.
    HeartbeatStalled { heartbeat: u64, stalled: Duration },
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Connect(e) => write!(f, "{e}"),
            ConnError::Incompatible(e) => {
                write!(f, "VPP is incompatible: {e}; check that VPP runs with its lb plugin loaded")
            }
            ConnError::Call { call, source } => write!(f, "{call}: {source}"),
            ConnError::StatsConnect { socket, source } => write!(
                f,
                "stats segment {}: {source}; check VPP's statseg socket-name and maglevd's --vpp-stats-addr",
                socket.display()
            ),
            ConnError::StatsRead { what, source } => write!(f, "stats {what}: {source}"),
            ConnError::HeartbeatStalled { heartbeat, stalled } => write!(
                f,
                "stats heartbeat stalled at {heartbeat} for {}s (VPP restarted or hung)",
                stalled.as_secs()
            ),
        }
    }
}

impl std::error::Error for ConnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnError::Connect(e) | ConnError::Incompatible(e) | ConnError::Call { source: e, .. } => Some(e),
            ConnError::StatsConnect { source, .. } | ConnError::StatsRead { source, .. } => Some(source),
            ConnError::HeartbeatStalled { .. } => None,
        }
    }
}

/// The API connection.
pub(super) struct VppConn {
    pub api: Connection,
    /// Without the boot time, which comes from the stats segment.
    pub info: VppInfo,
    /// `None` when writable; otherwise what is missing.
    pub not_writable: Option<String>,
}

impl VppConn {
    /// Connects the API socket, checks the message table and reads VPP's
    /// identity.
    pub fn connect(opts: &VppOptions, observer: Arc<dyn VppObserver>) -> Result<VppConn, ConnError> {
        let copts = ConnectOptions {
            client_name: "vpp-maglev".into(),
            timeout: opts.request_timeout,
            ..ConnectOptions::default()
        };
        let mut api = Connection::connect(&opts.api_socket, &copts).map_err(ConnError::Connect)?;
        api.set_observer(Arc::new(move |msg: &str, dir: Direction, result: &str| {
            observer.on_api(msg, dir, result)
        }));
        api.check(CORE_MESSAGES).map_err(ConnError::Incompatible)?;
        let not_writable = if api.lb_flavor() == LbFlavor::Legacy || api.check(MASTER_MESSAGES).is_err() {
            let detail = api.check(MASTER_MESSAGES).err().map(|e| e.to_string()).unwrap_or_default();
            Some(format!(
                "VPP lacks the lb weight API (lb_add_del_as_v2, lb_as_set_weight, lb_as_v2_dump, lb_conf_get; \
                 VPP master after 26.06): maglevd will not write to VPP. {detail}"
            ))
        } else {
            None
        };
        let version =
            api.show_version().map_err(|source| ConnError::Call { call: "show_version", source })?;
        let pid = api.control_ping().map_err(|source| ConnError::Call { call: "control_ping", source })?;
        let info = VppInfo {
            version: version.version,
            build_date: version.build_date,
            build_directory: version.build_directory,
            pid,
            boot_time: None,
            connect_time: SystemTime::now(),
        };
        Ok(VppConn { api, info, not_writable })
    }

    /// control_ping: an error means drop the connection.
    pub fn check_alive(&mut self) -> Result<(), ConnError> {
        self.api.control_ping().map(drop).map_err(|source| ConnError::Call { call: "control_ping", source })
    }

    pub fn close(self) {
        let _ = self.api.close();
    }
}

/// The mapped stats segment.
pub(super) struct StatsConn {
    pub client: StatsClient,
    /// `/sys/boottime`.
    pub boot_time: SystemTime,
    heartbeat: u64,
    heartbeat_changed: Instant,
}

impl StatsConn {
    pub fn connect(opts: &VppOptions) -> Result<StatsConn, ConnError> {
        let mut client = StatsClient::connect(&opts.stats_socket)
            .map_err(|source| ConnError::StatsConnect { socket: opts.stats_socket.clone(), source })?;
        let boot =
            client.boottime().map_err(|source| ConnError::StatsRead { what: "/sys/boottime", source })?;
        let heartbeat = client.heartbeat().unwrap_or(0);
        Ok(StatsConn {
            client,
            boot_time: UNIX_EPOCH + Duration::from_secs(boot),
            heartbeat,
            heartbeat_changed: Instant::now(),
        })
    }

    /// Watches `/sys/heartbeat`: an error means drop the mapping (VPP
    /// restarted, or hung). `stall` is how long it may stand still.
    pub fn check_alive(&mut self, stall: Duration) -> Result<(), ConnError> {
        let hb =
            self.client.heartbeat().map_err(|source| ConnError::StatsRead { what: "heartbeat", source })?;
        if hb != self.heartbeat {
            self.heartbeat = hb;
            self.heartbeat_changed = Instant::now();
        } else if self.heartbeat_changed.elapsed() > stall {
            return Err(ConnError::HeartbeatStalled {
                heartbeat: hb,
                stalled: self.heartbeat_changed.elapsed(),
            });
        }
        Ok(())
    }
}
