//! One received API message in, the replies (and a request-log entry) out:
//! VPP's handlers for the messages vppsim knows, including its silent
//! failure modes (unknown id, truncated payload, wrong `client_index`: no
//! reply at all).

use std::time::{SystemTime, UNIX_EPOCH};

use vppapi::codec::DecodeError;
use vppapi::messages::*;
use vppapi::types::{IpRoute, IpRouteV2, MessageTableEntry, Prefix};

use crate::cli;
use crate::ip46::{format_prefix, prefix_is_ip4};
use crate::lb::{LbError, VipAddArgs};
use crate::request_log::{Entry, Value};
use crate::routes::Route;
use crate::sim::Sim;
use crate::wire_forms::{self, decode_address, encode_address};

/// Per-connection state.
#[derive(Debug, Default)]
pub struct Session {
    /// The registration handle once `sockclnt_create` was answered.
    pub handle: Option<u32>,
}

/// What to do after a message.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Reply payloads, in order.
    pub replies: Vec<Vec<u8>>,
    /// Close the connection after sending the replies.
    pub close: bool,
    pub log: Option<Entry>,
}

/// `VNET_API_ERROR_NO_SUCH_FIB`.
const NO_SUCH_FIB: i32 = -3;

type Fields = Vec<(&'static str, Value)>;

/// Handles one payload received on a connection (after the framing).
pub fn handle(sim: &mut Sim, session: &mut Session, payload: &[u8]) -> Outcome {
    let Ok(id) = peek_msg_id(payload) else {
        log::warn!("dropped a message of {} bytes: too short for a message id", payload.len());
        return Outcome::default();
    };
    if id == fixed_ids::SOCKCLNT_CREATE {
        return sockclnt_create(sim, session, payload);
    }
    let Some(info) = sim.table.message(id) else {
        log::warn!("no handler for msg id {id}");
        return dropped_entry(
            "unknown",
            header(payload),
            vec![("id", id.into()), ("dropped", "unknown id".into())],
        );
    };
    let (client, context) = header(payload);
    if session.handle != Some(client) || !sim.is_registered(client) {
        log::warn!("{}: client_index {client:#x} is not this connection's registration; no reply", info.name);
        return dropped_entry(info.name, (client, context), vec![("dropped", "client_index".into())]);
    }
    let mut ctx = Ctx { sim, replies: Vec::new(), close: false };
    let result = ctx.dispatch(info.name, session, payload);
    match result {
        Ok((retval, fields)) => Outcome {
            replies: ctx.replies,
            close: ctx.close,
            log: Some(Entry { msg: info.name.to_string(), client, context, retval, fields }),
        },
        Err(e) => {
            // VPP drops what it cannot size (truncated); an undecodable
            // enum (an address family other than 0/1) is dropped too.
            log::warn!("message dropped: {e}");
            dropped_entry(info.name, (client, context), vec![("dropped", e.to_string().into())])
        }
    }
}

/// `client_index` and `context` of a request (0 where the payload is too
/// short to hold them).
fn header(payload: &[u8]) -> (u32, u32) {
    let word =
        |at: usize| payload.get(at..at + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    (word(2), word(6))
}

fn dropped_entry(msg: &str, (client, context): (u32, u32), fields: Fields) -> Outcome {
    Outcome {
        log: Some(Entry { msg: msg.to_string(), client, context, retval: None, fields }),
        ..Outcome::default()
    }
}

fn sockclnt_create(sim: &mut Sim, session: &mut Session, payload: &[u8]) -> Outcome {
    let req = match SockclntCreate::decode(payload) {
        Ok(r) => r,
        Err(e) => {
            log::warn!("sockclnt_create dropped: {e}");
            return Outcome::default();
        }
    };
    let handle = match session.handle {
        Some(h) => h,
        None => sim.register_client(),
    };
    session.handle = Some(handle);
    log::info!("client `{}' connected as {handle:#x}", req.name.as_str());
    let message_table = sim
        .table
        .entries()
        .iter()
        .map(|(index, name)| MessageTableEntry { index: *index, name: (*name).into() })
        .collect();
    let reply = SockclntCreateReply {
        client_index: 0,
        context: req.context,
        response: 0,
        index: handle,
        message_table,
    };
    Outcome { replies: vec![reply.encode_to_vec(fixed_ids::SOCKCLNT_CREATE_REPLY)], ..Outcome::default() }
}

struct Ctx<'a> {
    sim: &'a mut Sim,
    replies: Vec<Vec<u8>>,
    close: bool,
}

fn rv(result: Result<impl Sized, LbError>) -> i32 {
    match result {
        Ok(_) => 0,
        Err(e) => e.retval(),
    }
}

impl Ctx<'_> {
    fn reply<M: Message>(&mut self, m: &M) {
        match self.sim.table.id(M::NAME_CRC) {
            Some(id) => self.replies.push(m.encode_to_vec(id)),
            None => log::error!("{} is not in the message table; reply not sent", M::NAME_CRC),
        }
    }

    /// Runs the handler of `name`; returns the reply's retval (None for
    /// dumps) and the decoded fields for the request log.
    fn dispatch(
        &mut self,
        name: &str,
        session: &mut Session,
        payload: &[u8],
    ) -> Result<(Option<i32>, Fields), DecodeError> {
        let mode = self.sim.mode;
        let mut fields: Fields = Vec::new();
        let retval = match name {
            "control_ping" => {
                let r = ControlPing::decode(payload)?;
                let pid = self.sim.pid;
                self.reply(&ControlPingReply {
                    context: r.context,
                    retval: 0,
                    client_index: r.client_index,
                    vpe_pid: pid,
                });
                Some(0)
            }
            "memclnt_keepalive" => {
                let r = MemclntKeepalive::decode(payload)?;
                self.reply(&MemclntKeepaliveReply { context: r.context, retval: 0 });
                Some(0)
            }
            "get_first_msg_id" => {
                let r = GetFirstMsgId::decode(payload)?;
                fields.push(("name", r.name.as_str().into()));
                let (retval, first_msg_id) = match self.sim.table.first_msg_id(r.name.as_str()) {
                    Some(id) => (0, id),
                    None => (-1, u16::MAX),
                };
                self.reply(&GetFirstMsgIdReply { context: r.context, retval, first_msg_id });
                Some(retval)
            }
            "sockclnt_delete" => {
                let r = SockclntDelete::decode(payload)?;
                fields.push(("index", r.index.into()));
                let response = if Some(r.index) == session.handle && self.sim.is_registered(r.index) {
                    self.sim.unregister_client(r.index);
                    session.handle = None;
                    self.close = true;
                    1
                } else {
                    -1
                };
                self.reply(&SockclntDeleteReply { context: r.context, response });
                Some(response)
            }
            "show_version" => {
                let r = ShowVersion::decode(payload)?;
                let v = &self.sim.version;
                let reply = ShowVersionReply {
                    context: r.context,
                    retval: 0,
                    program: v.program.as_str().into(),
                    version: v.version.as_str().into(),
                    build_date: v.build_date.as_str().into(),
                    build_directory: v.build_directory.as_str().into(),
                };
                self.reply(&reply);
                Some(0)
            }
            "show_vpe_system_time" => {
                let r = ShowVpeSystemTime::decode(payload)?;
                let now =
                    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
                self.reply(&ShowVpeSystemTimeReply { context: r.context, retval: 0, vpe_system_time: now });
                Some(0)
            }
            "cli_inband" => {
                let r = CliInband::decode(payload)?;
                fields.push(("cmd", r.cmd.as_str().into()));
                // A failing command still answers, its error text as the
                // output and -1 as retval (vlib_cli_input's return code).
                let (retval, text) = match cli::run(&self.sim.lb, mode, &self.sim.version, &r.cmd) {
                    Ok(text) => (0, cli::garble(&text, &self.sim.garbled)),
                    Err(text) => (-1, text),
                };
                self.reply(&CliInbandReply { context: r.context, retval, reply: text });
                Some(retval)
            }
            "lb_conf" => {
                let r = LbConf::decode(payload)?;
                fields.push(("ip4_src_address", r.ip4_src_address.to_string().into()));
                fields.push(("ip6_src_address", r.ip6_src_address.to_string().into()));
                fields.push(("sticky_buckets_per_core", r.sticky_buckets_per_core.into()));
                fields.push(("flow_timeout", r.flow_timeout.into()));
                let retval = rv(self.sim.lb.set_conf(
                    r.ip4_src_address.0,
                    r.ip6_src_address.0,
                    r.sticky_buckets_per_core,
                    r.flow_timeout,
                ));
                self.reply(&LbConfReply { context: r.context, retval });
                Some(retval)
            }
            "lb_conf_get" => {
                let r = LbConfGet::decode(payload)?;
                let c = self.sim.lb.conf;
                self.reply(&LbConfGetReply {
                    context: r.context,
                    retval: 0,
                    ip4_src_address: vppapi::types::Ip4Address(c.ip4_src_address),
                    ip6_src_address: vppapi::types::Ip6Address(c.ip6_src_address),
                    sticky_buckets_per_core: c.sticky_buckets_per_core,
                    flow_timeout: c.flow_timeout,
                });
                Some(0)
            }
            "lb_add_del_vip" => {
                let r = LbAddDelVip::decode(payload)?;
                let v = VipRequest {
                    pfx: r.pfx,
                    protocol: r.protocol,
                    port: r.port,
                    encap: r.encap,
                    dscp: r.dscp,
                    srv_type: r.srv_type,
                    target_port: r.target_port,
                    new_flows_table_length: r.new_flows_table_length,
                    src_ip_sticky: false,
                    is_del: r.is_del,
                };
                let retval = self.vip_add_del(&v, &mut fields);
                self.reply(&LbAddDelVipReply { context: r.context, retval });
                Some(retval)
            }
            "lb_add_del_vip_v2" => {
                let r = LbAddDelVipV2::decode(payload)?;
                let v = VipRequest {
                    pfx: r.pfx,
                    protocol: r.protocol,
                    port: r.port,
                    encap: r.encap,
                    dscp: r.dscp,
                    srv_type: r.srv_type,
                    target_port: r.target_port,
                    new_flows_table_length: r.new_flows_table_length,
                    src_ip_sticky: r.src_ip_sticky,
                    is_del: r.is_del,
                };
                let retval = self.vip_add_del(&v, &mut fields);
                self.reply(&LbAddDelVipV2Reply { context: r.context, retval });
                Some(retval)
            }
            "lb_add_del_as" => {
                let r = LbAddDelAs::decode(payload)?;
                // v1 has no weight (VPP uses 100) and ignores is_flush on add.
                let retval = self.as_add_del(
                    &r.pfx,
                    r.protocol,
                    r.port,
                    &r.as_address,
                    None,
                    r.is_del,
                    r.is_flush,
                    &mut fields,
                );
                self.reply(&LbAddDelAsReply { context: r.context, retval });
                Some(retval)
            }
            "lb_add_del_as_v2" => {
                let r = LbAddDelAsV2::decode(payload)?;
                let retval = self.as_add_del(
                    &r.pfx,
                    r.protocol,
                    r.port,
                    &r.as_address,
                    Some(r.weight),
                    r.is_del,
                    r.is_flush,
                    &mut fields,
                );
                self.reply(&LbAddDelAsV2Reply { context: r.context, retval });
                Some(retval)
            }
            "lb_as_set_weight" => {
                let r = LbAsSetWeight::decode(payload)?;
                let key = mode.vip_key(&r.pfx, r.protocol, r.port);
                let address = decode_address(&r.as_address);
                push_vip_fields(&mut fields, &key, r.protocol, r.port);
                fields.push(("as", address.to_string().into()));
                fields.push(("weight", r.weight.into()));
                fields.push(("flush", r.is_flush.into()));
                // No counter moves or appears with a weight: the segment
                // stays as it is (the ticker publishes traffic).
                let retval = rv(self.sim.lb.set_as_weight(&key, address, r.weight, r.is_flush));
                self.reply(&LbAsSetWeightReply { context: r.context, retval });
                Some(retval)
            }
            "lb_flush_vip" => {
                let r = LbFlushVip::decode(payload)?;
                let key = mode.flush_vip_key(&r.pfx, r.protocol, r.port);
                push_vip_fields(&mut fields, &key, r.protocol, r.port);
                // VPP's handler overwrites the lookup's return code with the
                // flush's, which is always 0: a missing VIP is not an error.
                let found = self.sim.lb.flush_vip(&key).is_ok();
                fields.push(("found", found.into()));
                let retval = 0;
                self.reply(&LbFlushVipReply { context: r.context, retval });
                Some(retval)
            }
            "lb_vip_dump" => {
                let r = LbVipDump::decode(payload)?;
                let details: Vec<LbVipDetails> = self
                    .sim
                    .lb
                    .vip_slots()
                    .filter(|(_, v)| v.used || mode.dumps_removed_vips())
                    .map(|(_, vip)| LbVipDetails {
                        context: r.context,
                        vip: mode.encode_vip(vip),
                        encap: mode.details_encap(vip),
                        dscp: vip.dscp,
                        srv_type: wire_forms::details_srv_type(vip.srv_type),
                        target_port: wire_forms::details_target_port(vip.target_port),
                        flow_table_length: mode.flow_table_length(vip.new_flows_table_length),
                    })
                    .collect();
                fields.push(("details", (details.len() as i64).into()));
                for d in &details {
                    self.reply(d);
                }
                None
            }
            "lb_as_dump" | "lb_as_v2_dump" => {
                // Both dumps have the same request layout.
                let r = LbAsDump::decode(payload)?;
                fields.push(("vip", r.pfx.to_string().into()));
                fields.push(("protocol", r.protocol.into()));
                fields.push(("port", r.port.into()));
                let v2 = name == "lb_as_v2_dump";
                let mut n = 0i64;
                let mut out_v1 = Vec::new();
                let mut out_v2 = Vec::new();
                // Unlike lb_vip_dump, VPP does not hide deleted VIPs here:
                // their ASes show (unused) until collected.
                for (_, vip) in self.sim.lb.vip_slots() {
                    if !mode.as_dump_matches(&r.pfx, r.protocol, r.port, vip) {
                        continue;
                    }
                    let wire_vip = mode.encode_vip(vip);
                    for (a, buckets) in vip.ases_for_display() {
                        n += 1;
                        let app_srv = encode_address(&a.address);
                        if v2 {
                            out_v2.push(LbAsV2Details {
                                context: r.context,
                                vip: wire_vip,
                                app_srv,
                                flags: a.flags(),
                                in_use_since: a.in_use_since,
                                weight: a.weight,
                                num_buckets: buckets,
                            });
                        } else {
                            out_v1.push(LbAsDetails {
                                context: r.context,
                                vip: wire_vip,
                                app_srv,
                                flags: a.flags(),
                                in_use_since: a.in_use_since,
                            });
                        }
                    }
                }
                for d in &out_v1 {
                    self.reply(d);
                }
                for d in &out_v2 {
                    self.reply(d);
                }
                fields.push(("details", n.into()));
                None
            }
            "ip_route_lookup" | "ip_route_lookup_v2" => {
                // Same request layout for both.
                let r = IpRouteLookup::decode(payload)?;
                fields.push(("table_id", r.table_id.into()));
                fields.push(("exact", r.exact.into()));
                fields.push(("prefix", r.prefix.to_string().into()));
                let (retval, route) = self.route_lookup(r.table_id, r.exact != 0, &r.prefix);
                if let Some(route) = route {
                    fields.push(("stats_index", route.stats_index.into()));
                }
                // A failed lookup's reply is all zeros after the retval
                // (REPLY_MACRO3_ZERO); a found one echoes the table id and
                // has no paths (the lb installs a special DPO, not a path).
                let (table_id, stats_index, prefix) = route
                    .map_or((0, 0, Prefix::default()), |rt| (r.table_id, rt.stats_index, route_prefix(&rt)));
                if name == "ip_route_lookup" {
                    self.reply(&IpRouteLookupReply {
                        context: r.context,
                        retval,
                        route: IpRoute { table_id, stats_index, prefix, paths: Vec::new() },
                    });
                } else {
                    self.reply(&IpRouteLookupV2Reply {
                        context: r.context,
                        retval,
                        route: IpRouteV2 { table_id, stats_index, prefix, src: 0, paths: Vec::new() },
                    });
                }
                Some(retval)
            }
            other => {
                // In the table but without a handler (a reply id sent to us):
                // VPP has no handler for those either.
                log::warn!("no handler for {other}");
                fields.push(("dropped", "no handler".into()));
                None
            }
        };
        Ok((retval, fields))
    }

    fn vip_add_del(&mut self, v: &VipRequest, fields: &mut Fields) -> i32 {
        let mode = self.sim.mode;
        let key = mode.vip_key(&v.pfx, v.protocol, v.port);
        push_vip_fields(fields, &key, v.protocol, v.port);
        let encap = mode.decode_encap(v.encap);
        fields.push(("encap", encap.into()));
        fields.push(("new_flows_table_length", v.new_flows_table_length.into()));
        fields.push(("src_ip_sticky", v.src_ip_sticky.into()));
        fields.push(("is_del", v.is_del.into()));
        let result = if v.is_del {
            self.sim.lb.del_vip(&key).map(|_| ())
        } else {
            self.sim
                .lb
                .add_vip(VipAddArgs {
                    key,
                    encap,
                    dscp: v.dscp,
                    srv_type: wire_forms::request_srv_type(v.srv_type),
                    target_port: v.target_port,
                    new_flows_table_length: v.new_flows_table_length,
                    src_ip_sticky: v.src_ip_sticky,
                })
                .map(|_| ())
        };
        self.sim.publish_stats();
        rv(result)
    }

    #[allow(clippy::too_many_arguments)]
    fn as_add_del(
        &mut self,
        pfx: &Prefix,
        protocol: u8,
        port: u16,
        as_address: &vppapi::types::Address,
        weight: Option<u8>,
        is_del: bool,
        is_flush: bool,
        fields: &mut Fields,
    ) -> i32 {
        let key = self.sim.mode.vip_key(pfx, protocol, port);
        let address = decode_address(as_address);
        push_vip_fields(fields, &key, protocol, port);
        fields.push(("as", address.to_string().into()));
        if let Some(w) = weight {
            fields.push(("weight", w.into()));
        }
        fields.push(("is_del", is_del.into()));
        fields.push(("flush", is_flush.into()));
        let result = if is_del {
            self.sim.lb.del_as(&key, address, is_flush)
        } else {
            self.sim.lb.add_as(&key, address, weight.unwrap_or(100), weight.is_some() && is_flush)
        };
        // Only VIPs add counters (and routes); an AS changes none, so the
        // segment is not rewritten for it: a full sync of thousands of ASes
        // would otherwise rewrite every VIP's counters thousands of times.
        rv(result)
    }

    fn route_lookup(&self, table_id: u32, exact: bool, prefix: &Prefix) -> (i32, Option<Route>) {
        if table_id != 0 {
            return (NO_SUCH_FIB, None);
        }
        let address = decode_address(&prefix.address);
        let len = match prefix.address.af {
            vppapi::types::AddressFamily::Ip4 => prefix.len.saturating_add(96),
            vppapi::types::AddressFamily::Ip6 => prefix.len,
        };
        match self.sim.lb.fib.lookup(address, len, exact) {
            Some(route) => (0, Some(route)),
            None => (LbError::NoSuchEntry.retval(), None),
        }
    }
}

/// The fields of an lb add/del VIP request.
struct VipRequest {
    pfx: Prefix,
    protocol: u8,
    port: u16,
    encap: u32,
    dscp: u8,
    srv_type: u32,
    target_port: u16,
    new_flows_table_length: u32,
    src_ip_sticky: bool,
    is_del: bool,
}

fn push_vip_fields(fields: &mut Fields, key: &crate::lb::VipKey, protocol: u8, port: u16) {
    fields.push(("vip", format_prefix(&key.prefix, key.plen).into()));
    fields.push(("protocol", protocol.into()));
    fields.push(("port", port.into()));
}

/// A FIB entry's prefix in the API's normal form.
fn route_prefix(route: &Route) -> Prefix {
    let len = if prefix_is_ip4(&route.prefix, route.plen) { route.plen - 96 } else { route.plen };
    Prefix { address: encode_address(&route.prefix), len }
}
