//! `memclnt.api`: the socket handshake, disconnect, ping and keepalive.
//! These ids are fixed in every VPP (see [`fixed_ids`]).

use crate::codec::{DecodeError, FixedString, Reader, Wire};
use crate::messages::{message, request, retval, Message};
use crate::types::{get_vla, MessageTableEntry};

/// Message ids of the `memclnt` module, compiled into VPP's global enum and
/// therefore the same in every build. A client hard-codes only
/// `SOCKCLNT_CREATE` and recognises `SOCKCLNT_CREATE_REPLY`; the rest are
/// fallbacks for when the table lacks them.
pub mod fixed_ids {
    pub const GET_FIRST_MSG_ID: u16 = 10;
    pub const GET_FIRST_MSG_ID_REPLY: u16 = 11;
    pub const SOCKCLNT_CREATE: u16 = 15;
    pub const SOCKCLNT_CREATE_REPLY: u16 = 16;
    pub const SOCKCLNT_DELETE: u16 = 17;
    pub const SOCKCLNT_DELETE_REPLY: u16 = 18;
    pub const MEMCLNT_KEEPALIVE: u16 = 21;
    pub const MEMCLNT_KEEPALIVE_REPLY: u16 = 22;
    pub const CONTROL_PING: u16 = 23;
    pub const CONTROL_PING_REPLY: u16 = 24;
}

message! {
    /// The first message on the socket (id 15). It has no `client_index`.
    pub struct SockclntCreate = "sockclnt_create", "455fb9c4", [context] {
        /// Shown in VPP's `show api clients`; at most 63 bytes.
        pub name: FixedString<64>,
    }
}

/// `sockclnt_create_reply_35166268` (id 16): the client handle (`index`)
/// and VPP's whole message table. `client_index` is always 0 here; use
/// `index`. The table's count is derived from `message_table` on encode.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SockclntCreateReply {
    pub client_index: u32,
    pub context: u32,
    pub response: i32,
    pub index: u32,
    pub message_table: Vec<MessageTableEntry>,
}

impl Message for SockclntCreateReply {
    const NAME: &'static str = "sockclnt_create_reply";
    const CRC: &'static str = "35166268";
    const NAME_CRC: &'static str = "sockclnt_create_reply_35166268";

    fn context(&self) -> u32 {
        self.context
    }
    fn set_context(&mut self, context: u32) {
        self.context = context;
    }
    fn set_client_index(&mut self, client_index: u32) {
        self.client_index = client_index;
    }

    /// At most 65535 table entries are encoded (the count is a u16).
    fn encode(&self, msg_id: u16, buf: &mut Vec<u8>) {
        msg_id.put(buf);
        self.client_index.put(buf);
        self.context.put(buf);
        self.response.put(buf);
        self.index.put(buf);
        let count = u16::try_from(self.message_table.len()).unwrap_or(u16::MAX);
        count.put(buf);
        for e in self.message_table.iter().take(count.into()) {
            e.put(buf);
        }
    }

    fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let name = Self::NAME;
        let mut r = Reader::new(payload);
        u16::get(&mut r).map_err(|e| e.in_field(name, "_vl_msg_id"))?;
        let client_index = u32::get(&mut r).map_err(|e| e.in_field(name, "client_index"))?;
        let context = u32::get(&mut r).map_err(|e| e.in_field(name, "context"))?;
        let response = i32::get(&mut r).map_err(|e| e.in_field(name, "response"))?;
        let index = u32::get(&mut r).map_err(|e| e.in_field(name, "index"))?;
        let count = u16::get(&mut r).map_err(|e| e.in_field(name, "count"))?;
        let message_table = get_vla(&mut r, count.into(), MessageTableEntry::WIRE_SIZE)
            .map_err(|e| e.in_field(name, "message_table"))?;
        Ok(SockclntCreateReply { client_index, context, response, index, message_table })
    }
}

message! {
    /// Clean disconnect: `index` is the handle, like `client_index`.
    pub struct SockclntDelete = "sockclnt_delete", "8ac76db6", [client_index, context] {
        pub index: u32,
    }
}

message! {
    /// `response` is 1 on success (not 0), -1 if the index is unknown.
    pub struct SockclntDeleteReply = "sockclnt_delete_reply", "8f38b1ee", [context] {
        pub response: i32,
    }
}

message! {
    pub struct ControlPing = "control_ping", "51077d14", [client_index, context] {}
}

message! {
    /// `client_index` echoes the request's; `vpe_pid` is VPP's process id.
    pub struct ControlPingReply = "control_ping_reply", "f6b0b8ca", [context] {
        pub retval: i32,
        pub client_index: u32,
        pub vpe_pid: u32,
    }
}

message! {
    /// Sent by VPP to shared-memory clients; VPP puts the client handle in
    /// `context`, and the reply must copy it.
    pub struct MemclntKeepalive = "memclnt_keepalive", "51077d14", [client_index, context] {}
}

message! {
    pub struct MemclntKeepaliveReply = "memclnt_keepalive_reply", "e8d4e804", [context] {
        pub retval: i32,
    }
}

message! {
    /// Base id of a module (not needed on the socket transport).
    pub struct GetFirstMsgId = "get_first_msg_id", "ebf79a66", [client_index, context] {
        pub name: FixedString<64>,
    }
}

message! {
    pub struct GetFirstMsgIdReply = "get_first_msg_id_reply", "7d337472", [context] {
        pub retval: i32,
        pub first_msg_id: u16,
    }
}

request! {
    SockclntCreate => SockclntCreateReply,
    SockclntDelete => SockclntDeleteReply,
    ControlPing => ControlPingReply,
    MemclntKeepalive => MemclntKeepaliveReply,
    GetFirstMsgId => GetFirstMsgIdReply,
}

retval!(ControlPingReply, MemclntKeepaliveReply, GetFirstMsgIdReply);
