"""VPP's own Python client (vpp_papi) drives the lb plugin of a VPP: real VPP
or vppsim, which must answer alike.

usage: lb_lifecycle.py APIDIR API_SOCKET EXPECTED_VERSION

Every check is an assert with the values involved; the script prints one
line per step and `ALL OK` at the end.
"""

import re
import sys
import time

from vpp_papi import VPPApiClient

apidir, socket_path, expected_version = sys.argv[1:4]

vpp = VPPApiClient(apidir=apidir, use_socket=True, server_address=socket_path, read_timeout=5)
assert vpp.connect("lb-papi-test") == 0
print("connected")

v = vpp.api.show_version()
assert v.retval == 0 and v.program == "vpe" and v.version == expected_version, v
print("show_version", v.version)

t = vpp.api.show_vpe_system_time()
assert t.retval == 0 and abs(t.vpe_system_time.timestamp() - time.time()) < 60, t

r = vpp.api.lb_conf(
    ip4_src_address="10.255.0.1",
    ip6_src_address="2001:db8:ff::1",
    sticky_buckets_per_core=2048,
    flow_timeout=30,
)
assert r.retval == 0, r
c = vpp.api.lb_conf_get()
assert c.retval == 0, c
assert str(c.ip4_src_address) == "10.255.0.1", c
assert str(c.ip6_src_address) == "2001:db8:ff::1", c
assert (c.sticky_buckets_per_core, c.flow_timeout) == (2048, 30), c
r = vpp.api.lb_conf(
    ip4_src_address="10.255.0.1",
    ip6_src_address="2001:db8:ff::1",
    sticky_buckets_per_core=1000,
    flow_timeout=30,
)
assert r.retval == -70, r
print("lb_conf / lb_conf_get")

VIP = dict(pfx="192.0.2.1/32", protocol=6, port=80)
r = vpp.api.lb_add_del_vip_v2(encap=0, new_flows_table_length=1024, src_ip_sticky=True, **VIP)
assert r.retval == 0, r
r = vpp.api.lb_add_del_vip_v2(encap=0, new_flows_table_length=1024, **VIP)
assert r.retval == -81, r
r = vpp.api.lb_add_del_vip_v2(pfx="192.0.2.2/32", protocol=6, port=80, encap=0, new_flows_table_length=1000)
assert r.retval == -70, r
print("lb_add_del_vip_v2")

for a in ("10.0.0.2", "10.0.0.3", "10.0.0.4"):
    r = vpp.api.lb_add_del_as_v2(as_address=a, weight=100, **VIP)
    assert r.retval == 0, (a, r)
r = vpp.api.lb_add_del_as_v2(as_address="2001:db8::5", weight=100, **VIP)
assert r.retval == -97, r
r = vpp.api.lb_add_del_as_v2(as_address="10.0.0.2", weight=100, **VIP)
assert r.retval == -81, r
print("lb_add_del_as_v2")


def ases(**pfx):
    return {str(d.app_srv): d for d in vpp.api.lb_as_v2_dump(**pfx)}


before = ases(pfx="0.0.0.0/0")
assert set(before) == {"10.0.0.2", "10.0.0.3", "10.0.0.4"}, before
assert sorted(d.num_buckets for d in before.values()) == [341, 341, 342], before
assert all(d.flags == 1 and d.weight == 100 for d in before.values()), before

r = vpp.api.lb_as_set_weight(as_address="10.0.0.3", weight=0, **VIP)
assert r.retval == 0, r
r = vpp.api.lb_as_set_weight(as_address="10.0.0.9", weight=0, **VIP)
assert r.retval == -6, r
after = ases(pfx="0.0.0.0/0")
assert after["10.0.0.3"].num_buckets == 0 and after["10.0.0.3"].weight == 0, after
assert after["10.0.0.3"].flags == 1, after
assert after["10.0.0.2"].num_buckets + after["10.0.0.4"].num_buckets == 1024, after
print("lb_as_set_weight: buckets", {k: d.num_buckets for k, d in after.items()})

r = vpp.api.lb_add_del_vip_v2(pfx="198.51.100.7/32", protocol=17, port=53, encap=1, new_flows_table_length=256)
assert r.retval == 0, r
r = vpp.api.lb_add_del_as_v2(pfx="198.51.100.7/32", protocol=17, port=53, as_address="2001:db8::7", weight=50)
assert r.retval == 0, r
everything = vpp.api.lb_as_v2_dump(pfx="0.0.0.0/0")
assert len(everything) == 4, everything
assert {str(d.vip.pfx) for d in everything} == {"192.0.2.1/32", "198.51.100.7/32"}, everything
# An IPv4 VIP written normally never matches the AS dump filter (as VPP).
assert vpp.api.lb_as_v2_dump(**VIP) == [], "normal IPv4 filter matched"
print("lb_as_v2_dump")

vips = vpp.api.lb_vip_dump()
assert len(vips) == 2, vips
assert {(str(d.vip.pfx), int(d.vip.protocol), d.vip.port, int(d.encap), d.flow_table_length) for d in vips} == {
    ("192.0.2.1/32", 6, 80, 0, 1024),
    ("198.51.100.7/32", 17, 53, 1, 256),
}, vips
print("lb_vip_dump")

out = vpp.api.cli_inband(cmd="show lb vips verbose")
assert out.retval == 0, out
text = out.reply
first = re.compile(r"^\s*(ip[46]-[a-z0-9]+) \[(\d+)\] (\S+)( src_ip_sticky)?( removed)?\s*$")
heads = [first.match(line).groups() for line in text.splitlines() if first.match(line)]
assert ("ip4-gre4", "1", "192.0.2.1/32", " src_ip_sticky", None) in heads, text
assert ("ip4-gre6", "2", "198.51.100.7/32", None, None) in heads, text
assert "    10.0.0.3 weight:0 buckets:0 flows:0 " in text, text
assert "  protocol:6 port:80\n" in text and "  #as:3\n" in text, text
print("cli_inband")

route = vpp.api.ip_route_lookup(table_id=0, exact=1, prefix="192.0.2.1/32")
assert route.retval == 0 and route.route.stats_index > 0, route
assert str(route.route.prefix) == "192.0.2.1/32", route
missing = vpp.api.ip_route_lookup(table_id=0, exact=1, prefix="203.0.113.9/32")
assert missing.retval == -6, missing
print("ip_route_lookup stats_index", route.route.stats_index)

ping = vpp.api.control_ping()
assert ping.retval == 0 and ping.vpe_pid > 0, ping

vpp.disconnect()
print("ALL OK")
