//! Golden vectors: every message in `data/vectors.json` (produced with VPP's
//! own Python client) is built from its `input` by hand, encoded and compared
//! byte for byte, and its payload is decoded back and compared field by
//! field.

use std::collections::HashSet;

use serde_json::Value;
use vppapi::codec::FixedString;
use vppapi::frame;
use vppapi::lb::{portable_vip_prefix, LbFlavor, VipKey};
use vppapi::messages::*;
use vppapi::types::*;

fn vectors() -> Vec<Value> {
    let text = include_str!("data/vectors.json");
    let doc: Value = serde_json::from_str(text).expect("vectors.json is valid JSON");
    doc["vectors"].as_array().expect("vectors.json has a `vectors` array").clone()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length: {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("`{key}` is not an unsigned number in {v}"))
}

fn int(v: &Value, key: &str) -> i64 {
    v[key].as_i64().unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

fn u8_(v: &Value, key: &str) -> u8 {
    u8::try_from(num(v, key)).expect("u8 range")
}

fn u16_(v: &Value, key: &str) -> u16 {
    u16::try_from(num(v, key)).expect("u16 range")
}

fn u32_(v: &Value, key: &str) -> u32 {
    u32::try_from(num(v, key)).expect("u32 range")
}

fn i32_(v: &Value, key: &str) -> i32 {
    i32::try_from(int(v, key)).expect("i32 range")
}

fn bool_(v: &Value, key: &str) -> bool {
    v[key].as_bool().unwrap_or_else(|| panic!("`{key}` is not a bool in {v}"))
}

fn str_(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` is not a string in {v}")).to_string()
}

/// `{"hex": "..."}` as a byte array.
fn bytes<const N: usize>(v: &Value) -> [u8; N] {
    let b = unhex(v["hex"].as_str().unwrap_or_else(|| panic!("no hex in {v}")));
    let mut out = [0u8; N];
    out[..b.len()].copy_from_slice(&b);
    out
}

/// `{"ip4": {...}}` or `{"ip6": {...}}`: a bare address union.
fn union(v: &Value) -> [u8; 16] {
    if !v["ip4"].is_null() {
        bytes::<16>(&v["ip4"])
    } else {
        bytes::<16>(&v["ip6"])
    }
}

fn address(v: &Value) -> Address {
    let af = match num(v, "af") {
        0 => AddressFamily::Ip4,
        1 => AddressFamily::Ip6,
        other => panic!("bad af {other}"),
    };
    Address { af, un: union(&v["un"]) }
}

fn prefix(v: &Value) -> Prefix {
    Prefix { address: address(&v["address"]), len: u8_(v, "len") }
}

fn lb_vip(v: &Value) -> LbVip {
    LbVip { pfx: prefix(&v["pfx"]), protocol: u8_(v, "protocol"), port: u16_(v, "port") }
}

fn fib_path(v: &Value) -> FibPath {
    let nh = &v["nh"];
    let labels = v["label_stack"].as_array().expect("label_stack array");
    assert_eq!(labels.len(), 16);
    let mut label_stack = [FibMplsLabel::default(); 16];
    for (slot, l) in label_stack.iter_mut().zip(labels) {
        *slot = FibMplsLabel {
            is_uniform: u8_(l, "is_uniform"),
            label: u32_(l, "label"),
            ttl: u8_(l, "ttl"),
            exp: u8_(l, "exp"),
        };
    }
    FibPath {
        sw_if_index: u32_(v, "sw_if_index"),
        table_id: u32_(v, "table_id"),
        rpf_id: u32_(v, "rpf_id"),
        weight: u8_(v, "weight"),
        preference: u8_(v, "preference"),
        path_type: u32_(v, "type"),
        flags: u32_(v, "flags"),
        proto: u32_(v, "proto"),
        nh: FibPathNh {
            address: union(&nh["address"]),
            via_label: u32_(nh, "via_label"),
            obj_id: u32_(nh, "obj_id"),
            classify_table_index: u32_(nh, "classify_table_index"),
        },
        n_labels: u8_(v, "n_labels"),
        label_stack,
    }
}

/// Encodes `msg`, compares with the vector, decodes the payload back and
/// compares with `msg` (which was built from the vector's input).
fn check<M: Message + PartialEq>(v: &Value, msg: M) {
    let title = str_(v, "title");
    assert_eq!(str_(v, "name_crc"), M::NAME_CRC, "{title}: name_crc");
    assert_eq!(M::name_crc(), M::NAME_CRC);
    let msg_id = u16_(&v["input"], "_vl_msg_id");
    let want = unhex(&str_(v, "payload_hex"));
    let got = msg.encode_to_vec(msg_id);
    assert_eq!(hex(&got), hex(&want), "{title}: encoded payload differs");
    if let Some(framed) = v["framed_hex"].as_str() {
        assert_eq!(hex(&frame::encode_frame(&got)), framed, "{title}: framed bytes differ");
        let mut cursor = std::io::Cursor::new(unhex(framed));
        let payload = frame::read_frame(&mut cursor, frame::DEFAULT_MAX_PAYLOAD).expect("frame reads back");
        assert_eq!(payload, want, "{title}: frame payload");
    }
    let decoded = M::decode(&want).unwrap_or_else(|e| panic!("{title}: decode failed: {e}"));
    assert_eq!(decoded, msg, "{title}: decoded fields differ from input");
    assert_eq!(peek_msg_id(&want).expect("msg id"), msg_id);
    // Newer VPP may append fields: trailing bytes are ignored.
    let mut longer = want.clone();
    longer.extend_from_slice(&[0xab; 7]);
    assert_eq!(M::decode(&longer).expect("decode with trailing bytes"), msg, "{title}: trailing bytes");
    // Every strict prefix of a fixed-size message is too short; for messages
    // with variable parts at least the empty payload must be refused.
    assert!(M::decode(&want[..want.len().min(1)]).is_err(), "{title}: 1-byte payload decoded");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn check_vector(v: &Value) {
    let i = &v["input"];
    match str_(v, "message").as_str() {
        "sockclnt_create" => {
            check(v, SockclntCreate { context: u32_(i, "context"), name: FixedString::from(str_(i, "name")) })
        }
        "sockclnt_create_reply" => {
            let table: Vec<MessageTableEntry> = i["message_table"]
                .as_array()
                .expect("message_table")
                .iter()
                .map(|e| MessageTableEntry {
                    index: u16_(e, "index"),
                    name: FixedString::from(str_(e, "name")),
                })
                .collect();
            assert_eq!(table.len(), num(i, "count") as usize);
            check(
                v,
                SockclntCreateReply {
                    client_index: u32_(i, "client_index"),
                    context: u32_(i, "context"),
                    response: i32_(i, "response"),
                    index: u32_(i, "index"),
                    message_table: table,
                },
            )
        }
        "sockclnt_delete" => check(
            v,
            SockclntDelete {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                index: u32_(i, "index"),
            },
        ),
        "sockclnt_delete_reply" => {
            check(v, SockclntDeleteReply { context: u32_(i, "context"), response: i32_(i, "response") })
        }
        "control_ping" => {
            check(v, ControlPing { client_index: u32_(i, "client_index"), context: u32_(i, "context") })
        }
        "control_ping_reply" => check(
            v,
            ControlPingReply {
                context: u32_(i, "context"),
                retval: i32_(i, "retval"),
                client_index: u32_(i, "client_index"),
                vpe_pid: u32_(i, "vpe_pid"),
            },
        ),
        "memclnt_keepalive_reply" => {
            check(v, MemclntKeepaliveReply { context: u32_(i, "context"), retval: i32_(i, "retval") })
        }
        "show_version" => {
            check(v, ShowVersion { client_index: u32_(i, "client_index"), context: u32_(i, "context") })
        }
        "show_version_reply" => check(
            v,
            ShowVersionReply {
                context: u32_(i, "context"),
                retval: i32_(i, "retval"),
                program: str_(i, "program").into(),
                version: str_(i, "version").into(),
                build_date: str_(i, "build_date").into(),
                build_directory: str_(i, "build_directory").into(),
            },
        ),
        "show_vpe_system_time_reply" => check(
            v,
            ShowVpeSystemTimeReply {
                context: u32_(i, "context"),
                retval: i32_(i, "retval"),
                vpe_system_time: i["vpe_system_time"].as_f64().expect("f64"),
            },
        ),
        "cli_inband" => check(
            v,
            CliInband {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                cmd: str_(i, "cmd"),
            },
        ),
        "cli_inband_reply" => check(
            v,
            CliInbandReply {
                context: u32_(i, "context"),
                retval: i32_(i, "retval"),
                reply: str_(i, "reply"),
            },
        ),
        "lb_conf" => check(
            v,
            LbConf {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                ip4_src_address: Ip4Address(bytes(&i["ip4_src_address"])),
                ip6_src_address: Ip6Address(bytes(&i["ip6_src_address"])),
                sticky_buckets_per_core: u32_(i, "sticky_buckets_per_core"),
                flow_timeout: u32_(i, "flow_timeout"),
            },
        ),
        "lb_conf_get_reply" => check(
            v,
            LbConfGetReply {
                context: u32_(i, "context"),
                retval: i32_(i, "retval"),
                ip4_src_address: Ip4Address(bytes(&i["ip4_src_address"])),
                ip6_src_address: Ip6Address(bytes(&i["ip6_src_address"])),
                sticky_buckets_per_core: u32_(i, "sticky_buckets_per_core"),
                flow_timeout: u32_(i, "flow_timeout"),
            },
        ),
        "lb_add_del_vip_v2" => check(
            v,
            LbAddDelVipV2 {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                pfx: prefix(&i["pfx"]),
                protocol: u8_(i, "protocol"),
                port: u16_(i, "port"),
                encap: u32_(i, "encap"),
                dscp: u8_(i, "dscp"),
                srv_type: u32_(i, "type"),
                target_port: u16_(i, "target_port"),
                node_port: u16_(i, "node_port"),
                new_flows_table_length: u32_(i, "new_flows_table_length"),
                src_ip_sticky: bool_(i, "src_ip_sticky"),
                is_del: bool_(i, "is_del"),
            },
        ),
        "lb_add_del_as_v2" => check(
            v,
            LbAddDelAsV2 {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                pfx: prefix(&i["pfx"]),
                protocol: u8_(i, "protocol"),
                port: u16_(i, "port"),
                as_address: address(&i["as_address"]),
                weight: u8_(i, "weight"),
                is_del: bool_(i, "is_del"),
                is_flush: bool_(i, "is_flush"),
            },
        ),
        "lb_add_del_as" => check(
            v,
            LbAddDelAs {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                pfx: prefix(&i["pfx"]),
                protocol: u8_(i, "protocol"),
                port: u16_(i, "port"),
                as_address: address(&i["as_address"]),
                is_del: bool_(i, "is_del"),
                is_flush: bool_(i, "is_flush"),
            },
        ),
        "lb_as_set_weight" => check(
            v,
            LbAsSetWeight {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                pfx: prefix(&i["pfx"]),
                protocol: u8_(i, "protocol"),
                port: u16_(i, "port"),
                as_address: address(&i["as_address"]),
                weight: u8_(i, "weight"),
                is_flush: bool_(i, "is_flush"),
            },
        ),
        "lb_flush_vip" => check(
            v,
            LbFlushVip {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                pfx: prefix(&i["pfx"]),
                protocol: u8_(i, "protocol"),
                port: u16_(i, "port"),
            },
        ),
        "lb_add_del_as_v2_reply" => {
            check(v, LbAddDelAsV2Reply { context: u32_(i, "context"), retval: i32_(i, "retval") })
        }
        "lb_vip_dump" => check(
            v,
            LbVipDump {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                pfx: prefix(&i["pfx"]),
                pfx_matcher: PrefixMatcher {
                    le: u8_(&i["pfx_matcher"], "le"),
                    ge: u8_(&i["pfx_matcher"], "ge"),
                },
                protocol: u8_(i, "protocol"),
                port: u16_(i, "port"),
            },
        ),
        "lb_vip_details" => check(
            v,
            LbVipDetails {
                context: u32_(i, "context"),
                vip: lb_vip(&i["vip"]),
                encap: u32_(i, "encap"),
                dscp: u8_(i, "dscp"),
                srv_type: u32_(i, "srv_type"),
                target_port: u16_(i, "target_port"),
                flow_table_length: u16_(i, "flow_table_length"),
            },
        ),
        "lb_as_v2_dump" => check(
            v,
            LbAsV2Dump {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                pfx: prefix(&i["pfx"]),
                protocol: u8_(i, "protocol"),
                port: u16_(i, "port"),
            },
        ),
        "lb_as_v2_details" => check(
            v,
            LbAsV2Details {
                context: u32_(i, "context"),
                vip: lb_vip(&i["vip"]),
                app_srv: address(&i["app_srv"]),
                flags: u8_(i, "flags"),
                in_use_since: u32_(i, "in_use_since"),
                weight: u8_(i, "weight"),
                num_buckets: u32_(i, "num_buckets"),
            },
        ),
        "ip_route_lookup" => check(
            v,
            IpRouteLookup {
                client_index: u32_(i, "client_index"),
                context: u32_(i, "context"),
                table_id: u32_(i, "table_id"),
                exact: u8_(i, "exact"),
                prefix: prefix(&i["prefix"]),
            },
        ),
        "ip_route_lookup_reply" => {
            let r = &i["route"];
            let paths: Vec<FibPath> = r["paths"].as_array().expect("paths").iter().map(fib_path).collect();
            assert_eq!(paths.len(), num(r, "n_paths") as usize);
            check(
                v,
                IpRouteLookupReply {
                    context: u32_(i, "context"),
                    retval: i32_(i, "retval"),
                    route: IpRoute {
                        table_id: u32_(r, "table_id"),
                        stats_index: u32_(r, "stats_index"),
                        prefix: prefix(&r["prefix"]),
                        paths,
                    },
                },
            )
        }
        other => panic!("vector for `{other}` has no builder in this test: add one"),
    }
}

#[test]
fn every_vector_encodes_and_decodes_exactly() {
    let all = vectors();
    assert!(all.len() >= 30, "expected at least 30 vectors, found {}", all.len());
    let mut seen = HashSet::new();
    for v in &all {
        check_vector(v);
        seen.insert(str_(v, "name_crc"));
    }
    // Every vector's message is one this crate knows.
    for name in &seen {
        assert!(find_message(name).is_some(), "{name} missing from ALL_MESSAGES");
    }
}

#[test]
fn lb_quirk_vectors_are_present() {
    let all = vectors();
    let titles: Vec<String> = all.iter().map(|v| str_(v, "title")).collect();
    assert!(titles.iter().any(|t| t.contains("pfx.len = 128")), "legacy IPv4 VIP vector missing");
    assert!(titles.iter().any(|t| t.contains("version-independent")), "version-independent vector missing");
}

/// The three encodings of one VIP in the vectors come out of the flavor
/// helpers byte for byte.
#[test]
fn lb_flavor_encodings_match_the_quirk_vectors() {
    let all = vectors();
    let vip = VipKey::host("192.0.2.1".parse().unwrap(), ip_proto::TCP, 80);
    let cases = [
        (7, LbFlavor::Master.vip_prefix(&vip)),
        (8, LbFlavor::Legacy.vip_prefix(&vip)),
        (20, portable_vip_prefix(&vip)),
    ];
    for (context, pfx) in cases {
        let v = all
            .iter()
            .find(|v| str_(v, "message") == "lb_add_del_vip_v2" && num(&v["input"], "context") == context)
            .unwrap_or_else(|| panic!("no lb_add_del_vip_v2 vector with context {context}"));
        let msg = LbAddDelVipV2 {
            client_index: 0x8000_0001,
            context: context as u32,
            pfx,
            protocol: vip.protocol,
            port: vip.port,
            encap: LbFlavor::Master.encap_to_wire(LbEncapType::Gre4),
            new_flows_table_length: 1024,
            src_ip_sticky: true,
            ..Default::default()
        };
        assert_eq!(hex(&msg.encode_to_vec(0)), str_(v, "payload_hex"), "{}", str_(v, "title"));
    }
}
