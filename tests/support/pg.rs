//! Real traffic through real VPP's lb plugin with VPP's packet generator:
//! TCP packets written to a pcap enter the graph at `ip4-input`, and what
//! leaves (GRE to an AS) is captured to a second pcap and read back. Each
//! captured packet says which AS got which client's flow.

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
    pub src: Ipv4Addr,
    pub sport: u16,
    pub dst: Ipv4Addr,
    pub dport: u16,
    pub flags: u8,
}

/// One captured packet: the AS it was sent to and the client packet inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub as_addr: IpAddr,
    pub src: Ipv4Addr,
    pub sport: u16,
    /// The VIP the client sent to.
    pub dst: Ipv4Addr,
}

/// `n` SYNs to `dst:dport` from `n` distinct sources counted from `first`.
pub fn syns_from(first: Ipv4Addr, n: u32, dst: Ipv4Addr, dport: u16) -> Vec<TcpPacket> {
    (0..n)
        .map(|i| TcpPacket {
            src: Ipv4Addr::from(u32::from(first) + i),
            sport: 40000,
            dst,
            dport,
            flags: SYN,
        })
        .collect()
}

/// The packet generator's interface on one real VPP: `pg0` on a /24 of its
/// own, with a neighbour entry for every AS so that GRE can leave.
pub struct Pg {
    rounds: u32,
}

impl Pg {
    /// Creates `pg0` with `addr/24` (the ASes must be in that /24) and a
    /// neighbour entry for each AS, and starts capturing.
    pub fn new(vpp: &Vpp, addr: Ipv4Addr, ases: &[Ipv4Addr]) -> Pg {
        assert!(vpp.is_real(), "the packet generator needs real VPP");
        for cmd in [
            "create packet-generator interface pg0".to_string(),
            format!("set int ip address pg0 {addr}/24"),
            "set int state pg0 up".to_string(),
        ] {
            let out = vpp.cli(&cmd);
            assert!(!out.contains("error") && !out.contains("unknown"), "{cmd}: {out}");
        }
        for (i, a) in ases.iter().enumerate() {
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
        write_pcap(&input, packets.iter().map(ipv4_tcp));
        let stream = format!("s{round}");
        for cmd in [
            format!(
                "packet-generator new {{ name {stream} limit {} interface pg0 node ip4-input pcap {} }}",
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

/// An IPv4 TCP packet with valid checksums and no payload.
pub fn ipv4_tcp(p: &TcpPacket) -> Vec<u8> {
    let mut ip = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0];
    ip.extend_from_slice(&p.src.octets());
    ip.extend_from_slice(&p.dst.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut tcp = Vec::with_capacity(20);
    tcp.extend_from_slice(&p.sport.to_be_bytes());
    tcp.extend_from_slice(&p.dport.to_be_bytes());
    tcp.extend_from_slice(&1u32.to_be_bytes()); // seq
    tcp.extend_from_slice(&(if p.flags & ACK != 0 { 1u32 } else { 0 }).to_be_bytes());
    tcp.extend_from_slice(&[0x50, p.flags, 0xff, 0xff, 0, 0, 0, 0]);
    let mut pseudo = Vec::with_capacity(32);
    pseudo.extend_from_slice(&p.src.octets());
    pseudo.extend_from_slice(&p.dst.octets());
    pseudo.extend_from_slice(&[0, 6, 0, 20]);
    pseudo.extend_from_slice(&tcp);
    let sum = checksum(&pseudo);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&tcp);
    ip
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
/// an IPv4 TCP packet inside; anything else in it fails the test.
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
    let ihl = usize::from(inner.first()? & 0x0f) * 4;
    let src: [u8; 4] = inner.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = inner.get(16..20)?.try_into().ok()?;
    let sport = u16::from_be_bytes(inner.get(ihl..ihl + 2)?.try_into().ok()?);
    Some(Delivered { as_addr, src: src.into(), sport, dst: dst.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_packet_checksums_verify() {
        let p = TcpPacket {
            src: Ipv4Addr::new(10, 1, 2, 3),
            sport: 40000,
            dst: Ipv4Addr::new(192, 0, 2, 1),
            dport: 80,
            flags: SYN,
        };
        let b = ipv4_tcp(&p);
        assert_eq!(b.len(), 40);
        assert_eq!(checksum(&b[..20]), 0, "IPv4 header checksum");
        let mut pseudo = b[12..20].to_vec();
        pseudo.extend_from_slice(&[0, 6, 0, 20]);
        pseudo.extend_from_slice(&b[20..]);
        assert_eq!(checksum(&pseudo), 0, "TCP checksum");
    }

    #[test]
    fn gre_frames_name_the_as_and_the_client() {
        let inner = ipv4_tcp(&TcpPacket {
            src: Ipv4Addr::new(10, 1, 2, 3),
            sport: 4242,
            dst: Ipv4Addr::new(192, 0, 2, 1),
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
        assert_eq!((d.src, d.sport, d.dst), (Ipv4Addr::new(10, 1, 2, 3), 4242, Ipv4Addr::new(192, 0, 2, 1)));
        assert!(parse_gre_frame(&f[..20]).is_none());
    }
}
