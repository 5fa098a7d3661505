//! The standard `process_*` metrics, read from /proc/self at scrape time.
//! (The `prometheus` crate's `process` feature would pull in procfs and
//! libc for the same handful of numbers.) A value that cannot be read is
//! left out of the scrape rather than exported wrong.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::unistd::{sysconf, SysconfVar};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use super::family::{desc, Family};

const CPU: (&str, &str) = ("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
const RESIDENT: (&str, &str) = ("process_resident_memory_bytes", "Resident memory size in bytes.");
const VIRTUAL: (&str, &str) = ("process_virtual_memory_bytes", "Virtual memory size in bytes.");
const OPEN_FDS: (&str, &str) = ("process_open_fds", "Number of open file descriptors.");
const MAX_FDS: (&str, &str) = ("process_max_fds", "Maximum number of open file descriptors.");
const START_TIME: (&str, &str) =
    ("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");

/// The fields of /proc/self/stat we use, in kernel units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    /// Clock ticks.
    pub utime: u64,
    pub stime: u64,
    /// Clock ticks after boot.
    pub starttime: u64,
    /// Bytes.
    pub vsize: u64,
    /// Pages.
    pub rss: u64,
}

/// Parses /proc/<pid>/stat. The command name (field 2) may contain spaces
/// and parentheses, so fields are counted from the last `)`.
pub(super) fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5).
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
        vsize: field(23)?,
        rss: field(24)?,
    })
}

/// `btime` (boot time, Unix seconds) from /proc/stat.
pub(super) fn parse_btime(text: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The boot time from the clocks, where /proc/stat is hidden (systemd's
/// `ProcSubset=pid`): the wall clock minus the time since boot.
fn boot_time() -> Option<u64> {
    use nix::time::{clock_gettime, ClockId};
    let since_boot = Duration::from(clock_gettime(ClockId::CLOCK_BOOTTIME).ok()?);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    Some(now.checked_sub(since_boot)?.as_secs_f64().round() as u64)
}

/// The soft `Max open files` limit from /proc/<pid>/limits (`None` when
/// unlimited or unreadable).
pub(super) fn parse_max_fds(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

pub(super) struct ProcessCollector {
    descs: Vec<Desc>,
    /// sysconf values, fixed for the life of the process.
    ticks_per_second: f64,
    page_size: f64,
}

impl ProcessCollector {
    pub fn new() -> Self {
        let descs = [CPU, RESIDENT, VIRTUAL, OPEN_FDS, MAX_FDS, START_TIME]
            .iter()
            .map(|(name, help)| desc(name, help, &[]))
            .collect();
        // Linux fixes USER_HZ at 100 and pages at 4 KiB on most platforms;
        // sysconf gives the real values where they differ.
        let ticks = sysconf(SysconfVar::CLK_TCK).ok().flatten().filter(|&t| t > 0).unwrap_or(100);
        let page = sysconf(SysconfVar::PAGE_SIZE).ok().flatten().filter(|&p| p > 0).unwrap_or(4096);
        ProcessCollector { descs, ticks_per_second: ticks as f64, page_size: page as f64 }
    }
}

fn single(def: (&str, &str), value: f64, counter: bool) -> MetricFamily {
    let mut f = if counter { Family::counter(def.0, def.1, &[]) } else { Family::gauge(def.0, def.1, &[]) };
    f.add(&[], value);
    f.finish()
}

impl Collector for ProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut out = Vec::new();
        let read = |path: &str| std::fs::read_to_string(path).ok();
        if let Some(stat) = read("/proc/self/stat").as_deref().and_then(parse_stat) {
            let cpu = (stat.utime + stat.stime) as f64 / self.ticks_per_second;
            out.push(single(CPU, cpu, true));
            out.push(single(RESIDENT, stat.rss as f64 * self.page_size, false));
            out.push(single(VIRTUAL, stat.vsize as f64, false));
            if let Some(btime) = read("/proc/stat").as_deref().and_then(parse_btime).or_else(boot_time) {
                let start = btime as f64 + stat.starttime as f64 / self.ticks_per_second;
                out.push(single(START_TIME, start, false));
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            out.push(single(OPEN_FDS, dir.count() as f64, false));
        }
        if let Some(max) = read("/proc/self/limits").as_deref().and_then(parse_max_fds) {
            out.push(single(MAX_FDS, max as f64, false));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_time_from_the_clocks_matches_proc_stat() {
        let from_proc = parse_btime(&std::fs::read_to_string("/proc/stat").expect("read /proc/stat"));
        let from_clocks = boot_time().expect("boot time from the clocks");
        let from_proc = from_proc.expect("btime in /proc/stat");
        assert!(from_proc.abs_diff(from_clocks) <= 2, "/proc/stat {from_proc}, clocks {from_clocks}");
    }

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let text = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1153 0 0 0 37 12 0 0 20 0 9 0 \
                    123456 1048576000 2500 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(text).expect("parse");
        assert_eq!(s, Stat { utime: 37, stime: 12, starttime: 123456, vsize: 1048576000, rss: 2500 });
    }

    #[test]
    fn truncated_or_garbled_stat_is_none() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("1 (x) S 1 2 3"), None);
        assert_eq!(parse_stat("1 (x) S 1 2 3 4 5 6 7 8 9 10 ten 15 16 17 18 19 20 21 22 23 24"), None);
    }

    #[test]
    fn btime_and_max_fds() {
        assert_eq!(parse_btime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), Some(1_700_000_000));
        assert_eq!(parse_btime("cpu 1\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        assert_eq!(parse_max_fds("Max open files  unlimited unlimited files\n"), None);
    }

    #[test]
    fn the_running_process_reports_every_family() {
        let names: Vec<String> =
            ProcessCollector::new().collect().iter().map(|f| f.name().to_string()).collect();
        for (name, _) in [CPU, RESIDENT, VIRTUAL, OPEN_FDS, MAX_FDS, START_TIME] {
            assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
        }
    }
}
