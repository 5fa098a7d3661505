//! `vlib.api`: running a CLI command through the API.

use crate::messages::{message, request, retval};

message! {
    pub struct CliInband = "cli_inband", "f8377302", [client_index, context] {
        pub cmd: String,
    }
}

message! {
    /// The CLI output; `retval` is 0 even when the command failed (the error
    /// text is in `reply`).
    pub struct CliInbandReply = "cli_inband_reply", "05879051", [context] {
        pub retval: i32,
        pub reply: String,
    }
}

request!(CliInband => CliInbandReply);
retval!(CliInbandReply);
