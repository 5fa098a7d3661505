//! A blocking client for VPP's binary API over its unix stream socket.
//!
//! One [`Connection`] is owned by one thread and starts no threads of its
//! own: every call writes its request and reads until its answer arrives or
//! its timeout expires. Messages that arrive meanwhile and belong to nobody
//! (late replies of timed-out requests, events) are dropped; a
//! `memclnt_keepalive` is answered.
//!
//! Requests can also be pipelined: [`Connection::send_request`] sends one
//! and returns a [`Pending`] at once, so several are in flight; VPP runs a
//! client's messages in the order they arrive, so the write order is kept,
//! and [`Connection::wait_ok`] collects each answer, matched by context
//! (one that arrives while another is awaited is kept for its own wait).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::debug;

use crate::error::{ApiError, MessageProblem};
use crate::frame::{self, FrameBuffer};
use crate::lb::{srv_type_to_wire, LbAsEntry, LbFlavor, LbVipEntry, VipKey, VipSettings};
use crate::lb_cli::{parse_lb_vips_verbose, VipCliInfo, SHOW_LB_VIPS_VERBOSE};
use crate::messages::IpRouteLookup;
use crate::messages::{
    fixed_ids, peek_msg_id, peek_reply_context, CliInband, ControlPing, ControlPingReply, Dump, HasRetval,
    LbAddDelAsV2, LbAddDelVipV2, LbAsSetWeight, LbAsV2Dump, LbConf, LbConfGet, LbFlushVip, LbVipDump,
    MemclntKeepalive, MemclntKeepaliveReply, Message, Request, ShowVersion, SockclntCreate,
    SockclntCreateReply, SockclntDelete, SockclntDeleteReply,
};
use crate::types::{Address, IpRoute, LbSrvType, Prefix, PrefixMatcher};

/// The client name maglevd registers with (shown in `show api clients`).
pub const DEFAULT_CLIENT_NAME: &str = "vpp-maglev";

/// Default timeout of the typed convenience methods.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Direction of a message, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Send,
    Recv,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Send => "send",
            Direction::Recv => "recv",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sees every message sent and received, e.g. to count them per name,
/// direction and result. `result` is `"ok"`, `"error"` (non-zero retval),
/// `"timeout"` (no reply; reported with the expected reply's name),
/// `"disconnected"` or `"decode_error"`. Called on the connection's thread;
/// keep it cheap.
pub trait ApiObserver: Send + Sync {
    fn on_message(&self, msg: &str, direction: Direction, result: &str);
}

impl<F: Fn(&str, Direction, &str) + Send + Sync> ApiObserver for F {
    fn on_message(&self, msg: &str, direction: Direction, result: &str) {
        self(msg, direction, result)
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Name shown in VPP's `show api clients` (at most 63 bytes).
    pub client_name: String,
    /// Timeout of the handshake, and default of the convenience methods.
    pub timeout: Duration,
    /// Largest accepted payload; anything bigger means a broken stream.
    pub max_payload: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            client_name: DEFAULT_CLIENT_NAME.to_string(),
            timeout: DEFAULT_TIMEOUT,
            max_payload: frame::DEFAULT_MAX_PAYLOAD,
        }
    }
}

/// `show_version`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppVersion {
    pub program: String,
    pub version: String,
    pub build_date: String,
    pub build_directory: String,
}

/// The LB plugin's global settings (`lb_conf` / `lb_conf_get`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbGlobalConf {
    pub ip4_src_address: Ipv4Addr,
    pub ip6_src_address: Ipv6Addr,
    /// Power of two; `u32::MAX` keeps VPP's current value.
    pub sticky_buckets_per_core: u32,
    /// Seconds; `u32::MAX` keeps VPP's current value.
    pub flow_timeout: u32,
}

/// What a pending call waits for, for timeouts and their messages.
#[derive(Debug, Clone, Copy)]
struct Wait {
    /// The message awaited (for errors and metrics).
    what: &'static str,
    context: u32,
    started: Instant,
    deadline: Instant,
}

impl Wait {
    fn new(what: &'static str, context: u32, timeout: Duration) -> Wait {
        let started = Instant::now();
        Wait { what, context, started, deadline: started + timeout }
    }
}

/// A pipelined request sent and not yet answered (see
/// [`Connection::send_request`]); give it to [`Connection::wait_ok`].
#[derive(Debug)]
#[must_use = "a pending request's answer must be collected with wait_ok"]
pub struct Pending {
    wait: Wait,
    reply_id: u16,
    /// The request's name, for the error of a non-zero retval.
    request: &'static str,
    /// Decodes the reply and returns its retval.
    retval_of: fn(&[u8]) -> Result<i32, crate::codec::DecodeError>,
}

impl Pending {
    pub fn context(&self) -> u32 {
        self.wait.context
    }
}

/// A connected, registered API client.
pub struct Connection {
    stream: UnixStream,
    rx: FrameBuffer,
    client_index: u32,
    last_context: u32,
    next_request_id: u64,
    ids: HashMap<String, u16>,
    names: HashMap<u16, String>,
    observer: Option<Arc<dyn ApiObserver>>,
    timeout: Duration,
    lb_flavor: LbFlavor,
    broken: Option<String>,
    /// Contexts of pipelined requests still awaited.
    in_flight: HashSet<u32>,
    /// Their answers that arrived while another message was awaited.
    early: HashMap<u32, (u16, Vec<u8>)>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("client_index", &format_args!("{:#x}", self.client_index))
            .field("messages", &self.ids.len())
            .field("lb_flavor", &self.lb_flavor)
            .field("broken", &self.broken)
            .finish()
    }
}

impl Connection {
    /// Connects to the API socket and registers as `opts.client_name`.
    pub fn connect(path: &Path, opts: &ConnectOptions) -> Result<Connection, ApiError> {
        let stream = UnixStream::connect(path)
            .map_err(|source| ApiError::Connect { path: path.to_path_buf(), source })?;
        Connection::handshake(stream, opts)
    }

    /// Registers over an already connected stream (tests, socket pairs).
    pub fn handshake(stream: UnixStream, opts: &ConnectOptions) -> Result<Connection, ApiError> {
        let mut conn = Connection {
            stream,
            rx: FrameBuffer::new(opts.max_payload),
            client_index: 0,
            last_context: 0,
            next_request_id: 1,
            ids: HashMap::new(),
            names: HashMap::new(),
            observer: None,
            timeout: opts.timeout,
            lb_flavor: LbFlavor::Legacy,
            broken: None,
            in_flight: HashSet::new(),
            early: HashMap::new(),
        };
        let context = conn.next_context();
        let req = SockclntCreate { context, name: opts.client_name.as_str().into() };
        let wait = Wait::new(SockclntCreateReply::NAME, context, opts.timeout);
        conn.send(&req, fixed_ids::SOCKCLNT_CREATE, wait.deadline)?;
        let reply: SockclntCreateReply = conn.wait_for(fixed_ids::SOCKCLNT_CREATE_REPLY, wait)?;
        if reply.response != 0 {
            return Err(ApiError::Handshake {
                reason: format!("sockclnt_create_reply.response = {}", reply.response),
            });
        }
        if reply.message_table.is_empty() {
            return Err(ApiError::Handshake { reason: "VPP sent an empty message table".into() });
        }
        conn.client_index = reply.index;
        for entry in reply.message_table {
            conn.names.insert(entry.index, entry.name.as_str().to_string());
            conn.ids.insert(entry.name.into_string(), entry.index);
        }
        conn.lb_flavor = LbFlavor::detect(|n| conn.ids.contains_key(n));
        debug!(
            "vpp-api-handshake client_index={:#x} messages={} lb_flavor={}",
            conn.client_index,
            conn.ids.len(),
            conn.lb_flavor
        );
        Ok(conn)
    }

    /// Installs the hook that sees every message (see [`ApiObserver`]).
    pub fn set_observer(&mut self, observer: Arc<dyn ApiObserver>) {
        self.observer = Some(observer);
    }

    /// Changes the timeout of the convenience methods.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The handle VPP gave this client (goes into every request).
    pub fn client_index(&self) -> u32 {
        self.client_index
    }

    /// VPP's message table: `name_crc` -> id.
    pub fn message_table(&self) -> &HashMap<String, u16> {
        &self.ids
    }

    pub fn msg_id(&self, name_crc: &str) -> Option<u16> {
        self.ids.get(name_crc).copied()
    }

    pub fn has_message(&self, name_crc: &str) -> bool {
        self.ids.contains_key(name_crc)
    }

    /// Which LB handler semantics this VPP has (from the table).
    pub fn lb_flavor(&self) -> LbFlavor {
        self.lb_flavor
    }

    /// True once the connection failed; every call then returns
    /// `Disconnected`.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Whether VPP has closed the socket, checked without blocking and
    /// without consuming anything (a restarted or killed VPP shows up as
    /// EOF long before the next request would time out).
    pub fn peer_closed(&mut self) -> bool {
        if self.broken.is_some() {
            return true;
        }
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd;
        let mut byte = [0u8; 1];
        match recv(self.stream.as_raw_fd(), &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e != nix::errno::Errno::EAGAIN && e != nix::errno::Errno::EINTR,
        }
    }

    /// Checks that every `name_crc` is in VPP's table; the error names each
    /// one that is missing or present with another CRC.
    pub fn check(&self, needed: &[&str]) -> Result<(), ApiError> {
        let problems: Vec<MessageProblem> = needed.iter().filter_map(|n| self.problem_with(n)).collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Incompatible { problems })
        }
    }

    fn problem_with(&self, name_crc: &str) -> Option<MessageProblem> {
        if self.ids.contains_key(name_crc) {
            return None;
        }
        // The CRC is the last 8 hex digits after the final underscore.
        let name = name_crc.rsplit_once('_').map_or(name_crc, |(n, _)| n);
        let mut vpp_has: Vec<String> = self
            .ids
            .keys()
            .filter(|k| k.rsplit_once('_').is_some_and(|(n, crc)| n == name && crc.len() == 8))
            .cloned()
            .collect();
        vpp_has.sort();
        Some(if vpp_has.is_empty() {
            MessageProblem::Missing { name_crc: name_crc.to_string() }
        } else {
            MessageProblem::CrcChanged { name_crc: name_crc.to_string(), vpp_has }
        })
    }

    /// Sends `req` and waits for its reply (matched by context). A non-zero
    /// retval is returned as it is; see [`Connection::request_ok`].
    pub fn request<Req>(&mut self, req: Req, timeout: Duration) -> Result<Req::Reply, ApiError>
    where
        Req: Request,
        Req::Reply: HasRetval,
    {
        let (reply_id, wait) = self.send_with_context(req, timeout)?;
        self.wait_for(reply_id, wait)
    }

    /// Stamps `req` with our client index and a fresh context and sends it;
    /// gives the reply's message id and the wait for it.
    fn send_with_context<Req>(&mut self, mut req: Req, timeout: Duration) -> Result<(u16, Wait), ApiError>
    where
        Req: Request,
        Req::Reply: HasRetval,
    {
        let req_id = self.id_of::<Req>()?;
        let reply_id = self.id_of::<Req::Reply>()?;
        let context = self.next_context();
        let wait = Wait::new(Req::Reply::NAME, context, timeout);
        req.set_client_index(self.client_index);
        req.set_context(context);
        self.send(&req, req_id, wait.deadline)?;
        Ok((reply_id, wait))
    }

    /// Sends `req` without waiting for its reply: several can be in flight
    /// (VPP runs them in the order sent). Collect each with
    /// [`Connection::wait_ok`]; `timeout` counts from now.
    pub fn send_request<Req>(&mut self, req: Req, timeout: Duration) -> Result<Pending, ApiError>
    where
        Req: Request,
        Req::Reply: HasRetval,
    {
        let (reply_id, wait) = self.send_with_context(req, timeout)?;
        self.in_flight.insert(wait.context);
        Ok(Pending {
            wait,
            reply_id,
            request: Req::NAME,
            retval_of: |payload| Req::Reply::decode(payload).map(|r| r.retval()),
        })
    }

    /// Waits for the answer to a pipelined request; a non-zero retval is an
    /// error. Answers to other pending requests that arrive first are kept.
    pub fn wait_ok(&mut self, pending: Pending) -> Result<(), ApiError> {
        let context = pending.wait.context;
        let result = self.wait_pending(&pending);
        self.in_flight.remove(&context);
        self.early.remove(&context);
        match result? {
            0 => Ok(()),
            retval => Err(ApiError::Retval { msg: pending.request, retval }),
        }
    }

    fn wait_pending(&mut self, p: &Pending) -> Result<i32, ApiError> {
        let context = p.wait.context;
        loop {
            let (id, payload) = match self.early.remove(&context) {
                Some(m) => m,
                None => self.next_message(p.wait)?,
            };
            let ours = peek_reply_context(&payload).ok() == Some(context);
            if id == p.reply_id && ours {
                return match (p.retval_of)(&payload) {
                    Ok(retval) => {
                        self.log_recv(p.wait.what, context, retval);
                        Ok(retval)
                    }
                    Err(source) => {
                        self.observe(p.wait.what, Direction::Recv, "decode_error");
                        Err(ApiError::Decode { msg: p.wait.what, source })
                    }
                };
            }
            self.keep_or_drop(id, payload);
        }
    }

    /// Keeps a message that answers another pending request; drops the rest.
    fn keep_or_drop(&mut self, id: u16, payload: Vec<u8>) {
        match peek_reply_context(&payload) {
            Ok(c) if self.in_flight.contains(&c) => {
                self.early.insert(c, (id, payload));
            }
            _ => self.drop_unsolicited(id, &payload),
        }
    }

    /// Like [`Connection::request`], but a non-zero retval is an error.
    pub fn request_ok<Req>(&mut self, req: Req, timeout: Duration) -> Result<Req::Reply, ApiError>
    where
        Req: Request,
        Req::Reply: HasRetval,
    {
        let reply = self.request(req, timeout)?;
        match reply.retval() {
            0 => Ok(reply),
            retval => Err(ApiError::Retval { msg: Req::NAME, retval }),
        }
    }

    /// Sends a dump request followed by a `control_ping` with the same
    /// context, and collects the details until the ping's reply: VPP
    /// handles one client's messages in order, so the ping reply comes after
    /// the last details message.
    pub fn dump<Req: Dump>(
        &mut self,
        mut req: Req,
        timeout: Duration,
    ) -> Result<Vec<Req::Details>, ApiError> {
        let req_id = self.id_of::<Req>()?;
        let details_id = self.id_of::<Req::Details>()?;
        let ping_id = self.id_or(ControlPing::NAME_CRC, fixed_ids::CONTROL_PING);
        let ping_reply_id = self.id_or(ControlPingReply::NAME_CRC, fixed_ids::CONTROL_PING_REPLY);
        let context = self.next_context();
        let wait = Wait::new(ControlPingReply::NAME, context, timeout);
        req.set_client_index(self.client_index);
        req.set_context(context);
        self.send(&req, req_id, wait.deadline)?;
        let ping = ControlPing { client_index: self.client_index, context };
        self.send(&ping, ping_id, wait.deadline)?;
        let mut out = Vec::new();
        loop {
            let (id, payload) = self.next_message(wait)?;
            if id == details_id && peek_reply_context(&payload).ok() == Some(context) {
                let details = self.decode_reply::<Req::Details>(&payload)?;
                debug!("vpp-api-recv msg={} context={}", Req::Details::NAME, context);
                self.observe(Req::Details::NAME, Direction::Recv, "ok");
                out.push(details);
            } else if id == ping_reply_id && peek_reply_context(&payload).ok() == Some(context) {
                let reply = self.decode_reply::<ControlPingReply>(&payload)?;
                self.log_recv(ControlPingReply::NAME, context, reply.retval);
                debug!("vpp-api-dump msg={} context={} count={}", Req::NAME, context, out.len());
                return Ok(out);
            } else {
                self.keep_or_drop(id, payload);
            }
        }
    }

    /// Deregisters (`sockclnt_delete`) and closes the socket. VPP answers
    /// `response = 1` and closes its side.
    pub fn close(mut self) -> Result<(), ApiError> {
        if let Some(reason) = &self.broken {
            return Err(ApiError::Disconnected { reason: reason.clone() });
        }
        let id = self.id_or(SockclntDelete::NAME_CRC, fixed_ids::SOCKCLNT_DELETE);
        let reply_id = self.id_or(SockclntDeleteReply::NAME_CRC, fixed_ids::SOCKCLNT_DELETE_REPLY);
        let context = self.next_context();
        let wait = Wait::new(SockclntDeleteReply::NAME, context, self.timeout.min(Duration::from_secs(1)));
        let req = SockclntDelete { client_index: self.client_index, context, index: self.client_index };
        self.send(&req, id, wait.deadline)?;
        let reply: SockclntDeleteReply = self.wait_for(reply_id, wait)?;
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        if reply.response == 1 {
            Ok(())
        } else {
            Err(ApiError::Retval { msg: SockclntDelete::NAME, retval: reply.response })
        }
    }

    // ---- typed calls used by maglevd -------------------------------------

    pub fn show_version(&mut self) -> Result<VppVersion, ApiError> {
        let r = self.request_ok(ShowVersion::default(), self.timeout)?;
        Ok(VppVersion {
            program: r.program.into_string(),
            version: r.version.into_string(),
            build_date: r.build_date.into_string(),
            build_directory: r.build_directory.into_string(),
        })
    }

    /// Liveness check; returns VPP's process id.
    pub fn control_ping(&mut self) -> Result<u32, ApiError> {
        Ok(self.request_ok(ControlPing::default(), self.timeout)?.vpe_pid)
    }

    /// Runs a CLI command and returns its output. (VPP reports CLI errors in
    /// the text, with retval 0.)
    pub fn cli_inband(&mut self, cmd: &str) -> Result<String, ApiError> {
        let req = CliInband { cmd: cmd.to_string(), ..Default::default() };
        Ok(self.request_ok(req, self.timeout)?.reply)
    }

    pub fn lb_conf(&mut self, conf: &LbGlobalConf) -> Result<(), ApiError> {
        let req = LbConf {
            ip4_src_address: conf.ip4_src_address.into(),
            ip6_src_address: conf.ip6_src_address.into(),
            sticky_buckets_per_core: conf.sticky_buckets_per_core,
            flow_timeout: conf.flow_timeout,
            ..Default::default()
        };
        self.request_ok(req, self.timeout).map(drop)
    }

    /// Master only.
    pub fn lb_conf_get(&mut self) -> Result<LbGlobalConf, ApiError> {
        let r = self.request_ok(LbConfGet::default(), self.timeout)?;
        Ok(LbGlobalConf {
            ip4_src_address: r.ip4_src_address.into(),
            ip6_src_address: r.ip6_src_address.into(),
            sticky_buckets_per_core: r.sticky_buckets_per_core,
            flow_timeout: r.flow_timeout,
        })
    }

    /// Adds or deletes a VIP, encoded for this VPP's flavor.
    pub fn lb_add_del_vip_v2(
        &mut self,
        vip: &VipKey,
        settings: &VipSettings,
        is_del: bool,
    ) -> Result<(), ApiError> {
        let req = self.lb_add_del_vip_v2_msg(vip, settings, is_del);
        self.request_ok(req, self.timeout).map(drop)
    }

    /// The `lb_add_del_vip_v2` message for this VPP's flavor (to pipeline).
    pub fn lb_add_del_vip_v2_msg(&self, vip: &VipKey, settings: &VipSettings, is_del: bool) -> LbAddDelVipV2 {
        let flavor = self.lb_flavor;
        LbAddDelVipV2 {
            pfx: flavor.vip_prefix(vip),
            protocol: vip.protocol,
            port: vip.port,
            encap: flavor.encap_to_wire(settings.encap),
            dscp: settings.dscp,
            srv_type: srv_type_to_wire(LbSrvType::ClusterIp),
            target_port: 0,
            node_port: 0,
            new_flows_table_length: settings.new_flows_table_length,
            src_ip_sticky: settings.src_ip_sticky,
            is_del,
            ..Default::default()
        }
    }

    /// Adds (with a weight) or deletes an AS of a VIP. Master only.
    pub fn lb_add_del_as_v2(
        &mut self,
        vip: &VipKey,
        address: IpAddr,
        weight: u8,
        is_del: bool,
        is_flush: bool,
    ) -> Result<(), ApiError> {
        let req = self.lb_add_del_as_v2_msg(vip, address, weight, is_del, is_flush);
        self.request_ok(req, self.timeout).map(drop)
    }

    /// The `lb_add_del_as_v2` message (to pipeline).
    pub fn lb_add_del_as_v2_msg(
        &self,
        vip: &VipKey,
        address: IpAddr,
        weight: u8,
        is_del: bool,
        is_flush: bool,
    ) -> LbAddDelAsV2 {
        LbAddDelAsV2 {
            pfx: self.lb_flavor.vip_prefix(vip),
            protocol: vip.protocol,
            port: vip.port,
            as_address: Address::from_ip(address),
            weight,
            is_del,
            is_flush,
            ..Default::default()
        }
    }

    /// Changes an in-use AS's weight (0 drains it). Master only.
    pub fn lb_as_set_weight(
        &mut self,
        vip: &VipKey,
        address: IpAddr,
        weight: u8,
        is_flush: bool,
    ) -> Result<(), ApiError> {
        let req = self.lb_as_set_weight_msg(vip, address, weight, is_flush);
        self.request_ok(req, self.timeout).map(drop)
    }

    /// The `lb_as_set_weight` message (to pipeline).
    pub fn lb_as_set_weight_msg(
        &self,
        vip: &VipKey,
        address: IpAddr,
        weight: u8,
        is_flush: bool,
    ) -> LbAsSetWeight {
        LbAsSetWeight {
            pfx: self.lb_flavor.vip_prefix(vip),
            protocol: vip.protocol,
            port: vip.port,
            as_address: Address::from_ip(address),
            weight,
            is_flush,
            ..Default::default()
        }
    }

    /// Evicts a VIP's sticky flow-table entries.
    pub fn lb_flush_vip(&mut self, vip: &VipKey) -> Result<(), ApiError> {
        let req = LbFlushVip {
            pfx: self.lb_flavor.vip_prefix(vip),
            protocol: vip.protocol,
            port: vip.port,
            ..Default::default()
        };
        self.request_ok(req, self.timeout).map(drop)
    }

    /// Every VIP (VPP ignores the dump's filter).
    pub fn lb_vip_dump(&mut self) -> Result<Vec<LbVipEntry>, ApiError> {
        let req = LbVipDump {
            pfx_matcher: PrefixMatcher { le: 255, ge: 255 },
            protocol: 255,
            ..Default::default()
        };
        let flavor = self.lb_flavor;
        Ok(self.dump(req, self.timeout)?.iter().map(|d| flavor.vip_from_details(d)).collect())
    }

    /// Every AS of every VIP (an all-zero prefix); filter on the client.
    /// Master only.
    pub fn lb_as_v2_dump(&mut self) -> Result<Vec<LbAsEntry>, ApiError> {
        let flavor = self.lb_flavor;
        Ok(self
            .dump(LbAsV2Dump::default(), self.timeout)?
            .iter()
            .map(|d| flavor.as_from_details(d))
            .collect())
    }

    /// `show lb vips verbose`, parsed (VIP indexes, src_ip_sticky, buckets).
    pub fn lb_vips_verbose(&mut self) -> Result<Vec<VipCliInfo>, ApiError> {
        Ok(parse_lb_vips_verbose(&self.cli_inband(SHOW_LB_VIPS_VERBOSE)?))
    }

    /// Looks a route up; `Err(Retval { retval: -6, .. })` when absent.
    pub fn ip_route_lookup(
        &mut self,
        table_id: u32,
        prefix: IpAddr,
        len: u8,
        exact: bool,
    ) -> Result<IpRoute, ApiError> {
        let req = IpRouteLookup {
            table_id,
            exact: u8::from(exact),
            prefix: Prefix::new(prefix, len),
            ..Default::default()
        };
        Ok(self.request_ok(req, self.timeout)?.route)
    }

    // ---- plumbing --------------------------------------------------------

    /// Contexts are non-zero (0 means "unsolicited" to VPP's clients) and
    /// increase, wrapping past zero.
    fn next_context(&mut self) -> u32 {
        self.last_context = self.last_context.wrapping_add(1);
        if self.last_context == 0 {
            self.last_context = 1;
        }
        self.last_context
    }

    fn id_of<M: Message>(&self) -> Result<u16, ApiError> {
        self.msg_id(M::NAME_CRC).ok_or(ApiError::UnknownMessage { name_crc: M::NAME_CRC })
    }

    /// For memclnt messages, whose ids are fixed in every VPP.
    fn id_or(&self, name_crc: &str, fixed: u16) -> u16 {
        self.msg_id(name_crc).unwrap_or(fixed)
    }

    fn observe(&self, msg: &str, direction: Direction, result: &str) {
        if let Some(o) = &self.observer {
            o.on_message(msg, direction, result);
        }
    }

    fn log_recv(&self, name: &'static str, context: u32, retval: i32) {
        debug!("vpp-api-recv msg={name} context={context} retval={retval}");
        self.observe(name, Direction::Recv, if retval == 0 { "ok" } else { "error" });
    }

    fn fail(&mut self, reason: String) -> ApiError {
        self.broken = Some(reason.clone());
        ApiError::Disconnected { reason }
    }

    fn send<M: Message>(&mut self, msg: &M, id: u16, deadline: Instant) -> Result<(), ApiError> {
        if let Some(reason) = &self.broken {
            return Err(ApiError::Disconnected { reason: reason.clone() });
        }
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        let bytes = frame::encode_frame(&msg.encode_to_vec(id));
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let result =
            self.stream.set_write_timeout(Some(remaining)).and_then(|()| self.stream.write_all(&bytes));
        match result {
            Ok(()) => {
                debug!("vpp-api-send msg={} context={} request={}", M::NAME, msg.context(), request_id);
                self.observe(M::NAME, Direction::Send, "ok");
                Ok(())
            }
            Err(e) => {
                self.observe(M::NAME, Direction::Send, "disconnected");
                // A partial write leaves the stream unusable.
                Err(self.fail(format!("sending {} failed: {e}", M::NAME)))
            }
        }
    }

    fn decode_reply<M: Message>(&mut self, payload: &[u8]) -> Result<M, ApiError> {
        M::decode(payload).map_err(|source| {
            self.observe(M::NAME, Direction::Recv, "decode_error");
            ApiError::Decode { msg: M::NAME, source }
        })
    }

    /// Waits for the reply `id` with the wait's context, dropping
    /// everything else.
    fn wait_for<M: Message + MaybeRetval>(&mut self, id: u16, wait: Wait) -> Result<M, ApiError> {
        loop {
            let (got, payload) = self.next_message(wait)?;
            // Decode before matching: the handshake reply has its context
            // after a client_index, unlike other replies.
            if got == id {
                match M::decode(&payload) {
                    Ok(reply) if reply.context() == wait.context => {
                        self.log_recv(M::NAME, wait.context, reply.maybe_retval().unwrap_or(0));
                        return Ok(reply);
                    }
                    Ok(_) => {}
                    // Only an undecodable answer to this very request is an
                    // error; other garbage is dropped like any stray.
                    Err(source) if Self::might_be_ours(&payload, wait.context) => {
                        self.observe(M::NAME, Direction::Recv, "decode_error");
                        return Err(ApiError::Decode { msg: M::NAME, source });
                    }
                    Err(_) => {}
                }
            }
            self.keep_or_drop(got, payload);
        }
    }

    /// Whether an undecodable payload carries our context where replies
    /// usually have it (or is too short to tell).
    fn might_be_ours(payload: &[u8], context: u32) -> bool {
        let at_2 = peek_reply_context(payload).ok();
        let at_6 = payload.get(6..10).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        at_2.is_none() || at_2 == Some(context) || at_6 == Some(context)
    }

    /// The next message that is not a keepalive (those are answered here).
    fn next_message(&mut self, wait: Wait) -> Result<(u16, Vec<u8>), ApiError> {
        loop {
            let payload = self.read_payload(wait)?;
            let Ok(id) = peek_msg_id(&payload) else {
                debug!("vpp-api-drop reason=empty-payload");
                continue;
            };
            if id == self.id_or(MemclntKeepalive::NAME_CRC, fixed_ids::MEMCLNT_KEEPALIVE) {
                self.answer_keepalive(&payload, wait.deadline)?;
                continue;
            }
            return Ok((id, payload));
        }
    }

    fn answer_keepalive(&mut self, payload: &[u8], deadline: Instant) -> Result<(), ApiError> {
        let Ok(ka) = MemclntKeepalive::decode(payload) else {
            debug!("vpp-api-drop msg=memclnt_keepalive reason=malformed");
            return Ok(());
        };
        debug!("vpp-api-recv msg=memclnt_keepalive context={}", ka.context);
        self.observe(MemclntKeepalive::NAME, Direction::Recv, "ok");
        // VPP keeps the client handle in the keepalive's context and finds
        // the registration by the reply's context.
        let reply = MemclntKeepaliveReply { context: ka.context, retval: 0 };
        let id = self.id_or(MemclntKeepaliveReply::NAME_CRC, fixed_ids::MEMCLNT_KEEPALIVE_REPLY);
        self.send(&reply, id, deadline.max(Instant::now() + Duration::from_millis(100)))
    }

    fn drop_unsolicited(&self, id: u16, payload: &[u8]) {
        let name = self.names.get(&id).map_or("unknown", String::as_str);
        let context = peek_reply_context(payload).unwrap_or(0);
        debug!("vpp-api-drop msg={name} id={id} context={context} reason=unsolicited");
    }

    /// The next complete payload. Partial frames stay buffered across a
    /// timeout, so a late reply is read (and dropped) whole.
    fn read_payload(&mut self, wait: Wait) -> Result<Vec<u8>, ApiError> {
        if let Some(reason) = &self.broken {
            return Err(ApiError::Disconnected { reason: reason.clone() });
        }
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.rx.next_frame() {
                Ok(Some(p)) => return Ok(p),
                Ok(None) => {}
                Err(e) => {
                    self.observe(wait.what, Direction::Recv, "decode_error");
                    return Err(self.fail(e.to_string()));
                }
            }
            let now = Instant::now();
            if now >= wait.deadline {
                return Err(self.timed_out(wait));
            }
            if let Err(e) = self.stream.set_read_timeout(Some(wait.deadline - now)) {
                return Err(self.fail(format!("cannot set read timeout: {e}")));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.observe(wait.what, Direction::Recv, "disconnected");
                    let partial = if self.rx.pending() > 0 { " in the middle of a message" } else { "" };
                    return Err(self.fail(format!("VPP closed the API socket{partial}")));
                }
                Ok(n) => self.rx.push(&chunk[..n]),
                // The loop's deadline check decides; the socket timer may
                // fire a little early.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    self.observe(wait.what, Direction::Recv, "disconnected");
                    return Err(self.fail(format!("reading from VPP failed: {e}")));
                }
            }
        }
    }

    fn timed_out(&self, wait: Wait) -> ApiError {
        debug!("vpp-api-timeout msg={} context={}", wait.what, wait.context);
        self.observe(wait.what, Direction::Recv, "timeout");
        ApiError::Timeout { msg: wait.what, context: wait.context, waited: wait.started.elapsed() }
    }
}

/// The retval of a reply, for logging; messages without one (the handshake
/// reply, `sockclnt_delete_reply`) report their `response` where it means
/// the same.
trait MaybeRetval {
    fn maybe_retval(&self) -> Option<i32>;
}

impl<T: HasRetval> MaybeRetval for T {
    fn maybe_retval(&self) -> Option<i32> {
        Some(self.retval())
    }
}

impl MaybeRetval for SockclntCreateReply {
    fn maybe_retval(&self) -> Option<i32> {
        Some(self.response)
    }
}

impl MaybeRetval for SockclntDeleteReply {
    /// Success is `response = 1` here.
    fn maybe_retval(&self) -> Option<i32> {
        Some(if self.response == 1 { 0 } else { self.response })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{
        find_message, LbAddDelVipV2Reply, LbAsV2Details, LbConfGetReply, LbVipDetails, ShowVersionReply,
        ALL_MESSAGES,
    };
    use crate::types::{ip_proto, LbEncapType, LbVip, MessageTableEntry};
    use parking_lot::Mutex;
    use std::thread;

    const HANDLE: u32 = 0x8000_0001;

    /// The VPP side of a socket pair, driven step by step by each test.
    struct FakeVpp {
        stream: UnixStream,
        rx: FrameBuffer,
        ids: HashMap<String, u16>,
    }

    impl FakeVpp {
        fn id(&self, name_crc: &str) -> u16 {
            *self.ids.get(name_crc).unwrap_or_else(|| panic!("{name_crc} not in the fake table"))
        }

        fn recv(&mut self) -> (u16, Vec<u8>) {
            self.stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut chunk = [0u8; 4096];
            loop {
                if let Some(p) = self.rx.next_frame().unwrap() {
                    return (peek_msg_id(&p).unwrap(), p);
                }
                let n = self.stream.read(&mut chunk).expect("fake VPP: client sent nothing within 10 s");
                assert!(n > 0, "fake VPP: client closed the socket");
                self.rx.push(&chunk[..n]);
            }
        }

        fn recv_as<M: Message>(&mut self) -> M {
            let (id, p) = self.recv();
            assert_eq!(id, self.id(M::NAME_CRC), "fake VPP expected {}", M::NAME);
            M::decode(&p).unwrap()
        }

        fn send<M: Message>(&mut self, m: &M) {
            let id = self.id(M::NAME_CRC);
            self.stream.write_all(&frame::encode_frame(&m.encode_to_vec(id))).unwrap();
        }

        fn handshake(&mut self) -> SockclntCreate {
            let (id, p) = self.recv();
            assert_eq!(id, fixed_ids::SOCKCLNT_CREATE);
            let req = SockclntCreate::decode(&p).unwrap();
            let mut table: Vec<MessageTableEntry> = self
                .ids
                .iter()
                .map(|(n, i)| MessageTableEntry { index: *i, name: n.as_str().into() })
                .collect();
            table.sort_by_key(|e| e.index);
            let reply = SockclntCreateReply {
                client_index: 0,
                context: req.context,
                response: 0,
                index: HANDLE,
                message_table: table,
            };
            self.send(&reply);
            req
        }
    }

    /// Every known message, memclnt ones at their fixed ids, the rest from
    /// 100 on; `drop` removes names, `extra` adds entries.
    fn table(drop: &[&str], extra: &[(&str, u16)]) -> HashMap<String, u16> {
        let fixed: HashMap<&str, u16> = [
            (SockclntCreate::NAME_CRC, fixed_ids::SOCKCLNT_CREATE),
            (SockclntCreateReply::NAME_CRC, fixed_ids::SOCKCLNT_CREATE_REPLY),
            (SockclntDelete::NAME_CRC, fixed_ids::SOCKCLNT_DELETE),
            (SockclntDeleteReply::NAME_CRC, fixed_ids::SOCKCLNT_DELETE_REPLY),
            (MemclntKeepalive::NAME_CRC, fixed_ids::MEMCLNT_KEEPALIVE),
            (MemclntKeepaliveReply::NAME_CRC, fixed_ids::MEMCLNT_KEEPALIVE_REPLY),
            (ControlPing::NAME_CRC, fixed_ids::CONTROL_PING),
            (ControlPingReply::NAME_CRC, fixed_ids::CONTROL_PING_REPLY),
        ]
        .into_iter()
        .collect();
        let mut t = HashMap::new();
        for (i, m) in ALL_MESSAGES.iter().enumerate() {
            if drop.contains(&m.name_crc) {
                continue;
            }
            let id = fixed.get(m.name_crc).copied().unwrap_or(100 + i as u16);
            t.insert(m.name_crc.to_string(), id);
        }
        for (n, id) in extra {
            t.insert(n.to_string(), *id);
        }
        t
    }

    fn opts(timeout: Duration) -> ConnectOptions {
        ConnectOptions { timeout, ..ConnectOptions::default() }
    }

    /// Runs `vpp` as the server on one end of a socket pair and connects
    /// the client on the other.
    fn start(
        ids: HashMap<String, u16>,
        timeout: Duration,
        vpp: impl FnOnce(&mut FakeVpp) + Send + 'static,
    ) -> (Result<Connection, ApiError>, thread::JoinHandle<()>) {
        let (client, server) = UnixStream::pair().unwrap();
        let handle = thread::spawn(move || {
            let mut fake = FakeVpp { stream: server, rx: FrameBuffer::new(1 << 20), ids };
            vpp(&mut fake);
        });
        (Connection::handshake(client, &opts(timeout)), handle)
    }

    #[test]
    fn handshake_registers_and_reads_the_table() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            let req = vpp.handshake();
            assert_eq!(req.name.as_str(), "vpp-maglev");
            assert_ne!(req.context, 0, "context must be non-zero");
        });
        let conn = conn.unwrap();
        server.join().unwrap();
        assert_eq!(conn.client_index(), HANDLE);
        assert_eq!(conn.message_table().len(), ALL_MESSAGES.len());
        assert_eq!(conn.msg_id(ControlPing::NAME_CRC), Some(fixed_ids::CONTROL_PING));
        assert_eq!(conn.lb_flavor(), LbFlavor::Master);
        conn.check(crate::lb::MASTER_MESSAGES).unwrap();
    }

    #[test]
    fn check_names_missing_and_changed_messages() {
        let ids = table(
            &[LbAddDelAsV2::NAME_CRC, LbConfGet::NAME_CRC, LbConfGetReply::NAME_CRC],
            &[("lb_add_del_as_v2_1234abcd", 900)],
        );
        let (conn, server) = start(ids, Duration::from_secs(5), |vpp| {
            vpp.handshake();
        });
        let conn = conn.unwrap();
        server.join().unwrap();
        assert_eq!(conn.lb_flavor(), LbFlavor::Legacy);
        let err = conn.check(crate::lb::MASTER_MESSAGES).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "lb_add_del_as_v2_2f1d3b0e: VPP has lb_add_del_as_v2_1234abcd (definition changed)"
            ),
            "{text}"
        );
        assert!(
            text.contains("lb_conf_get_51077d14: not in VPP's message table (plugin not loaded or too old)"),
            "{text}"
        );
        match err {
            ApiError::Incompatible { problems } => assert_eq!(problems.len(), 3, "{problems:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn pipelined_requests_go_out_in_order_and_answers_match_by_context() {
        let k = VipKey::host("192.0.2.1".parse().unwrap(), 6, 80);
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), move |vpp| {
            vpp.handshake();
            // All three arrive before any answer, in the order sent.
            let a: LbAsSetWeight = vpp.recv_as();
            let b: LbAsSetWeight = vpp.recv_as();
            let c: LbAddDelAsV2 = vpp.recv_as();
            assert_eq!((a.weight, b.weight, c.weight), (10, 20, 30));
            assert!(a.context < b.context && b.context < c.context);
            // Answered out of order, with a stray in between.
            vpp.send(&crate::messages::LbAddDelAsV2Reply { context: c.context, retval: 0 });
            vpp.send(&ShowVersionReply { context: 999, ..Default::default() });
            vpp.send(&crate::messages::LbAsSetWeightReply { context: b.context, retval: -2 });
            vpp.send(&crate::messages::LbAsSetWeightReply { context: a.context, retval: 0 });
        });
        let mut conn = conn.unwrap();
        let t = Duration::from_secs(5);
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let pa = conn.send_request(conn.lb_as_set_weight_msg(&k, ip("10.0.0.1"), 10, false), t).unwrap();
        let pb = conn.send_request(conn.lb_as_set_weight_msg(&k, ip("10.0.0.2"), 20, false), t).unwrap();
        let pc =
            conn.send_request(conn.lb_add_del_as_v2_msg(&k, ip("10.0.0.3"), 30, false, false), t).unwrap();
        conn.wait_ok(pa).unwrap();
        let err = conn.wait_ok(pb).unwrap_err();
        assert_eq!(err.retval(), Some(-2), "{err}");
        conn.wait_ok(pc).unwrap();
        server.join().unwrap();
        assert!(conn.in_flight.is_empty() && conn.early.is_empty());
    }

    #[test]
    fn request_skips_strays_answers_keepalive_and_matches_context() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let req: ShowVersion = vpp.recv_as();
            assert_eq!(req.client_index, HANDLE);
            assert_ne!(req.context, 0);
            // A keepalive, a reply for another context, an unknown id and an
            // empty payload arrive before the real reply.
            vpp.send(&MemclntKeepalive { client_index: 0, context: 0x1234_5678 });
            vpp.send(&ShowVersionReply { context: req.context + 100, ..Default::default() });
            vpp.stream.write_all(&frame::encode_frame(&[0x7f, 0xff, 0, 0, 0, 0])).unwrap();
            vpp.stream.write_all(&frame::encode_frame(&[])).unwrap();
            vpp.send(&ShowVersionReply {
                context: req.context,
                retval: 0,
                program: "vpe".into(),
                version: "26.10-rc0~374-gb575ec2c56d".into(),
                build_date: "today".into(),
                build_directory: "/build".into(),
            });
            let ka: MemclntKeepaliveReply = vpp.recv_as();
            assert_eq!(ka.context, 0x1234_5678);
            assert_eq!(ka.retval, 0);
        });
        let mut conn = conn.unwrap();
        let v = conn.show_version().unwrap();
        assert_eq!(v.program, "vpe");
        assert_eq!(v.version, "26.10-rc0~374-gb575ec2c56d");
        server.join().unwrap();
    }

    #[test]
    fn malformed_reply_is_an_error_only_for_its_own_context() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let req: ShowVersion = vpp.recv_as();
            let id = vpp.id(ShowVersionReply::NAME_CRC);
            for ctx in [req.context + 50, req.context] {
                let full = ShowVersionReply { context: ctx, ..Default::default() }.encode_to_vec(id);
                vpp.stream.write_all(&frame::encode_frame(&full[..20])).unwrap();
            }
        });
        let mut conn = conn.unwrap();
        let err = conn.show_version().unwrap_err();
        server.join().unwrap();
        assert!(matches!(err, ApiError::Decode { msg: "show_version_reply", .. }), "{err:?}");
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn contexts_increase_and_are_never_zero() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let mut last = 0;
            for _ in 0..3 {
                let req: ControlPing = vpp.recv_as();
                assert!(req.context > last, "context {} after {last}", req.context);
                last = req.context;
                vpp.send(&ControlPingReply {
                    context: req.context,
                    retval: 0,
                    client_index: HANDLE,
                    vpe_pid: 4242,
                });
            }
        });
        let mut conn = conn.unwrap();
        for _ in 0..3 {
            assert_eq!(conn.control_ping().unwrap(), 4242);
        }
        server.join().unwrap();
        conn.last_context = u32::MAX;
        assert_eq!(conn.next_context(), 1);
    }

    #[test]
    fn dump_collects_details_until_the_ping_reply() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let dump: LbAsV2Dump = vpp.recv_as();
            let ping: ControlPing = vpp.recv_as();
            assert_eq!(ping.context, dump.context, "ping carries the dump's context");
            assert_eq!(ping.client_index, HANDLE);
            assert_eq!(dump.pfx.address.un, [0u8; 16], "dump all: zero prefix");
            let vip = LbVip { pfx: Prefix::new("192.0.2.1".parse().unwrap(), 32), protocol: 6, port: 80 };
            for (i, w) in [(2u8, 100u8), (3, 0)] {
                vpp.send(&LbAsV2Details {
                    context: dump.context,
                    vip,
                    app_srv: Address::from_ip(IpAddr::from([10, 0, 0, i])),
                    flags: 1,
                    in_use_since: 0,
                    weight: w,
                    num_buckets: if w == 0 { 0 } else { 1024 },
                });
            }
            vpp.send(&ControlPingReply {
                context: ping.context,
                retval: 0,
                client_index: HANDLE,
                vpe_pid: 1,
            });
            // An empty dump: just the ping reply.
            let dump: LbVipDump = vpp.recv_as();
            let ping: ControlPing = vpp.recv_as();
            assert_eq!((dump.protocol, dump.pfx_matcher.le), (255, 255));
            vpp.send(&ControlPingReply {
                context: ping.context,
                retval: 0,
                client_index: HANDLE,
                vpe_pid: 1,
            });
        });
        let mut conn = conn.unwrap();
        let ases = conn.lb_as_v2_dump().unwrap();
        assert_eq!(ases.len(), 2);
        assert_eq!(ases[0].address.to_string(), "10.0.0.2");
        assert_eq!((ases[1].weight, ases[1].num_buckets), (0, 0));
        assert_eq!(ases[0].vip, VipKey::host("192.0.2.1".parse().unwrap(), ip_proto::TCP, 80));
        assert!(conn.lb_vip_dump().unwrap().is_empty());
        server.join().unwrap();
    }

    #[test]
    fn timeout_then_late_reply_is_dropped() {
        let (conn, server) = start(table(&[], &[]), Duration::from_millis(300), |vpp| {
            vpp.handshake();
            let first: ControlPing = vpp.recv_as();
            // No answer: the client times out and sends a second ping.
            let second: ControlPing = vpp.recv_as();
            assert_ne!(first.context, second.context);
            vpp.send(&ControlPingReply {
                context: first.context,
                retval: 0,
                client_index: HANDLE,
                vpe_pid: 1,
            });
            vpp.send(&ControlPingReply {
                context: second.context,
                retval: 0,
                client_index: HANDLE,
                vpe_pid: 2,
            });
        });
        let mut conn = conn.unwrap();
        let start = Instant::now();
        let err = conn.control_ping().unwrap_err();
        assert!(matches!(err, ApiError::Timeout { msg: "control_ping_reply", .. }), "{err:?}");
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert!(!conn.is_broken(), "a timeout keeps the connection usable");
        assert_eq!(conn.control_ping().unwrap(), 2, "the late reply to the first ping must be skipped");
        server.join().unwrap();
    }

    #[test]
    fn eof_is_disconnected_and_sticky() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let _: ControlPing = vpp.recv_as();
            // Dropping the stream closes VPP's side.
        });
        let mut conn = conn.unwrap();
        let err = conn.control_ping().unwrap_err();
        server.join().unwrap();
        assert!(err.is_disconnect(), "{err:?}");
        assert!(conn.is_broken());
        assert!(conn.control_ping().unwrap_err().is_disconnect());
    }

    #[test]
    fn peer_closed_sees_eof_without_blocking() {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), move |vpp| {
            vpp.handshake();
            // Stay connected until the client has looked once.
            let _ = done_rx.recv();
        });
        let mut conn = conn.unwrap();
        assert!(!conn.peer_closed(), "VPP is still connected");
        done_tx.send(()).unwrap();
        server.join().unwrap();
        assert!(conn.peer_closed(), "VPP closed its side");
    }

    #[test]
    fn handshake_eof_and_silence_are_errors() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            let _ = vpp.recv();
        });
        server.join().unwrap();
        assert!(conn.unwrap_err().is_disconnect());
        let (client, _server) = UnixStream::pair().unwrap();
        let err = Connection::handshake(client, &opts(Duration::from_millis(100))).unwrap_err();
        assert!(matches!(err, ApiError::Timeout { msg: "sockclnt_create_reply", .. }), "{err:?}");
    }

    #[test]
    fn oversized_frame_breaks_the_connection() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let _: ControlPing = vpp.recv_as();
            vpp.stream.write_all(&frame::header(u32::MAX)).unwrap();
        });
        let mut conn = conn.unwrap();
        let err = conn.control_ping().unwrap_err();
        server.join().unwrap();
        assert!(err.to_string().contains("limit"), "{err}");
        assert!(conn.is_broken());
    }

    #[test]
    fn retval_becomes_a_readable_error_and_is_observed() {
        let seen: Arc<Mutex<Vec<(String, Direction, String)>>> = Arc::default();
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let req: LbAddDelVipV2 = vpp.recv_as();
            assert_eq!(req.pfx.len, 32, "master encodes the real IPv4 length");
            assert_eq!(req.encap, 1, "gre6, big-endian");
            assert_eq!(req.new_flows_table_length, 1024);
            assert!(req.src_ip_sticky && !req.is_del);
            vpp.send(&LbAddDelVipV2Reply { context: req.context, retval: -81 });
        });
        let mut conn = conn.unwrap();
        let sink = seen.clone();
        conn.set_observer(Arc::new(move |m: &str, d: Direction, r: &str| {
            sink.lock().push((m.to_string(), d, r.to_string()));
        }));
        let vip = VipKey::host("192.0.2.1".parse().unwrap(), ip_proto::TCP, 80);
        let err =
            conn.lb_add_del_vip_v2(&vip, &VipSettings::new(LbEncapType::Gre6, true), false).unwrap_err();
        server.join().unwrap();
        assert_eq!(err.retval(), Some(-81));
        assert!(
            err.to_string().contains("lb_add_del_vip_v2") && err.to_string().contains("VALUE_EXIST"),
            "{err}"
        );
        let seen = seen.lock();
        assert_eq!(
            *seen,
            vec![
                ("lb_add_del_vip_v2".to_string(), Direction::Send, "ok".to_string()),
                ("lb_add_del_vip_v2_reply".to_string(), Direction::Recv, "error".to_string()),
            ]
        );
    }

    #[test]
    fn message_missing_from_table_fails_without_sending() {
        let (conn, server) = start(table(&[LbAsSetWeight::NAME_CRC], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
        });
        let mut conn = conn.unwrap();
        server.join().unwrap();
        let vip = VipKey::host("192.0.2.1".parse().unwrap(), ip_proto::TCP, 80);
        let err = conn.lb_as_set_weight(&vip, "10.0.0.2".parse().unwrap(), 0, false).unwrap_err();
        assert!(matches!(err, ApiError::UnknownMessage { name_crc: "lb_as_set_weight_2d89bdbd" }), "{err:?}");
    }

    #[test]
    fn close_sends_sockclnt_delete() {
        let (conn, server) = start(table(&[], &[]), Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let del: SockclntDelete = vpp.recv_as();
            assert_eq!((del.client_index, del.index), (HANDLE, HANDLE));
            vpp.send(&SockclntDeleteReply { context: del.context, response: 1 });
        });
        conn.unwrap().close().unwrap();
        server.join().unwrap();
    }

    #[test]
    fn legacy_flavor_encodes_ipv4_vips_with_internal_length() {
        let ids = table(&[LbConfGet::NAME_CRC], &[]);
        let (conn, server) = start(ids, Duration::from_secs(5), |vpp| {
            vpp.handshake();
            let req: LbFlushVip = vpp.recv_as();
            assert_eq!(req.pfx.len, 128);
            vpp.send(&crate::messages::LbFlushVipReply { context: req.context, retval: 0 });
            let dump: LbVipDump = vpp.recv_as();
            let ping: ControlPing = vpp.recv_as();
            vpp.send(&LbVipDetails {
                context: dump.context,
                vip: LbVip { pfx: Prefix::new("192.0.2.1".parse().unwrap(), 128), protocol: 0, port: 80 },
                encap: crate::types::LbVipType::Ip4Gre4 as u32,
                ..Default::default()
            });
            vpp.send(&ControlPingReply {
                context: ping.context,
                retval: 0,
                client_index: HANDLE,
                vpe_pid: 1,
            });
        });
        let mut conn = conn.unwrap();
        assert_eq!(conn.lb_flavor(), LbFlavor::Legacy);
        let vip = VipKey::host("192.0.2.1".parse().unwrap(), ip_proto::TCP, 80);
        conn.lb_flush_vip(&vip).unwrap();
        let vips = conn.lb_vip_dump().unwrap();
        server.join().unwrap();
        assert_eq!(vips[0].key.len, 32);
        assert_eq!(vips[0].encap, Some(LbEncapType::Gre4));
        assert!(find_message(LbFlushVip::NAME_CRC).is_some());
    }
}
