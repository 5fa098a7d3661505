//! VPP's own Python stats reader (`vpp_papi.vpp_stats.VPPStats`, from
//! PyPI) reads a segment served by `StatsServer` and must see exactly what
//! was written. The venv is created once under the cargo target's temp dir
//! and reused; if PyPI cannot be reached the test fails (it never skips).

mod papi_venv;

use papi_venv::venv_python;
use std::path::Path;
use std::process::Command;

use vppapi::stats::{Combined, SegmentWriter, StatsClient, StatsServer, Value, WriterConfig};

const LB: [&str; 4] =
    ["packet from existing sessions", "first session packet", "untracked packet", "no server configured"];

#[test]
#[cfg_attr(miri, ignore = "sockets, memfd and mmap are foreign calls Miri cannot run")]
fn vpp_papi_reads_the_served_segment() {
    let python = venv_python();

    let mut w = SegmentWriter::memfd(WriterConfig {
        size: 2 << 20,
        threads: 2,
        boottime: 1_767_000_000,
        ..WriterConfig::default()
    })
    .unwrap();
    let mut lb = Vec::new();
    for name in LB {
        let id = w.add_simple_counter(name, 1).unwrap();
        w.validate_counter(id, 3).unwrap();
        lb.push(id);
    }
    let route = w.add_combined_counter("/net/route/to", 1).unwrap();
    w.validate_counter(route, 9).unwrap();
    w.add_name_vector("/if/names", &[Some("local0")]).unwrap();
    let names = w.find("/if/names").unwrap();
    w.set_name(names, 2, "tap0").unwrap();
    w.add_gauge("/sys/vector_rate", 3).unwrap();
    w.add_symlink("/err/lb/first", lb[1], 2).unwrap();
    for (k, id) in lb.iter().enumerate() {
        for vip in 1..=3 {
            w.set_simple(*id, 0, vip, (10 * k + vip) as u64).unwrap();
            w.set_simple(*id, 1, vip, 1000 * (k + 1) as u64).unwrap();
        }
    }
    w.set_combined(route, 0, 7, 2, 120).unwrap();
    w.set_combined(route, 1, 7, 5, 700).unwrap();
    w.set_combined(route, 1, 9, 1, 60).unwrap();
    for _ in 0..3 {
        w.heartbeat().unwrap();
    }

    let socket = std::env::temp_dir().join(format!("vppapi-stats-papi-{}.sock", std::process::id()));
    let server = StatsServer::start(&socket, w.handle().unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/papi/stats_read.py");
    let out = Command::new(&python).arg(&script).arg(&socket).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "vpp_papi reader failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut expected = Vec::new();
    let mut ours = StatsClient::connect(&socket).unwrap();
    let mut entries = ours.names().unwrap();
    entries.sort();
    expected.extend(entries.iter().map(|n| format!("entry\t{n}")));
    for name in ["/sys/boottime", "/sys/heartbeat", "/sys/last_stats_clear", "/sys/vector_rate"] {
        expected.push(format!("scalar\t{name}\t{}", ours.scalar(name).unwrap()));
    }
    for name in LB {
        for vip in 0..4 {
            expected.push(format!("simple\t{name}\t{vip}\t{}", ours.simple_counter_sum(name, vip).unwrap()));
        }
    }
    for index in 0..10 {
        let c = ours.combined_counter_sum("/net/route/to", index).unwrap();
        expected.push(format!("combined\t/net/route/to\t{index}\t{}\t{}", c.packets, c.bytes));
    }
    let Value::Counter(first) = ours.read_entry("/err/lb/first").unwrap() else {
        panic!("symlink did not resolve to a counter");
    };
    expected.push(format!("symlink\t/err/lb/first\t{first}"));
    expected.push("names\t/if/names\tlocal0,tap0".into());

    let seen: Vec<&str> = stdout.lines().collect();
    assert_eq!(seen, expected.iter().map(String::as_str).collect::<Vec<_>>());

    // And both agree with what was written, not just with each other.
    assert!(seen.contains(&"scalar\t/sys/boottime\t1767000000"));
    assert!(seen.contains(&"scalar\t/sys/heartbeat\t3"));
    assert!(seen.contains(&"simple\tfirst session packet\t2\t2012"));
    assert!(seen.contains(&"simple\tno server configured\t3\t4033"));
    assert!(seen.contains(&"combined\t/net/route/to\t7\t7\t820"));
    assert!(seen.contains(&"symlink\t/err/lb/first\t2012"));
    assert_eq!(ours.combined_counter_sum("/net/route/to", 9).unwrap(), Combined { packets: 1, bytes: 60 });
    assert_eq!(server.connections_served(), 2);
}
