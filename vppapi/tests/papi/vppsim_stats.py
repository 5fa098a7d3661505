"""vpp_papi's API client and stats reader (VPPStats) against a vppsim
running with --traffic: the counters of a VIP move in the segment vppsim
serves, at the indices the API and CLI report.

usage: vppsim_stats.py APIDIR API_SOCKET STATS_SOCKET
"""

import re
import sys
import time

from vpp_papi import VPPApiClient
from vpp_papi.vpp_stats import VPPStats

apidir, api_socket, stats_socket = sys.argv[1:4]

vpp = VPPApiClient(apidir=apidir, use_socket=True, server_address=api_socket, read_timeout=5)
vpp.connect("vppsim-papi-stats")
VIP = dict(pfx="192.0.2.20/32", protocol=6, port=443)
assert vpp.api.lb_add_del_vip_v2(encap=0, new_flows_table_length=1024, **VIP).retval == 0
assert vpp.api.lb_add_del_as_v2(as_address="10.0.0.20", weight=100, **VIP).retval == 0
route = vpp.api.ip_route_lookup(table_id=0, exact=1, prefix="192.0.2.20/32")
assert route.retval == 0, route
stats_index = route.route.stats_index
cli = vpp.api.cli_inband(cmd="show lb vips verbose").reply
vip_index = int(re.search(r"ip4-gre4 \[(\d+)\] 192\.0\.2\.20/32", cli).group(1))
print("vip index", vip_index, "route stats index", stats_index)

stats = VPPStats(socketname=stats_socket, timeout=5)
stats.connect()
boottime = stats["/sys/boottime"]
assert abs(boottime - time.time()) < 600, boottime
beat = stats["/sys/heartbeat"]
first = routed = 0
deadline = time.time() + 15
while time.time() < deadline:
    per_thread = stats["first session packet"]
    assert len(per_thread) == 2, "two threads (main + worker)"
    first = per_thread[:, vip_index].sum()
    routed = stats["/net/route/to"][:, stats_index].sum_packets()
    if first > 0 and routed > 0 and stats["/sys/heartbeat"] > beat:
        break
    time.sleep(0.1)
else:
    raise AssertionError("counters did not move: first=%d routed=%d" % (first, routed))
print("first session packets", first, "routed packets", routed)

# The CLI prints the same per-VIP counters (summed over threads); it may be
# newer than what was read above, never older.
cli = vpp.api.cli_inband(cmd="show lb vips verbose").reply
shown = int(re.search(r"first session packet: (\d+)", cli).group(1))
assert shown >= first, (shown, first)
stats.disconnect()
vpp.disconnect()
print("ALL OK")
