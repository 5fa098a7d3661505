//! `ip.api`: route lookup (gives the FIB entry's stats index).

use crate::messages::{message, request, retval};
use crate::types::{IpRoute, IpRouteV2, Prefix};

message! {
    pub struct IpRouteLookup = "ip_route_lookup", "710d6471", [client_index, context] {
        pub table_id: u32,
        /// 1: the exact prefix; 0: longest match.
        pub exact: u8,
        pub prefix: Prefix,
    }
}

message! {
    /// retval -6 (NO_SUCH_ENTRY) when there is no such route.
    pub struct IpRouteLookupReply = "ip_route_lookup_reply", "5d8febcb", [context] {
        pub retval: i32,
        pub route: IpRoute,
    }
}

message! {
    pub struct IpRouteLookupV2 = "ip_route_lookup_v2", "710d6471", [client_index, context] {
        pub table_id: u32,
        pub exact: u8,
        pub prefix: Prefix,
    }
}

message! {
    pub struct IpRouteLookupV2Reply = "ip_route_lookup_v2_reply", "84cc9e03", [context] {
        pub retval: i32,
        pub route: IpRouteV2,
    }
}

request! {
    IpRouteLookup => IpRouteLookupReply,
    IpRouteLookupV2 => IpRouteLookupV2Reply,
}

retval!(IpRouteLookupReply, IpRouteLookupV2Reply);
