//! The two VPP sockets, each with a life of its own: the API connection,
//! which programming needs, and the stats segment, which only the counters
//! need. Losing the stats side (its socket gone, its heartbeat stalled)
//! degrades the counters and nothing else; it reconnects on its own.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vppapi::client::{ConnectOptions, Connection, Direction};
use vppapi::lb::{LbFlavor, MASTER_MESSAGES};
use vppapi::messages::{
    CliInband, CliInbandReply, ControlPing, ControlPingReply, IpRouteLookup, IpRouteLookupReply,
    LbVipDetails, LbVipDump, Message, ShowVersion, ShowVersionReply,
};
use vppapi::stats::StatsClient;

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
    /// identity. The error is the `reason=` of the log line.
    pub fn connect(opts: &VppOptions, observer: Arc<dyn VppObserver>) -> Result<VppConn, String> {
        let copts = ConnectOptions {
            client_name: "vpp-maglev".into(),
            timeout: opts.request_timeout,
            ..ConnectOptions::default()
        };
        let mut api = Connection::connect(&opts.api_socket, &copts).map_err(|e| e.to_string())?;
        api.set_observer(Arc::new(move |msg: &str, dir: Direction, result: &str| {
            observer.on_api(msg, dir, result)
        }));
        api.check(CORE_MESSAGES).map_err(|e| format!("VPP is incompatible: {e}"))?;
        let not_writable = if api.lb_flavor() == LbFlavor::Legacy || api.check(MASTER_MESSAGES).is_err() {
            let detail = api.check(MASTER_MESSAGES).err().map(|e| e.to_string()).unwrap_or_default();
            Some(format!(
                "VPP lacks the lb weight API (lb_add_del_as_v2, lb_as_set_weight, lb_as_v2_dump, lb_conf_get; \
                 VPP master after 26.06): maglevd will not write to VPP. {detail}"
            ))
        } else {
            None
        };
        let version = api.show_version().map_err(|e| format!("show_version: {e}"))?;
        let pid = api.control_ping().map_err(|e| format!("control_ping: {e}"))?;
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
    pub fn check_alive(&mut self) -> Result<(), String> {
        self.api.control_ping().map(drop).map_err(|e| format!("control_ping: {e}"))
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
    pub fn connect(opts: &VppOptions) -> Result<StatsConn, String> {
        let mut client = StatsClient::connect(&opts.stats_socket)
            .map_err(|e| format!("stats segment {}: {e}", opts.stats_socket.display()))?;
        let boot = client.boottime().map_err(|e| format!("stats /sys/boottime: {e}"))?;
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
    pub fn check_alive(&mut self, stall: Duration) -> Result<(), String> {
        let hb = self.client.heartbeat().map_err(|e| format!("stats heartbeat: {e}"))?;
        if hb != self.heartbeat {
            self.heartbeat = hb;
            self.heartbeat_changed = Instant::now();
        } else if self.heartbeat_changed.elapsed() > stall {
            return Err(format!(
                "stats heartbeat stalled at {hb} for {}s (VPP restarted or hung)",
                self.heartbeat_changed.elapsed().as_secs()
            ));
        }
        Ok(())
    }
}
