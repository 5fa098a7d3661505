//! `lb.api`: the load-balancer plugin. Field names follow the `.api` file,
//! except `type`, which is `srv_type` here (a Rust keyword).
//!
//! `encap` and `srv_type` are raw u32 values: their byte order differs
//! between VPP versions and fields (see [`crate::lb`]).

use crate::messages::{message, request, retval, Dump};
use crate::types::{Address, AddressWithPrefix, Ip4Address, Ip6Address, LbVip, PrefixMatcher};

message! {
    /// Global LB settings. `0xffffffff` in `sticky_buckets_per_core` or
    /// `flow_timeout` keeps the current value.
    pub struct LbConf = "lb_conf", "56cd3261", [client_index, context] {
        pub ip4_src_address: Ip4Address,
        pub ip6_src_address: Ip6Address,
        pub sticky_buckets_per_core: u32,
        pub flow_timeout: u32,
    }
}

message! {
    pub struct LbConfReply = "lb_conf_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    /// Master only; its presence marks the fixed LB handlers.
    pub struct LbConfGet = "lb_conf_get", "51077d14", [client_index, context] {}
}

message! {
    pub struct LbConfGetReply = "lb_conf_get_reply", "923427ac", [context] {
        pub retval: i32,
        pub ip4_src_address: Ip4Address,
        pub ip6_src_address: Ip6Address,
        pub sticky_buckets_per_core: u32,
        pub flow_timeout: u32,
    }
}

message! {
    pub struct LbAddDelVip = "lb_add_del_vip", "6fa569c7", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
        /// `vl_api_lb_encap_type_t`.
        pub encap: u32,
        pub dscp: u8,
        /// `vl_api_lb_srv_type_t` (`type` in the `.api` file).
        pub srv_type: u32,
        pub target_port: u16,
        pub node_port: u16,
        pub new_flows_table_length: u32,
        pub is_del: bool,
    }
}

message! {
    pub struct LbAddDelVipReply = "lb_add_del_vip_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    pub struct LbAddDelVipV2 = "lb_add_del_vip_v2", "7c520e0f", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
        /// `vl_api_lb_encap_type_t`.
        pub encap: u32,
        pub dscp: u8,
        /// `vl_api_lb_srv_type_t` (`type` in the `.api` file).
        pub srv_type: u32,
        pub target_port: u16,
        pub node_port: u16,
        /// Must be a power of two (else -70); VPP applies no default.
        pub new_flows_table_length: u32,
        pub src_ip_sticky: bool,
        pub is_del: bool,
    }
}

message! {
    pub struct LbAddDelVipV2Reply = "lb_add_del_vip_v2_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    pub struct LbAddDelAs = "lb_add_del_as", "35d72500", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
        pub as_address: Address,
        pub is_del: bool,
        pub is_flush: bool,
    }
}

message! {
    pub struct LbAddDelAsReply = "lb_add_del_as_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    /// Master only: adds an AS with a weight (0 = drain).
    pub struct LbAddDelAsV2 = "lb_add_del_as_v2", "2f1d3b0e", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
        pub as_address: Address,
        pub weight: u8,
        pub is_del: bool,
        pub is_flush: bool,
    }
}

message! {
    pub struct LbAddDelAsV2Reply = "lb_add_del_as_v2_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    /// Master only: changes the weight of an existing, in-use AS.
    pub struct LbAsSetWeight = "lb_as_set_weight", "2d89bdbd", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
        pub as_address: Address,
        pub weight: u8,
        pub is_flush: bool,
    }
}

message! {
    pub struct LbAsSetWeightReply = "lb_as_set_weight_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    pub struct LbFlushVip = "lb_flush_vip", "1063f819", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
    }
}

message! {
    pub struct LbFlushVipReply = "lb_flush_vip_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    /// VPP ignores every filter field and dumps all VIPs.
    pub struct LbVipDump = "lb_vip_dump", "56110cb7", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub pfx_matcher: PrefixMatcher,
        pub protocol: u8,
        pub port: u16,
    }
}

message! {
    pub struct LbVipDetails = "lb_vip_details", "1329ec9b", [context] {
        pub vip: LbVip,
        /// API encap (master) or internal VIP type (legacy), see `crate::lb`.
        pub encap: u32,
        pub dscp: u8,
        /// Written by VPP in host order (little-endian).
        pub srv_type: u32,
        /// Written by VPP byte-swapped twice (appears little-endian).
        pub target_port: u16,
        pub flow_table_length: u16,
    }
}

message! {
    /// All-zero union bytes in `pfx` dump every VIP's ASes.
    pub struct LbAsDump = "lb_as_dump", "1063f819", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
    }
}

message! {
    pub struct LbAsDetails = "lb_as_details", "8d24c29e", [context] {
        pub vip: LbVip,
        pub app_srv: Address,
        /// Bit 0: in use.
        pub flags: u8,
        /// Seconds since VPP start when the AS was removed (0 if never).
        pub in_use_since: u32,
    }
}

message! {
    /// Master only. All-zero union bytes in `pfx` dump every VIP's ASes.
    pub struct LbAsV2Dump = "lb_as_v2_dump", "1063f819", [client_index, context] {
        pub pfx: AddressWithPrefix,
        pub protocol: u8,
        pub port: u16,
    }
}

message! {
    pub struct LbAsV2Details = "lb_as_v2_details", "90064aae", [context] {
        pub vip: LbVip,
        pub app_srv: Address,
        /// Bit 0: in use.
        pub flags: u8,
        /// Seconds since VPP start when the AS was removed (0 if never).
        pub in_use_since: u32,
        pub weight: u8,
        /// New-flow-table buckets currently pointing to this AS.
        pub num_buckets: u32,
    }
}

request! {
    LbConf => LbConfReply,
    LbConfGet => LbConfGetReply,
    LbAddDelVip => LbAddDelVipReply,
    LbAddDelVipV2 => LbAddDelVipV2Reply,
    LbAddDelAs => LbAddDelAsReply,
    LbAddDelAsV2 => LbAddDelAsV2Reply,
    LbAsSetWeight => LbAsSetWeightReply,
    LbFlushVip => LbFlushVipReply,
}

retval!(
    LbConfReply,
    LbConfGetReply,
    LbAddDelVipReply,
    LbAddDelVipV2Reply,
    LbAddDelAsReply,
    LbAddDelAsV2Reply,
    LbAsSetWeightReply,
    LbFlushVipReply,
);

impl Dump for LbVipDump {
    type Details = LbVipDetails;
}

impl Dump for LbAsDump {
    type Details = LbAsDetails;
}

impl Dump for LbAsV2Dump {
    type Details = LbAsV2Details;
}
