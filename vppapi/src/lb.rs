//! The LB plugin's version quirks and the typed view of its dumps.
//!
//! VPP master (with `lb_conf_get`) fixed several handler bugs without
//! changing any CRC, so the same message means different bytes on master
//! and on released versions up to v26.06 ("legacy"). maglevd targets master
//! (it needs the weight API); legacy is detected so that the daemon can say
//! what is missing, and its dumps can still be read.

use std::fmt;
use std::net::IpAddr;

use crate::messages::{
    LbAddDelAsV2, LbAddDelAsV2Reply, LbAddDelVipV2, LbAddDelVipV2Reply, LbAsSetWeight, LbAsSetWeightReply,
    LbAsV2Details, LbAsV2Dump, LbConf, LbConfGet, LbConfGetReply, LbConfReply, LbFlushVip, LbFlushVipReply,
    LbVipDetails, LbVipDump, Message,
};
use crate::types::{ip_proto, Address, AddressFamily, LbEncapType, LbSrvType, LbVipType, Prefix};

/// Which LB handler semantics this VPP has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LbFlavor {
    /// VPP master after the "lb: API bugfix" commit: real IPv4 prefix
    /// lengths, big-endian encap, weights.
    Master,
    /// v23.x … v26.06: IPv4 prefix lengths are internal (+96), encap
    /// compared raw, no weights.
    Legacy,
}

impl LbFlavor {
    /// The message whose presence marks the fixed handlers.
    pub const MARKER: &'static str = LbConfGet::NAME_CRC;

    /// Detects the flavor from VPP's message table.
    pub fn detect(has_message: impl Fn(&str) -> bool) -> LbFlavor {
        if has_message(Self::MARKER) {
            LbFlavor::Master
        } else {
            LbFlavor::Legacy
        }
    }

    /// The `pfx` to send for a VIP in `lb_add_del_vip(_v2)`,
    /// `lb_add_del_as(_v2)`, `lb_as_set_weight` and `lb_flush_vip`.
    pub fn vip_prefix(self, vip: &VipKey) -> Prefix {
        match (self, vip.addr) {
            (LbFlavor::Legacy, IpAddr::V4(_)) => Prefix::new(vip.addr, vip.len.saturating_add(96)),
            _ => Prefix::new(vip.addr, vip.len),
        }
    }

    /// The `encap` word to send: big-endian on master; legacy compares the
    /// raw word with host-order values, so it needs the little-endian form.
    pub fn encap_to_wire(self, encap: LbEncapType) -> u32 {
        match self {
            LbFlavor::Master => encap as u32,
            LbFlavor::Legacy => (encap as u32).swap_bytes(),
        }
    }

    /// Typed view of one `lb_vip_details`.
    pub fn vip_from_details(self, d: &LbVipDetails) -> LbVipEntry {
        let addr = d.vip.pfx.address.to_ip();
        let (len, protocol, encap, flow_table_length) = match self {
            LbFlavor::Master => (
                d.vip.pfx.len,
                Some(d.vip.protocol),
                LbEncapType::from_u32(d.encap),
                // A u16 on the wire: 65536 wraps to 0.
                Some(if d.flow_table_length == 0 { 65536 } else { u32::from(d.flow_table_length) }),
            ),
            LbFlavor::Legacy => (
                legacy_len(addr, d.vip.pfx.len),
                None,
                LbVipType::from_u32(d.encap).map(LbVipType::encap),
                None,
            ),
        };
        LbVipEntry {
            key: VipKey { addr, len, protocol: protocol.unwrap_or(0), port: d.vip.port },
            protocol_known: protocol.is_some(),
            encap,
            raw_encap: d.encap,
            dscp: d.dscp,
            srv_type: srv_type_from_wire(d.srv_type),
            target_port: d.target_port.swap_bytes(),
            flow_table_length,
        }
    }

    /// Typed view of one `lb_as_v2_details` (master only, but the prefix
    /// rule is applied per flavor all the same).
    pub fn as_from_details(self, d: &LbAsV2Details) -> LbAsEntry {
        let addr = d.vip.pfx.address.to_ip();
        let len = match self {
            LbFlavor::Master => d.vip.pfx.len,
            LbFlavor::Legacy => legacy_len(addr, d.vip.pfx.len),
        };
        LbAsEntry {
            vip: VipKey { addr, len, protocol: d.vip.protocol, port: d.vip.port },
            address: d.app_srv.to_ip(),
            in_use: d.flags & 1 != 0,
            flags: d.flags,
            in_use_since: d.in_use_since,
            weight: d.weight,
            num_buckets: d.num_buckets,
        }
    }
}

impl fmt::Display for LbFlavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LbFlavor::Master => "master",
            LbFlavor::Legacy => "legacy (v26.06 or older)",
        })
    }
}

/// The version-independent form of a VIP prefix: an IPv4 VIP is written as
/// IPv6 `::a.b.c.d` with length 96 + its length, which master and legacy
/// decode identically and which also matches the AS-dump filter. (Derived
/// from both versions' code, not tested against a running legacy VPP.)
pub fn portable_vip_prefix(vip: &VipKey) -> Prefix {
    match vip.addr {
        IpAddr::V4(v4) => {
            let mut un = [0u8; 16];
            un[12..].copy_from_slice(&v4.octets());
            Prefix { address: Address { af: AddressFamily::Ip6, un }, len: vip.len.saturating_add(96) }
        }
        IpAddr::V6(_) => Prefix::new(vip.addr, vip.len),
    }
}

/// Legacy VPP reports an IPv4 VIP's internal length (96 + real length).
fn legacy_len(addr: IpAddr, len: u8) -> u8 {
    match addr {
        IpAddr::V4(_) if len >= 96 => len - 96,
        _ => len,
    }
}

/// `srv_type` travels in VPP's host order and VPP uses only its first
/// byte: NODEPORT is `01 00 00 00` on the wire.
pub fn srv_type_to_wire(t: LbSrvType) -> u32 {
    u32::from_be_bytes([t as u8, 0, 0, 0])
}

pub fn srv_type_from_wire(raw: u32) -> LbSrvType {
    if raw.to_be_bytes()[0] == LbSrvType::NodePort as u8 {
        LbSrvType::NodePort
    } else {
        LbSrvType::ClusterIp
    }
}

/// Every message (request and reply) maglevd uses to program the LB plugin
/// with weights; [`crate::client::Connection::check`] reports which are
/// missing or changed.
pub const MASTER_MESSAGES: &[&str] = &[
    LbConf::NAME_CRC,
    LbConfReply::NAME_CRC,
    LbConfGet::NAME_CRC,
    LbConfGetReply::NAME_CRC,
    LbAddDelVipV2::NAME_CRC,
    LbAddDelVipV2Reply::NAME_CRC,
    LbAddDelAsV2::NAME_CRC,
    LbAddDelAsV2Reply::NAME_CRC,
    LbAsSetWeight::NAME_CRC,
    LbAsSetWeightReply::NAME_CRC,
    LbFlushVip::NAME_CRC,
    LbFlushVipReply::NAME_CRC,
    LbVipDump::NAME_CRC,
    LbVipDetails::NAME_CRC,
    LbAsV2Dump::NAME_CRC,
    LbAsV2Details::NAME_CRC,
];

/// A VIP's identity in VPP: prefix, protocol and port. An all-port VIP has
/// port 0 and protocol 255 (VPP forces that on add).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VipKey {
    pub addr: IpAddr,
    pub len: u8,
    pub protocol: u8,
    pub port: u16,
}

impl VipKey {
    /// A VIP as VPP stores it: port 0 means all ports, protocol 255.
    pub fn new(addr: IpAddr, len: u8, protocol: u8, port: u16) -> Self {
        let protocol = if port == 0 { ip_proto::RESERVED } else { protocol };
        VipKey { addr, len, protocol, port }
    }

    /// A host VIP (/32 or /128).
    pub fn host(addr: IpAddr, protocol: u8, port: u16) -> Self {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        VipKey::new(addr, len, protocol, port)
    }

    pub fn is_all_ports(&self) -> bool {
        self.port == 0
    }
}

impl fmt::Display for VipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)?;
        match (self.protocol, self.port) {
            (_, 0) => write!(f, " all-ports"),
            (ip_proto::TCP, p) => write!(f, " tcp/{p}"),
            (ip_proto::UDP, p) => write!(f, " udp/{p}"),
            (proto, p) => write!(f, " proto{proto}/{p}"),
        }
    }
}

/// How a VIP is created (besides its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VipSettings {
    pub encap: LbEncapType,
    pub src_ip_sticky: bool,
    /// Must be a power of two; maglevd always uses 1024.
    pub new_flows_table_length: u32,
    /// Only used by L3DSR.
    pub dscp: u8,
}

impl VipSettings {
    pub fn new(encap: LbEncapType, src_ip_sticky: bool) -> Self {
        VipSettings { encap, src_ip_sticky, new_flows_table_length: 1024, dscp: 0 }
    }
}

/// One VIP from `lb_vip_dump`, typed. The dump carries no VIP index and no
/// `src_ip_sticky` flag: see [`crate::lb_cli`] for those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbVipEntry {
    pub key: VipKey,
    /// False on legacy VPP, which reports protocol 0 for every VIP.
    pub protocol_known: bool,
    /// None when VPP sent a value this crate does not know.
    pub encap: Option<LbEncapType>,
    pub raw_encap: u32,
    /// Meaningful for L3DSR only.
    pub dscp: u8,
    /// Meaningful for NAT4/NAT6 only.
    pub srv_type: LbSrvType,
    /// Meaningful for NAT4/NAT6 only.
    pub target_port: u16,
    /// None on legacy VPP (it always reports 0).
    pub flow_table_length: Option<u32>,
}

/// One AS from `lb_as_v2_dump`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbAsEntry {
    pub vip: VipKey,
    pub address: IpAddr,
    /// Flag bit 0: the AS is in use; a removed AS stays listed until VPP's
    /// garbage collection drops it.
    pub in_use: bool,
    pub flags: u8,
    /// Seconds since VPP start when the AS was removed (0 if never).
    pub in_use_since: u32,
    pub weight: u8,
    pub num_buckets: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Message;
    use crate::types::LbVip;

    fn vip4() -> VipKey {
        VipKey::host("192.0.2.1".parse().unwrap(), ip_proto::TCP, 80)
    }

    #[test]
    fn flavor_follows_marker_message() {
        assert_eq!(LbFlavor::detect(|n| n == "lb_conf_get_51077d14"), LbFlavor::Master);
        assert_eq!(LbFlavor::detect(|_| false), LbFlavor::Legacy);
    }

    #[test]
    fn ipv4_prefix_length_per_flavor() {
        assert_eq!(LbFlavor::Master.vip_prefix(&vip4()).len, 32);
        assert_eq!(LbFlavor::Legacy.vip_prefix(&vip4()).len, 128);
        let v6 = VipKey::host("2001:db8::10".parse().unwrap(), ip_proto::UDP, 53);
        assert_eq!(LbFlavor::Legacy.vip_prefix(&v6).len, 128);
    }

    #[test]
    fn encap_byte_order_per_flavor() {
        assert_eq!(LbFlavor::Master.encap_to_wire(LbEncapType::Gre6).to_be_bytes(), [0, 0, 0, 1]);
        assert_eq!(LbFlavor::Legacy.encap_to_wire(LbEncapType::Gre6).to_be_bytes(), [1, 0, 0, 0]);
        assert_eq!(LbFlavor::Legacy.encap_to_wire(LbEncapType::Gre4), 0);
    }

    #[test]
    fn srv_type_uses_first_wire_byte() {
        assert_eq!(srv_type_to_wire(LbSrvType::NodePort).to_be_bytes(), [1, 0, 0, 0]);
        assert_eq!(srv_type_from_wire(0x0100_0000), LbSrvType::NodePort);
        assert_eq!(srv_type_from_wire(1), LbSrvType::ClusterIp);
    }

    #[test]
    fn all_port_vips_use_protocol_255() {
        let k = VipKey::new("192.0.2.1".parse().unwrap(), 32, ip_proto::TCP, 0);
        assert_eq!(k.protocol, 255);
        assert_eq!(k.to_string(), "192.0.2.1/32 all-ports");
        assert_eq!(vip4().to_string(), "192.0.2.1/32 tcp/80");
    }

    #[test]
    fn legacy_details_are_normalised() {
        let d = LbVipDetails {
            context: 1,
            vip: LbVip { pfx: Prefix::new("192.0.2.1".parse().unwrap(), 128), protocol: 0, port: 80 },
            encap: LbVipType::Ip4Gre6 as u32,
            flow_table_length: 0,
            ..Default::default()
        };
        let e = LbFlavor::Legacy.vip_from_details(&d);
        assert_eq!(e.key.len, 32);
        assert!(!e.protocol_known);
        assert_eq!(e.encap, Some(LbEncapType::Gre6));
        assert_eq!(e.flow_table_length, None);

        let d = LbVipDetails {
            vip: LbVip { pfx: Prefix::new("192.0.2.1".parse().unwrap(), 32), protocol: 6, port: 80 },
            encap: 1,
            flow_table_length: 1024,
            ..Default::default()
        };
        let e = LbFlavor::Master.vip_from_details(&d);
        assert_eq!(e.key, vip4());
        assert_eq!(e.encap, Some(LbEncapType::Gre6));
        assert_eq!(e.flow_table_length, Some(1024));
    }

    #[test]
    fn as_details_typed() {
        let d = LbAsV2Details {
            context: 1,
            vip: LbVip { pfx: Prefix::new("192.0.2.1".parse().unwrap(), 32), protocol: 6, port: 80 },
            app_srv: Address::from_ip("2001:db8::1".parse().unwrap()),
            flags: 1,
            in_use_since: 0,
            weight: 50,
            num_buckets: 512,
        };
        let a = LbFlavor::Master.as_from_details(&d);
        assert!(a.in_use);
        assert_eq!(a.vip, vip4());
        assert_eq!(a.address.to_string(), "2001:db8::1");
        assert_eq!((a.weight, a.num_buckets), (50, 512));
    }

    #[test]
    fn master_messages_are_known() {
        for m in MASTER_MESSAGES {
            assert!(crate::messages::find_message(m).is_some(), "{m}");
        }
        assert_eq!(LbFlavor::MARKER, LbConfGet::NAME_CRC);
    }
}
