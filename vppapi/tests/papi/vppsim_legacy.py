"""vpp_papi against vppsim --legacy: the master-only lb messages are not
offered, the rest works, a VIP written in the version-independent form
(IPv6 family, IPv4 address in the last 4 bytes, length 96 + 32) is the
IPv4 VIP a legacy VPP expects, and the legacy details quirks show.

usage: vppsim_legacy.py APIDIR API_SOCKET
"""

import sys

from vpp_papi import VPPApiClient

apidir, api_socket = sys.argv[1:3]
vpp = VPPApiClient(apidir=apidir, use_socket=True, server_address=api_socket, read_timeout=5)
vpp.connect("vppsim-papi-legacy")

for name in ("lb_conf_get", "lb_add_del_as_v2", "lb_as_set_weight", "lb_as_v2_dump"):
    assert not hasattr(vpp.api, name), name + " is offered by a legacy VPP"
for name in ("lb_conf", "lb_add_del_vip_v2", "lb_add_del_as", "lb_as_dump", "lb_vip_dump"):
    assert hasattr(vpp.api, name), name + " is missing"

VIP = dict(pfx="::c000:201/128", protocol=6, port=80)
r = vpp.api.lb_add_del_vip_v2(encap=0, new_flows_table_length=1024, **VIP)
assert r.retval == 0, r
r = vpp.api.lb_add_del_as(as_address="10.0.0.2", **VIP)
assert r.retval == 0, r
r = vpp.api.lb_add_del_as(as_address="2001:db8::2", **VIP)
assert r.retval == -97, r

# A legacy VPP reports an IPv4 VIP with its internal length (128), which
# vpp_papi cannot turn into an IPv4 network: decode without conversion.
try:
    vpp.api.lb_vip_dump()
    raise AssertionError("vpp_papi decoded a legacy IPv4 VIP /128")
except ValueError:
    pass
vips = vpp.api.lb_vip_dump(_no_type_conversion=True)
assert len(vips) == 1, vips
v = vips[0]
# Legacy details: af 0 with the IPv4 address, internal length 128,
# protocol 0, internal type 3 (IP4_GRE4) as encap, flow table length 0.
assert v.vip.pfx.address.af == 0 and v.vip.pfx.address.un.ip4 == bytes([192, 0, 2, 1]), v
assert v.vip.pfx.len == 128, v
assert v.vip.protocol == 0 and v.vip.port == 80, v
assert v.encap == 3 and v.flow_table_length == 0, v

# The AS dump filter: the version-independent address matches, but a
# legacy VPP compares the port without byte swap, so port 80 never matches;
# an all-zero filter dumps everything.
assert vpp.api.lb_as_dump(_no_type_conversion=True, **VIP) == [], "legacy port filter matched 80"
ases = vpp.api.lb_as_dump(pfx="::/0", protocol=0, port=0, _no_type_conversion=True)
assert [(a.app_srv.af, a.app_srv.un.ip4, a.flags) for a in ases] == [(0, bytes([10, 0, 0, 2]), 1)], ases

vpp.disconnect()
print("ALL OK")
