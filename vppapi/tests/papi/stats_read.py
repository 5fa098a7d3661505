"""Reads a stats segment with VPP's own Python client (vpp_papi's VPPStats)
and prints what it sees, one tab-separated record per line:

    scalar  <name>  <value>
    simple  <name>  <index>  <sum over threads>
    combined  <name>  <index>  <packets>  <bytes>
    symlink  <name>  <sum over threads>
    names  <name>  <comma-separated strings>
    entry  <name>

Usage: stats_read.py <stats socket>
"""

import sys

from vpp_papi.vpp_stats import VPPStats

LB_COUNTERS = [
    "packet from existing sessions",
    "first session packet",
    "untracked packet",
    "no server configured",
]


def main():
    stats = VPPStats(socketname=sys.argv[1], timeout=5)
    stats.connect()
    for name in sorted(n for n in stats.directory if n):
        print("entry\t%s" % name)
    for name in ("/sys/boottime", "/sys/heartbeat", "/sys/last_stats_clear", "/sys/vector_rate"):
        print("scalar\t%s\t%d" % (name, stats[name]))
    for name in LB_COUNTERS:
        per_thread = stats[name]
        for index in range(len(per_thread[0])):
            print("simple\t%s\t%d\t%d" % (name, index, per_thread[:, index].sum()))
    route = stats["/net/route/to"]
    for index in range(len(route[0])):
        column = route[:, index]
        print(
            "combined\t/net/route/to\t%d\t%d\t%d"
            % (index, column.sum_packets(), column.sum_octets())
        )
    print("symlink\t/err/lb/first\t%d" % stats["/err/lb/first"].sum())
    print("names\t/if/names\t%s" % ",".join(stats["/if/names"]))
    stats.disconnect()


if __name__ == "__main__":
    main()
