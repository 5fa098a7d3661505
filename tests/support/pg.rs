//! Real traffic through real VPP's lb plugin with VPP's packet generator:
//! TCP packets (IPv4 or IPv6) written to a pcap enter the graph at
//! `ip4-input` or `ip6-input`, and what leaves (GRE to an AS) is captured
//! to a second pcap and read back. Each captured packet says which AS got
//! which client's flow.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::Vpp;

/// TCP flags of a packet.
pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;

/// One TCP packet of a client to a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpPacket {
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub flags: u8,
}

/// One captured packet: the AS it was sent to and the client packet inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub as_addr: IpAddr,
    pub src: IpAddr,
    pub sport: u16,
    /// The VIP the client sent to.
    pub dst: IpAddr,
}

/// `n` SYNs to `dst:dport` from `n` distinct sources counted from `first`.
pub fn syns_from(first: impl Into<IpAddr>, n: u32, dst: impl Into<IpAddr>, dport: u16) -> Vec<TcpPacket> {
    let (first, dst) = (first.into(), dst.into());
    (0..n).map(|i| TcpPacket { src: plus(first, i), sport: 40000, dst, dport, flags: SYN }).collect()
}

fn plus(a: IpAddr, i: u32) -> IpAddr {
    match a {
        IpAddr::V4(v) => IpAddr::V4(Ipv4Addr::from(u32::from(v) + i)),
        IpAddr::V6(v) => IpAddr::V6(Ipv6Addr::from(u128::from(v) + u128::from(i))),
    }
}

/// The packet generator's interface on one real VPP: `pg0` on a /24 (IPv4)
/// or /64 (IPv6) of its own, with a neighbour entry for every AS so that
/// GRE can leave.
pub struct Pg {
    rounds: u32,
}

impl Pg {
    /// Creates `pg0` with `addr/24` or `addr/64` (the ASes must be in that
    /// prefix) and a
    /// neighbour entry for each AS, and starts capturing.
    pub fn new<A: Into<IpAddr> + Copy>(vpp: &Vpp, addr: impl Into<IpAddr>, ases: &[A]) -> Pg {
        let addr = addr.into();
        let len = if addr.is_ipv4() { 24 } else { 64 };
        assert!(vpp.is_real(), "the packet generator needs real VPP");
        for cmd in [
            "create packet-generator interface pg0".to_string(),
            format!("set int ip address pg0 {addr}/{len}"),
            "set int state pg0 up".to_string(),
        ] {
            let out = vpp.cli(&cmd);
            assert!(!out.contains("error") && !out.contains("unknown"), "{cmd}: {out}");
        }
        for (i, a) in ases.iter().enumerate() {
            let a: IpAddr = (*a).into();
            let cmd = format!("set ip neighbor pg0 {a} 02:00:00:00:00:{:02x}", i + 1);
            let out = vpp.cli(&cmd);
            assert!(!out.contains("error") && !out.contains("unknown"), "{cmd}: {out}");
        }
        Pg { rounds: 0 }
    }

    /// Sends `packets` through VPP and returns what left pg0, in order.
    /// Each call is a new one-shot stream with a new capture. One `Pg` per
    /// VPP: it owns `pg0`.
    pub fn send(&mut self, vpp: &Vpp, packets: &[TcpPacket]) -> Vec<Delivered> {
        self.rounds += 1;
        let round = self.rounds;
        let input = vpp.dir.join(&format!("pg-in-{round}.pcap"));
        let output = vpp.dir.join(&format!("pg-out-{round}.pcap"));
        let v4 = packets.first().is_none_or(|p| p.src.is_ipv4());
        assert!(
            packets.iter().all(|p| p.src.is_ipv4() == v4 && p.dst.is_ipv4() == v4),
            "one family per round"
        );
        write_pcap(&input, packets.iter().map(ip_tcp));
        let stream = format!("s{round}");
        let node = if v4 { "ip4-input" } else { "ip6-input" };
        for cmd in [
            format!(
                "packet-generator new {{ name {stream} limit {} interface pg0 node {node} pcap {} }}",
                packets.len(),
                input.display()
            ),
            format!("packet-generator capture pg0 pcap {} count {}", output.display(), packets.len()),
            format!("packet-generator enable-stream {stream}"),
        ] {
            let out = vpp.cli(&cmd);
            assert!(!out.contains("unknown input"), "{cmd}: {out}");
        }
        // The stream runs to its limit and disables itself; the capture is
        // written when it holds `count` packets or is disabled.
        let deadline = Instant::now() + Duration::from_secs(20);
        let limit = packets.len().to_string();
        loop {
            let show = vpp.cli("show packet-generator");
            let done = show.lines().any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() >= 3 && w[0] == stream && w[1] == "No" && w[2] == limit
            });
            if done {
                break;
            }
            assert!(Instant::now() < deadline, "stream {stream} never finished:\n{show}");
            std::thread::sleep(Duration::from_millis(20));
        }
        vpp.cli("packet-generator capture pg0 disable");
        vpp.cli(&format!("packet-generator delete {stream}"));
        if !output.exists() {
            return Vec::new(); // nothing left pg0: VPP wrote no capture
        }
        read_gre_pcap(&output)
    }
}

/// Writes `packets` (bare IP packets) as a pcap file of link type RAW.
pub fn write_pcap(path: &Path, packets: impl Iterator<Item = Vec<u8>>) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&101u32.to_le_bytes()); // LINKTYPE_RAW
    for p in packets {
        out.extend_from_slice(&[0; 8]); // timestamp
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(&p);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// An IPv4 or IPv6 TCP packet with valid checksums and no payload.
pub fn ip_tcp(p: &TcpPacket) -> Vec<u8> {
    let (src, dst) = (octets(p.src), octets(p.dst));
    let mut ip = if p.src.is_ipv4() {
        let mut h = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        let sum = checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        h
    } else {
        let mut h = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h
    };
    let mut tcp = Vec::with_capacity(20);
    tcp.extend_from_slice(&p.sport.to_be_bytes());
    tcp.extend_from_slice(&p.dport.to_be_bytes());
    tcp.extend_from_slice(&1u32.to_be_bytes()); // seq
    tcp.extend_from_slice(&(if p.flags & ACK != 0 { 1u32 } else { 0 }).to_be_bytes());
    tcp.extend_from_slice(&[0x50, p.flags, 0xff, 0xff, 0, 0, 0, 0]);
    // The pseudo-header's sum is the same in both layouts: addresses,
    // protocol 6, TCP length 20.
    let mut pseudo = Vec::with_capacity(60);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6, 0, 20]);
    pseudo.extend_from_slice(&tcp);
    let sum = checksum(&pseudo);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&tcp);
    ip
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 =
        bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Reads a capture of Ethernet frames carrying GRE (over IPv4 or IPv6) with
/// a TCP packet (IPv4 or IPv6) inside; anything else in it fails the test.
pub fn read_gre_pcap(path: &Path) -> Vec<Delivered> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(data.len() >= 24, "{}: no pcap header", path.display());
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let caplen = u32::from_le_bytes(data[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
        let frame = &data[at + 16..(at + 16 + caplen).min(data.len())];
        at += 16 + caplen;
        out.push(parse_gre_frame(frame).unwrap_or_else(|| panic!("not GRE with TCP inside: {frame:02x?}")));
    }
    out
}

fn parse_gre_frame(f: &[u8]) -> Option<Delivered> {
    let ethertype = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    let (as_addr, inner) = match ethertype {
        0x0800 => {
            let ihl = usize::from(f.get(14)? & 0x0f) * 4;
            let dst: [u8; 4] = f.get(30..34)?.try_into().ok()?;
            (IpAddr::V4(dst.into()), f.get(14 + ihl + 4..)?)
        }
        0x86dd => {
            let dst: [u8; 16] = f.get(38..54)?.try_into().ok()?;
            (IpAddr::V6(Ipv6Addr::from(dst)), f.get(14 + 40 + 4..)?)
        }
        _ => return None,
    };
    // The client's packet, after the 4-byte GRE header.
    let (src, dst, tcp): (IpAddr, IpAddr, usize) = match inner.first()? >> 4 {
        4 => {
            let src: [u8; 4] = inner.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = inner.get(16..20)?.try_into().ok()?;
            (src.into(), dst.into(), usize::from(inner[0] & 0x0f) * 4)
        }
        6 => {
            let src: [u8; 16] = inner.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = inner.get(24..40)?.try_into().ok()?;
            (src.into(), dst.into(), 40)
        }
        _ => return None,
    };
    let sport = u16::from_be_bytes(inner.get(tcp..tcp + 2)?.try_into().ok()?);
    Some(Delivered { as_addr, src, sport, dst })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_packet_checksums_verify() {
        let p = syns_from(Ipv4Addr::new(10, 1, 2, 3), 1, Ipv4Addr::new(192, 0, 2, 1), 80)[0];
        let b = ip_tcp(&p);
        assert_eq!(b.len(), 40);
        assert_eq!(checksum(&b[..20]), 0, "IPv4 header checksum");
        let mut pseudo = b[12..20].to_vec();
        pseudo.extend_from_slice(&[0, 6, 0, 20]);
        pseudo.extend_from_slice(&b[20..]);
        assert_eq!(checksum(&pseudo), 0, "TCP checksum");
    }

    #[test]
    fn gre_frames_name_the_as_and_the_client() {
        let inner = ip_tcp(&TcpPacket {
            src: Ipv4Addr::new(10, 1, 2, 3).into(),
            sport: 4242,
            dst: Ipv4Addr::new(192, 0, 2, 1).into(),
            dport: 80,
            flags: SYN,
        });
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45]);
        f.extend_from_slice(&[0; 15]);
        f.extend_from_slice(&[198, 51, 100, 7]);
        f.extend_from_slice(&[0, 0, 0x08, 0x00]);
        f.extend_from_slice(&inner);
        let d = parse_gre_frame(&f).expect("parsed");
        assert_eq!(d.as_addr, IpAddr::from([198, 51, 100, 7]));
        assert_eq!(
            (d.src, d.sport, d.dst),
            (IpAddr::from([10, 1, 2, 3]), 4242, IpAddr::from([192, 0, 2, 1]))
        );
        assert!(parse_gre_frame(&f[..20]).is_none());
    }

    #[test]
    fn ipv6_packets_checksum_and_parse() {
        let p = syns_from(
            "2001:db8:5::1".parse::<Ipv6Addr>().unwrap(),
            2,
            "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
            80,
        )[1];
        assert_eq!(p.src, "2001:db8:5::2".parse::<IpAddr>().unwrap());
        let b = ip_tcp(&p);
        assert_eq!((b.len(), b[0] >> 4, b[6]), (60, 6, 6));
        let mut pseudo = b[8..40].to_vec();
        pseudo.extend_from_slice(&[0, 6, 0, 20]);
        pseudo.extend_from_slice(&b[40..]);
        assert_eq!(checksum(&pseudo), 0, "TCP checksum");
        // GRE over IPv6 to 2001:db8:99::7 carrying it.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd, 0x60]);
        f.extend_from_slice(&[0; 23]);
        f.extend_from_slice(&"2001:db8:99::7".parse::<Ipv6Addr>().unwrap().octets());
        f.extend_from_slice(&[0, 0, 0x86, 0xdd]);
        f.extend_from_slice(&b);
        let d = parse_gre_frame(&f).expect("parsed");
        assert_eq!(d.as_addr, "2001:db8:99::7".parse::<IpAddr>().unwrap());
        assert_eq!((d.src, d.sport, d.dst), (p.src, 40000, p.dst));
    }
}
