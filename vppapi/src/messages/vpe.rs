//! `vpe.api`: version and system time.

use crate::codec::FixedString;
use crate::messages::{message, request, retval};

message! {
    pub struct ShowVersion = "show_version", "51077d14", [client_index, context] {}
}

message! {
    pub struct ShowVersionReply = "show_version_reply", "c919bde1", [context] {
        pub retval: i32,
        pub program: FixedString<32>,
        pub version: FixedString<32>,
        pub build_date: FixedString<32>,
        pub build_directory: FixedString<256>,
    }
}

message! {
    pub struct ShowVpeSystemTime = "show_vpe_system_time", "51077d14", [client_index, context] {}
}

message! {
    pub struct ShowVpeSystemTimeReply = "show_vpe_system_time_reply", "7ffd8193", [context] {
        pub retval: i32,
        /// Seconds (`vl_api_timestamp_t`, an f64 sent little-endian).
        pub vpe_system_time: f64,
    }
}

request! {
    ShowVersion => ShowVersionReply,
    ShowVpeSystemTime => ShowVpeSystemTimeReply,
}

retval!(ShowVersionReply, ShowVpeSystemTimeReply);
