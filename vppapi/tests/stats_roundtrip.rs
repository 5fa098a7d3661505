//! Reader against writer: in memory, and through a real stats socket and
//! memfd, including a simulated VPP restart.

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::socket::{
    connect, recvmsg, socket, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr,
};
use vppapi::stats::{
    Combined, EntryId, EntryType, Query, SegmentWriter, StatsClient, StatsError, StatsServer, Value,
    WriterConfig,
};

const LB: [&str; 4] =
    ["packet from existing sessions", "first session packet", "untracked packet", "no server configured"];

fn socket_path(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "vppapi-stats-{tag}-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn config(boottime: u64) -> WriterConfig {
    WriterConfig { size: 1 << 20, threads: 2, boottime, ..WriterConfig::default() }
}

/// A segment shaped like vppsim's: lb counters for VIP indices 0..=2,
/// `/net/route/to` for 8 load-balance indices, `/if/names`, a gauge and a
/// symlink, with values on both threads.
fn populate(w: &mut SegmentWriter) -> Vec<EntryId> {
    let mut ids = Vec::new();
    for name in LB {
        let id = w.add_simple_counter(name, 1).unwrap();
        w.validate_counter(id, 2).unwrap();
        ids.push(id);
    }
    let route = w.add_combined_counter("/net/route/to", 8).unwrap();
    w.add_name_vector("/if/names", &[Some("local0"), None, Some("tap0")]).unwrap();
    w.add_gauge("/sys/vector_rate", 7).unwrap();
    w.add_symlink("/err/lb/first", ids[1], 2).unwrap();
    for (k, id) in ids.iter().enumerate() {
        for vip in 0..3 {
            w.set_simple(*id, 0, vip, (k * 100 + vip) as u64).unwrap();
            w.add_simple(*id, 1, vip, 1000).unwrap();
        }
    }
    w.set_combined(route, 0, 5, 10, 1500).unwrap();
    w.add_combined(route, 1, 5, 3, 300).unwrap();
    ids.push(route);
    ids
}

fn check_populated<S: vppapi::stats::Segment>(c: &mut StatsClient<S>, boottime: u64) {
    assert_eq!(c.boottime().unwrap(), boottime);
    assert_eq!(c.scalar("/sys/last_stats_clear").unwrap(), 0);
    for (k, name) in LB.iter().enumerate() {
        for vip in 0..3u32 {
            assert_eq!(
                c.simple_counter_sum(name, vip).unwrap(),
                (k * 100) as u64 + u64::from(vip) + 1000,
                "{name}[{vip}]"
            );
        }
        // Beyond every thread's vector: counts as 0, as in VPP.
        assert_eq!(c.simple_counter_sum(name, 3).unwrap(), 0);
    }
    assert_eq!(c.combined_counter_sum("/net/route/to", 5).unwrap(), Combined { packets: 13, bytes: 1800 });
    assert_eq!(c.combined_counter_sum("/net/route/to", 4).unwrap(), Combined::default());
    assert_eq!(c.scalar("/sys/vector_rate").unwrap(), 7);
    assert_eq!(c.read_entry("/err/lb/first").unwrap(), Value::Counter(1102));
    assert_eq!(
        c.read_entry("/if/names").unwrap(),
        Value::Names(vec![Some("local0".into()), None, Some("tap0".into())])
    );
    assert_eq!(c.read_entry("first session packet").unwrap(), Value::Counters(vec![1100, 1101, 1102]));
    match c.read_entry("/net/route/to").unwrap() {
        Value::CombinedCounters(v) => {
            assert_eq!(v.len(), 8);
            assert_eq!(v[5], Combined { packets: 13, bytes: 1800 });
        }
        other => panic!("unexpected {other:?}"),
    }
    let entries = c.entries().unwrap();
    assert_eq!(entries[0], ("/sys/last_stats_clear".to_string(), EntryType::ScalarIndex));
    assert_eq!(entries[1], ("/sys/heartbeat".to_string(), EntryType::ScalarIndex));
    assert_eq!(entries[2], ("/sys/boottime".to_string(), EntryType::ScalarIndex));
    assert!(entries.contains(&("/sys/vector_rate".to_string(), EntryType::Gauge)));
    assert!(entries.contains(&("/err/lb/first".to_string(), EntryType::Symlink)));
    assert_eq!(c.names().unwrap().len(), entries.len());
    assert!(matches!(c.scalar("no such entry"), Err(StatsError::NotFound { .. })));
    assert!(matches!(c.scalar("first session packet"), Err(StatsError::WrongType { .. })));
    assert!(matches!(c.combined_counter_sum("first session packet", 0), Err(StatsError::WrongType { .. })));
}

#[test]
fn reads_an_in_memory_segment_as_bytes_and_live() {
    let mut w = SegmentWriter::in_memory(config(1_700_000_000)).unwrap();
    populate(&mut w);
    let mut from_bytes = StatsClient::from_segment(w.to_bytes()).unwrap();
    check_populated(&mut from_bytes, 1_700_000_000);
    let mut live = StatsClient::from_segment(w.memory().unwrap()).unwrap();
    check_populated(&mut live, 1_700_000_000);
    assert_eq!(live.heartbeat().unwrap(), 0);
    w.heartbeat().unwrap();
    w.heartbeat().unwrap();
    assert_eq!(live.heartbeat().unwrap(), 2, "scalars are read in place each time");
}

#[test]
fn batch_read_mixes_values_and_per_query_errors() {
    let mut w = SegmentWriter::in_memory(config(5)).unwrap();
    populate(&mut w);
    let mut c = StatsClient::from_segment(w.memory().unwrap()).unwrap();
    let snap = c
        .read(&[
            Query::scalar("/sys/boottime"),
            Query::simple("first session packet", 1),
            Query::combined("/net/route/to", 5),
            Query::simple("missing", 0),
        ])
        .unwrap();
    assert_eq!(snap.len(), 4);
    assert_eq!(snap.epoch(), w.epoch());
    assert_eq!(snap.scalar(0).unwrap(), 5);
    assert_eq!(snap.counter(1).unwrap(), 1101);
    assert_eq!(snap.combined(2).unwrap(), Combined { packets: 13, bytes: 1800 });
    assert!(matches!(snap.counter(3), Err(StatsError::NotFound { .. })));
    assert!(snap.counter(0).is_err(), "a scalar is not a counter");
}

#[test]
fn entry_removal_and_reuse_refreshes_the_name_index() {
    let mut w = SegmentWriter::in_memory(config(5)).unwrap();
    let a = w.add_simple_counter("a", 1).unwrap();
    w.set_simple(a, 0, 0, 1).unwrap();
    let mut c = StatsClient::from_segment(w.memory().unwrap()).unwrap();
    assert_eq!(c.simple_counter_sum("a", 0).unwrap(), 1);
    w.remove_entry(a).unwrap();
    assert!(matches!(c.simple_counter_sum("a", 0), Err(StatsError::NotFound { .. })));
    let b = w.add_combined_counter("b", 1).unwrap();
    assert_eq!(b, a, "freed slot is reused");
    w.set_combined(b, 1, 0, 4, 5).unwrap();
    assert_eq!(c.combined_counter_sum("b", 0).unwrap(), Combined { packets: 4, bytes: 5 });
    assert!(!c.names().unwrap().contains(&"a".to_string()));
    // Many entries force the directory vector to move.
    for i in 0..200 {
        w.add_scalar(&format!("/x/{i}"), i).unwrap();
    }
    assert_eq!(c.scalar("/x/199").unwrap(), 199);
    assert_eq!(c.combined_counter_sum("b", 0).unwrap(), Combined { packets: 4, bytes: 5 });
}

#[test]
#[cfg_attr(miri, ignore = "sockets, memfd and mmap are foreign calls Miri cannot run")]
fn server_passes_the_memfd_exactly_as_vpp() {
    let mut w = SegmentWriter::memfd(config(42)).unwrap();
    populate(&mut w);
    let path = socket_path("raw");
    std::fs::write(&path, b"stale").unwrap();
    let server = StatsServer::start(&path, w.handle().unwrap()).unwrap();

    let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).unwrap();
    connect(sock.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
    let mut buf = [0u8; 16];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()).unwrap();
    assert_eq!(msg.bytes, 0, "VPP sends zero data bytes");
    let fds: Vec<_> = msg
        .cmsgs()
        .unwrap()
        .flat_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds,
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(fds.len(), 1, "exactly one SCM_RIGHTS descriptor");
    for fd in fds {
        nix::unistd::close(fd).unwrap();
    }
    let mut iov = [IoSliceMut::new(&mut buf)];
    let eof = recvmsg::<()>(sock.as_raw_fd(), &mut iov, None, MsgFlags::empty()).unwrap();
    assert_eq!(eof.bytes, 0, "then the server closes the connection");
    assert_eq!(server.connections_served(), 1);
    server.stop();
    assert!(!path.exists(), "stop removes the socket file");
}

#[test]
#[cfg_attr(miri, ignore = "sockets, memfd and mmap are foreign calls Miri cannot run")]
fn reads_through_the_socket_and_survives_a_restart() {
    let mut w = SegmentWriter::memfd(config(1000)).unwrap();
    let ids = populate(&mut w);
    let path = socket_path("restart");
    let server = StatsServer::start(&path, w.handle().unwrap()).unwrap();

    let mut old = StatsClient::connect(&path).unwrap();
    check_populated(&mut old, 1000);
    // Live updates: in place (no epoch change) and structural.
    let epoch = w.epoch();
    w.heartbeat().unwrap();
    w.add_simple(ids[1], 1, 2, 5).unwrap();
    assert_eq!(w.epoch(), epoch, "value updates do not touch the epoch");
    assert_eq!(old.heartbeat().unwrap(), 1);
    assert_eq!(old.simple_counter_sum(LB[1], 2).unwrap(), 1107);
    w.validate_counter(ids[1], 40).unwrap();
    assert!(w.epoch() > epoch);
    w.set_simple(ids[1], 1, 40, 9).unwrap();
    assert_eq!(old.simple_counter_sum(LB[1], 40).unwrap(), 9);
    assert_eq!(old.simple_counter_sum(LB[1], 2).unwrap(), 1107, "values survive the move");

    // Restart: a new segment with a new boot time.
    let mut w2 = SegmentWriter::memfd(config(2000)).unwrap();
    server.replace_segment(w2.handle().unwrap());
    drop(w);
    let mut new = StatsClient::connect(&path).unwrap();
    assert_eq!(new.boottime().unwrap(), 2000);
    assert!(matches!(new.simple_counter_sum(LB[1], 0), Err(StatsError::NotFound { .. })));
    w2.heartbeat().unwrap();
    w2.add_simple_counter(LB[1], 1).unwrap();
    assert_eq!(new.simple_counter_sum(LB[1], 0).unwrap(), 0);
    // The old mapping stays readable, frozen.
    assert_eq!(old.boottime().unwrap(), 1000);
    assert_eq!(old.heartbeat().unwrap(), 1);
    assert_eq!(old.simple_counter_sum(LB[1], 40).unwrap(), 9);
    assert_eq!(server.connections_served(), 2);
    drop(server);
    assert!(matches!(StatsClient::connect(&path), Err(StatsError::Os { .. })));
}

#[test]
#[cfg_attr(miri, ignore = "sockets, memfd and mmap are foreign calls Miri cannot run")]
fn connecting_to_a_socket_that_sends_nothing_times_out() {
    let path = socket_path("mute");
    let listener = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).unwrap();
    nix::sys::socket::bind(listener.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
    nix::sys::socket::listen(&listener, nix::sys::socket::Backlog::new(4).unwrap()).unwrap();
    let start = std::time::Instant::now();
    let r = StatsClient::connect_with_timeout(&path, std::time::Duration::from_millis(200));
    assert!(matches!(r, Err(StatsError::Os { .. })), "{:?}", r.err());
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    std::fs::remove_file(&path).unwrap();
}
