//! VPP API typedefs, unions and enums used by the messages of this crate
//! (`ip_types.api`, `lb_types.api`, `fib_types.api`, `ip.api`,
//! `memclnt.api`), with conversions to and from `std::net` types.
//!
//! Enum-typed message fields are kept as raw integers in the message
//! structs (VPP versions disagree on their byte order, see [`crate::lb`]);
//! the enums here are the typed view of those integers.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::codec::{DecodeError, FixedString, Reader, Wire};

/// `vl_api_ip4_address_t`: 4 bytes, network order. A newtype (rather than
/// `Ipv4Addr`) so that messages can derive `Default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ip4Address(pub [u8; 4]);

/// `vl_api_ip6_address_t`: 16 bytes, network order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ip6Address(pub [u8; 16]);

impl From<Ipv4Addr> for Ip4Address {
    fn from(a: Ipv4Addr) -> Self {
        Ip4Address(a.octets())
    }
}

impl From<Ip4Address> for Ipv4Addr {
    fn from(a: Ip4Address) -> Self {
        Ipv4Addr::from(a.0)
    }
}

impl From<Ipv6Addr> for Ip6Address {
    fn from(a: Ipv6Addr) -> Self {
        Ip6Address(a.octets())
    }
}

impl From<Ip6Address> for Ipv6Addr {
    fn from(a: Ip6Address) -> Self {
        Ipv6Addr::from(a.0)
    }
}

impl fmt::Display for Ip4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ipv4Addr::from(self.0).fmt(f)
    }
}

impl fmt::Display for Ip6Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ipv6Addr::from(self.0).fmt(f)
    }
}

impl Wire for Ip4Address {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.0);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Ip4Address(r.array()?))
    }
}

impl Wire for Ip6Address {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.0);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Ip6Address(r.array()?))
    }
}

/// `vl_api_address_family_t` (u8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AddressFamily {
    #[default]
    Ip4 = 0,
    Ip6 = 1,
}

impl Wire for AddressFamily {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.push(*self as u8);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        match u8::get(r)? {
            0 => Ok(AddressFamily::Ip4),
            1 => Ok(AddressFamily::Ip6),
            v => Err(r.invalid(at, v.into(), "address family 0 (IPv4) or 1 (IPv6)")),
        }
    }
}

/// `vl_api_address_t`: family plus the 16-byte `vl_api_address_union_t`.
///
/// The union bytes are kept raw so that every encoding round-trips,
/// including the version-independent IPv4 form (`af` = IPv6 with the IPv4
/// address in bytes 12..15, see [`crate::lb`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Address {
    pub af: AddressFamily,
    /// IPv4: bytes 0..3, rest zero. IPv6: all 16 bytes.
    pub un: [u8; 16],
}

impl Address {
    pub fn from_ip(ip: IpAddr) -> Self {
        let mut un = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => {
                un[..4].copy_from_slice(&v4.octets());
                Address { af: AddressFamily::Ip4, un }
            }
            IpAddr::V6(v6) => Address { af: AddressFamily::Ip6, un: v6.octets() },
        }
    }

    /// The address as VPP's API would interpret it for this family.
    pub fn to_ip(self) -> IpAddr {
        match self.af {
            AddressFamily::Ip4 => IpAddr::V4(Ipv4Addr::new(self.un[0], self.un[1], self.un[2], self.un[3])),
            AddressFamily::Ip6 => IpAddr::V6(Ipv6Addr::from(self.un)),
        }
    }
}

impl From<IpAddr> for Address {
    fn from(ip: IpAddr) -> Self {
        Address::from_ip(ip)
    }
}

impl From<Ipv4Addr> for Address {
    fn from(ip: Ipv4Addr) -> Self {
        Address::from_ip(IpAddr::V4(ip))
    }
}

impl From<Ipv6Addr> for Address {
    fn from(ip: Ipv6Addr) -> Self {
        Address::from_ip(IpAddr::V6(ip))
    }
}

impl From<Address> for IpAddr {
    fn from(a: Address) -> Self {
        a.to_ip()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_ip().fmt(f)
    }
}

impl Wire for Address {
    fn put(&self, buf: &mut Vec<u8>) {
        self.af.put(buf);
        buf.extend_from_slice(&self.un);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Address { af: AddressFamily::get(r)?, un: r.array()? })
    }
}

/// `vl_api_prefix_t`: address plus `u8 len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prefix {
    pub address: Address,
    pub len: u8,
}

/// `vl_api_address_with_prefix_t` is an alias with identical bytes (host
/// bits may be set).
pub type AddressWithPrefix = Prefix;

impl Prefix {
    pub fn new(ip: IpAddr, len: u8) -> Self {
        Prefix { address: Address::from_ip(ip), len }
    }

    pub fn ip(self) -> IpAddr {
        self.address.to_ip()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.len)
    }
}

impl Wire for Prefix {
    fn put(&self, buf: &mut Vec<u8>) {
        self.address.put(buf);
        self.len.put(buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Prefix { address: Address::get(r)?, len: u8::get(r)? })
    }
}

/// `vl_api_prefix_matcher_t`: `le`, `ge` (255 = unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PrefixMatcher {
    pub le: u8,
    pub ge: u8,
}

impl Wire for PrefixMatcher {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&[self.le, self.ge]);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let [le, ge] = r.array()?;
        Ok(PrefixMatcher { le, ge })
    }
}

/// IP protocol numbers (`vl_api_ip_proto_t`, u8) that matter for LB VIPs.
pub mod ip_proto {
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    /// Also "all protocols / all ports" for an LB VIP with port 0.
    pub const RESERVED: u8 = 255;
}

/// `vl_api_lb_vip_t`: prefix, protocol (u8) and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LbVip {
    pub pfx: AddressWithPrefix,
    pub protocol: u8,
    pub port: u16,
}

impl Wire for LbVip {
    fn put(&self, buf: &mut Vec<u8>) {
        self.pfx.put(buf);
        self.protocol.put(buf);
        self.port.put(buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LbVip { pfx: Prefix::get(r)?, protocol: u8::get(r)?, port: u16::get(r)? })
    }
}

/// `vl_api_lb_encap_type_t` (u32 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LbEncapType {
    Gre4 = 0,
    Gre6 = 1,
    L3dsr = 2,
    Nat4 = 3,
    Nat6 = 4,
}

impl LbEncapType {
    pub const ALL: [LbEncapType; 5] =
        [LbEncapType::Gre4, LbEncapType::Gre6, LbEncapType::L3dsr, LbEncapType::Nat4, LbEncapType::Nat6];

    pub fn from_u32(v: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|e| *e as u32 == v)
    }

    /// The name VPP's CLI uses (`encap gre4` …).
    pub fn name(self) -> &'static str {
        match self {
            LbEncapType::Gre4 => "gre4",
            LbEncapType::Gre6 => "gre6",
            LbEncapType::L3dsr => "l3dsr",
            LbEncapType::Nat4 => "nat4",
            LbEncapType::Nat6 => "nat6",
        }
    }
}

impl fmt::Display for LbEncapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `vl_api_lb_srv_type_t` (u32 on the wire; VPP reads it in host order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LbSrvType {
    ClusterIp = 0,
    NodePort = 1,
}

/// VPP's internal `lb_vip_type_t`: what legacy VPP reports as `encap` in
/// `lb_vip_details`, and the first word of each VIP in `show lb vips`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LbVipType {
    Ip6Gre6 = 0,
    Ip6Gre4 = 1,
    Ip4Gre6 = 2,
    Ip4Gre4 = 3,
    Ip4L3dsr = 4,
    Ip4Nat4 = 5,
    Ip6Nat6 = 6,
}

impl LbVipType {
    pub const ALL: [LbVipType; 7] = [
        LbVipType::Ip6Gre6,
        LbVipType::Ip6Gre4,
        LbVipType::Ip4Gre6,
        LbVipType::Ip4Gre4,
        LbVipType::Ip4L3dsr,
        LbVipType::Ip4Nat4,
        LbVipType::Ip6Nat6,
    ];

    pub fn from_u32(v: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u32 == v)
    }

    pub fn name(self) -> &'static str {
        match self {
            LbVipType::Ip6Gre6 => "ip6-gre6",
            LbVipType::Ip6Gre4 => "ip6-gre4",
            LbVipType::Ip4Gre6 => "ip4-gre6",
            LbVipType::Ip4Gre4 => "ip4-gre4",
            LbVipType::Ip4L3dsr => "ip4-l3dsr",
            LbVipType::Ip4Nat4 => "ip4-nat4",
            LbVipType::Ip6Nat6 => "ip6-nat6",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The API encap this internal type was created with.
    pub fn encap(self) -> LbEncapType {
        match self {
            LbVipType::Ip6Gre6 | LbVipType::Ip4Gre6 => LbEncapType::Gre6,
            LbVipType::Ip6Gre4 | LbVipType::Ip4Gre4 => LbEncapType::Gre4,
            LbVipType::Ip4L3dsr => LbEncapType::L3dsr,
            LbVipType::Ip4Nat4 => LbEncapType::Nat4,
            LbVipType::Ip6Nat6 => LbEncapType::Nat6,
        }
    }

    pub fn is_ip4(self) -> bool {
        self.name().starts_with("ip4")
    }
}

impl fmt::Display for LbVipType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `vl_api_message_table_entry_t`: one row of VPP's message table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageTableEntry {
    pub index: u16,
    pub name: FixedString<64>,
}

impl MessageTableEntry {
    pub const WIRE_SIZE: usize = 66;
}

impl Wire for MessageTableEntry {
    fn put(&self, buf: &mut Vec<u8>) {
        self.index.put(buf);
        self.name.put(buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MessageTableEntry { index: u16::get(r)?, name: FixedString::get(r)? })
    }
}

/// `vl_api_fib_mpls_label_t` (7 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FibMplsLabel {
    pub is_uniform: u8,
    pub label: u32,
    pub ttl: u8,
    pub exp: u8,
}

impl Wire for FibMplsLabel {
    fn put(&self, buf: &mut Vec<u8>) {
        self.is_uniform.put(buf);
        self.label.put(buf);
        self.ttl.put(buf);
        self.exp.put(buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FibMplsLabel { is_uniform: u8::get(r)?, label: u32::get(r)?, ttl: u8::get(r)?, exp: u8::get(r)? })
    }
}

/// `vl_api_fib_path_nh_t` (28 bytes). `address` is a bare union: its family
/// is given by the path's `proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FibPathNh {
    pub address: [u8; 16],
    pub via_label: u32,
    pub obj_id: u32,
    pub classify_table_index: u32,
}

impl Wire for FibPathNh {
    fn put(&self, buf: &mut Vec<u8>) {
        self.address.put(buf);
        self.via_label.put(buf);
        self.obj_id.put(buf);
        self.classify_table_index.put(buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FibPathNh {
            address: r.array()?,
            via_label: u32::get(r)?,
            obj_id: u32::get(r)?,
            classify_table_index: u32::get(r)?,
        })
    }
}

/// `vl_api_fib_path_t` (167 bytes). The enum fields (`type`, `flags`,
/// `proto`) are u32 values; `label_stack` always has 16 entries on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FibPath {
    pub sw_if_index: u32,
    pub table_id: u32,
    pub rpf_id: u32,
    pub weight: u8,
    pub preference: u8,
    pub path_type: u32,
    pub flags: u32,
    pub proto: u32,
    pub nh: FibPathNh,
    pub n_labels: u8,
    pub label_stack: [FibMplsLabel; 16],
}

impl FibPath {
    pub const WIRE_SIZE: usize = 167;
}

impl Wire for FibPath {
    fn put(&self, buf: &mut Vec<u8>) {
        self.sw_if_index.put(buf);
        self.table_id.put(buf);
        self.rpf_id.put(buf);
        self.weight.put(buf);
        self.preference.put(buf);
        self.path_type.put(buf);
        self.flags.put(buf);
        self.proto.put(buf);
        self.nh.put(buf);
        self.n_labels.put(buf);
        self.label_stack.put(buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FibPath {
            sw_if_index: u32::get(r)?,
            table_id: u32::get(r)?,
            rpf_id: u32::get(r)?,
            weight: u8::get(r)?,
            preference: u8::get(r)?,
            path_type: u32::get(r)?,
            flags: u32::get(r)?,
            proto: u32::get(r)?,
            nh: FibPathNh::get(r)?,
            n_labels: u8::get(r)?,
            label_stack: Wire::get(r)?,
        })
    }
}

/// Reads `count` elements of a VLA, checking first that the payload can hold
/// them all (a lying count must not cause a large allocation).
pub(crate) fn get_vla<T: Wire>(
    r: &mut Reader<'_>,
    count: usize,
    elem_size: usize,
) -> Result<Vec<T>, DecodeError> {
    let needed = count.saturating_mul(elem_size);
    if needed > r.remaining() {
        return Err(DecodeError::Truncated {
            message: "",
            field: "",
            offset: r.position(),
            needed,
            available: r.remaining(),
        });
    }
    (0..count).map(|_| T::get(r)).collect()
}

/// `vl_api_ip_route_t`: table, stats index, prefix and the `paths` VLA
/// (its count `n_paths` is derived from `paths` on encode; at most 255 paths
/// are encoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpRoute {
    pub table_id: u32,
    pub stats_index: u32,
    pub prefix: Prefix,
    pub paths: Vec<FibPath>,
}

fn put_paths(paths: &[FibPath], buf: &mut Vec<u8>) {
    for p in paths.iter().take(usize::from(u8::MAX)) {
        p.put(buf);
    }
}

fn n_paths(paths: &[FibPath]) -> u8 {
    u8::try_from(paths.len()).unwrap_or(u8::MAX)
}

impl Wire for IpRoute {
    fn put(&self, buf: &mut Vec<u8>) {
        self.table_id.put(buf);
        self.stats_index.put(buf);
        self.prefix.put(buf);
        n_paths(&self.paths).put(buf);
        put_paths(&self.paths, buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let table_id = u32::get(r)?;
        let stats_index = u32::get(r)?;
        let prefix = Prefix::get(r)?;
        let n = u8::get(r)?;
        let paths = get_vla(r, n.into(), FibPath::WIRE_SIZE)?;
        Ok(IpRoute { table_id, stats_index, prefix, paths })
    }
}

/// `vl_api_ip_route_v2_t`: like [`IpRoute`] with the route source `src`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpRouteV2 {
    pub table_id: u32,
    pub stats_index: u32,
    pub prefix: Prefix,
    pub src: u8,
    pub paths: Vec<FibPath>,
}

impl Wire for IpRouteV2 {
    fn put(&self, buf: &mut Vec<u8>) {
        self.table_id.put(buf);
        self.stats_index.put(buf);
        self.prefix.put(buf);
        n_paths(&self.paths).put(buf);
        self.src.put(buf);
        put_paths(&self.paths, buf);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let table_id = u32::get(r)?;
        let stats_index = u32::get(r)?;
        let prefix = Prefix::get(r)?;
        let n = u8::get(r)?;
        let src = u8::get(r)?;
        let paths = get_vla(r, n.into(), FibPath::WIRE_SIZE)?;
        Ok(IpRouteV2 { table_id, stats_index, prefix, src, paths })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc<T: Wire>(v: &T) -> Vec<u8> {
        let mut b = Vec::new();
        v.put(&mut b);
        b
    }

    #[test]
    fn prefix_layout_matches_reference() {
        let p = Prefix::new("192.0.2.1".parse().unwrap(), 32);
        let mut want = vec![0u8, 0xc0, 0, 2, 1];
        want.extend([0u8; 12]);
        want.push(32);
        assert_eq!(enc(&p), want);
        assert_eq!(p.to_string(), "192.0.2.1/32");
        let a = Address::from_ip("2001:db8::1".parse().unwrap());
        let b = enc(&a);
        assert_eq!(b[0], 1);
        assert_eq!(Address::get(&mut Reader::new(&b)).unwrap().to_ip().to_string(), "2001:db8::1");
    }

    #[test]
    fn bad_family_is_an_error() {
        let mut b = vec![7u8];
        b.extend([0u8; 16]);
        let err = Address::get(&mut Reader::new(&b)).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidValue { value: 7, offset: 0, .. }), "{err:?}");
    }

    #[test]
    fn route_vla_count_is_checked() {
        let route = IpRoute {
            table_id: 0,
            stats_index: 17,
            prefix: Prefix::new("192.0.2.1".parse().unwrap(), 32),
            paths: vec![FibPath::default(); 2],
        };
        let b = enc(&route);
        assert_eq!(b.len(), 27 + 2 * FibPath::WIRE_SIZE);
        assert_eq!(IpRoute::get(&mut Reader::new(&b)).unwrap(), route);
        // One byte short of the second path.
        assert!(IpRoute::get(&mut Reader::new(&b[..b.len() - 1])).is_err());
    }

    #[test]
    fn enums_know_their_values() {
        assert_eq!(LbEncapType::from_u32(4), Some(LbEncapType::Nat6));
        assert_eq!(LbEncapType::from_u32(5), None);
        assert_eq!(LbVipType::from_name("ip4-gre4"), Some(LbVipType::Ip4Gre4));
        assert_eq!(LbVipType::Ip4Gre4 as u32, 3);
        assert_eq!(LbVipType::Ip6Nat6.encap(), LbEncapType::Nat6);
    }
}
