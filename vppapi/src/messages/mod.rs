//! The VPP API messages this crate speaks, requests and replies alike, so
//! that both a client and a VPP stand-in can encode and decode them.
//!
//! Every message struct carries its header fields: requests have
//! `client_index` and `context`, replies and details have `context`
//! (`sockclnt_create` is the one request without `client_index`). The
//! message id is not part of the struct: it is looked up at run time in
//! VPP's message table and passed to [`Message::encode`].
//!
//! Enum-typed fields are raw integers here; see [`crate::types`] for the
//! typed enums and [`crate::lb`] for the per-version byte-order quirks.

use std::fmt;

use crate::codec::{DecodeError, Reader, Wire};

mod ip;
mod lb;
mod memclnt;
mod vlib;
mod vpe;

pub use ip::*;
pub use lb::*;
pub use memclnt::*;
pub use vlib::*;
pub use vpe::*;

/// A message with a fixed wire layout, identified by `<name>_<crc>`.
pub trait Message: Sized + fmt::Debug {
    /// The message name, e.g. `lb_add_del_as_v2`.
    const NAME: &'static str;
    /// The 8 lower-case hex digits of the definition's CRC.
    const CRC: &'static str;
    /// `<name>_<crc>`, the key of VPP's message table.
    const NAME_CRC: &'static str;

    fn name_crc() -> String {
        Self::NAME_CRC.to_string()
    }

    fn context(&self) -> u32;
    fn set_context(&mut self, context: u32);

    /// Sets `client_index` on messages that have it in their header; a
    /// no-op for the others.
    fn set_client_index(&mut self, _client_index: u32) {}

    /// Appends the payload (starting with the big-endian `msg_id`) to `buf`.
    fn encode(&self, msg_id: u16, buf: &mut Vec<u8>);

    fn encode_to_vec(&self, msg_id: u16) -> Vec<u8> {
        let mut buf = Vec::new();
        self.encode(msg_id, &mut buf);
        buf
    }

    /// Decodes a payload (starting with the message id, which is skipped and
    /// not checked). Bytes past the known fields are ignored: a newer VPP
    /// may append fields.
    fn decode(payload: &[u8]) -> Result<Self, DecodeError>;
}

/// A request answered by exactly one reply with the same context.
pub trait Request: Message {
    type Reply: Message;
}

/// A dump request answered by zero or more details messages (the end is
/// found with a `control_ping`, see the client).
pub trait Dump: Message {
    type Details: Message;
}

/// A reply whose `retval` says whether the request succeeded (0) or which
/// VPP error it hit (negative).
pub trait HasRetval {
    fn retval(&self) -> i32;
}

/// The 16-bit message id at the start of every payload.
pub fn peek_msg_id(payload: &[u8]) -> Result<u16, DecodeError> {
    u16::get(&mut Reader::new(payload)).map_err(|e| e.in_field("?", "_vl_msg_id"))
}

/// The context of a reply or details payload (bytes 2..5), without
/// knowing its type.
pub fn peek_reply_context(payload: &[u8]) -> Result<u32, DecodeError> {
    let mut r = Reader::new(payload);
    u16::get(&mut r)?;
    u32::get(&mut r).map_err(|e| e.in_field("?", "context"))
}

/// A known message, for tables built at run time (a VPP stand-in's message
/// table, a fuzzer decoding every type).
#[derive(Clone, Copy)]
pub struct MessageInfo {
    pub name: &'static str,
    pub crc: &'static str,
    pub name_crc: &'static str,
    /// Decodes a payload as this message and renders it with `{:?}`.
    pub describe: fn(&[u8]) -> Result<String, DecodeError>,
}

impl fmt::Debug for MessageInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_crc)
    }
}

impl MessageInfo {
    pub const fn of<M: Message>() -> MessageInfo {
        MessageInfo { name: M::NAME, crc: M::CRC, name_crc: M::NAME_CRC, describe: describe_as::<M> }
    }
}

fn describe_as<M: Message>(payload: &[u8]) -> Result<String, DecodeError> {
    M::decode(payload).map(|m| format!("{m:?}"))
}

/// Every message this crate knows, requests and replies.
pub const ALL_MESSAGES: &[MessageInfo] = &[
    MessageInfo::of::<SockclntCreate>(),
    MessageInfo::of::<SockclntCreateReply>(),
    MessageInfo::of::<SockclntDelete>(),
    MessageInfo::of::<SockclntDeleteReply>(),
    MessageInfo::of::<ControlPing>(),
    MessageInfo::of::<ControlPingReply>(),
    MessageInfo::of::<MemclntKeepalive>(),
    MessageInfo::of::<MemclntKeepaliveReply>(),
    MessageInfo::of::<GetFirstMsgId>(),
    MessageInfo::of::<GetFirstMsgIdReply>(),
    MessageInfo::of::<ShowVersion>(),
    MessageInfo::of::<ShowVersionReply>(),
    MessageInfo::of::<ShowVpeSystemTime>(),
    MessageInfo::of::<ShowVpeSystemTimeReply>(),
    MessageInfo::of::<CliInband>(),
    MessageInfo::of::<CliInbandReply>(),
    MessageInfo::of::<LbConf>(),
    MessageInfo::of::<LbConfReply>(),
    MessageInfo::of::<LbConfGet>(),
    MessageInfo::of::<LbConfGetReply>(),
    MessageInfo::of::<LbAddDelVip>(),
    MessageInfo::of::<LbAddDelVipReply>(),
    MessageInfo::of::<LbAddDelVipV2>(),
    MessageInfo::of::<LbAddDelVipV2Reply>(),
    MessageInfo::of::<LbAddDelAs>(),
    MessageInfo::of::<LbAddDelAsReply>(),
    MessageInfo::of::<LbAddDelAsV2>(),
    MessageInfo::of::<LbAddDelAsV2Reply>(),
    MessageInfo::of::<LbAsSetWeight>(),
    MessageInfo::of::<LbAsSetWeightReply>(),
    MessageInfo::of::<LbFlushVip>(),
    MessageInfo::of::<LbFlushVipReply>(),
    MessageInfo::of::<LbVipDump>(),
    MessageInfo::of::<LbVipDetails>(),
    MessageInfo::of::<LbAsDump>(),
    MessageInfo::of::<LbAsDetails>(),
    MessageInfo::of::<LbAsV2Dump>(),
    MessageInfo::of::<LbAsV2Details>(),
    MessageInfo::of::<IpRouteLookup>(),
    MessageInfo::of::<IpRouteLookupReply>(),
    MessageInfo::of::<IpRouteLookupV2>(),
    MessageInfo::of::<IpRouteLookupV2Reply>(),
];

/// Looks a message up by its `<name>_<crc>`.
pub fn find_message(name_crc: &str) -> Option<&'static MessageInfo> {
    ALL_MESSAGES.iter().find(|m| m.name_crc == name_crc)
}

/// Defines a message struct and its [`Message`] impl from the field list.
///
/// `[client_index, context]` or `[context]` names the header layout; the
/// listed fields follow in wire order, each encoded by its [`Wire`] impl.
macro_rules! message {
    (
        $(#[$meta:meta])*
        pub struct $ty:ident = $name:literal, $crc:literal, [client_index, context] {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $ty {
            pub client_index: u32,
            pub context: u32,
            $( $(#[$fmeta])* pub $field: $fty, )*
        }

        impl $crate::messages::Message for $ty {
            const NAME: &'static str = $name;
            const CRC: &'static str = $crc;
            const NAME_CRC: &'static str = concat!($name, "_", $crc);

            fn context(&self) -> u32 {
                self.context
            }
            fn set_context(&mut self, context: u32) {
                self.context = context;
            }
            fn set_client_index(&mut self, client_index: u32) {
                self.client_index = client_index;
            }
            fn encode(&self, msg_id: u16, buf: &mut Vec<u8>) {
                use $crate::codec::Wire;
                msg_id.put(buf);
                self.client_index.put(buf);
                self.context.put(buf);
                $( self.$field.put(buf); )*
            }
            fn decode(payload: &[u8]) -> Result<Self, $crate::codec::DecodeError> {
                use $crate::codec::Wire;
                let mut r = $crate::codec::Reader::new(payload);
                u16::get(&mut r).map_err(|e| e.in_field($name, "_vl_msg_id"))?;
                let client_index = u32::get(&mut r).map_err(|e| e.in_field($name, "client_index"))?;
                let context = u32::get(&mut r).map_err(|e| e.in_field($name, "context"))?;
                $( let $field = <$fty>::get(&mut r).map_err(|e| e.in_field($name, stringify!($field)))?; )*
                Ok($ty { client_index, context, $($field,)* })
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $ty:ident = $name:literal, $crc:literal, [context] {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $ty {
            pub context: u32,
            $( $(#[$fmeta])* pub $field: $fty, )*
        }

        impl $crate::messages::Message for $ty {
            const NAME: &'static str = $name;
            const CRC: &'static str = $crc;
            const NAME_CRC: &'static str = concat!($name, "_", $crc);

            fn context(&self) -> u32 {
                self.context
            }
            fn set_context(&mut self, context: u32) {
                self.context = context;
            }
            fn encode(&self, msg_id: u16, buf: &mut Vec<u8>) {
                use $crate::codec::Wire;
                msg_id.put(buf);
                self.context.put(buf);
                $( self.$field.put(buf); )*
            }
            fn decode(payload: &[u8]) -> Result<Self, $crate::codec::DecodeError> {
                use $crate::codec::Wire;
                let mut r = $crate::codec::Reader::new(payload);
                u16::get(&mut r).map_err(|e| e.in_field($name, "_vl_msg_id"))?;
                let context = u32::get(&mut r).map_err(|e| e.in_field($name, "context"))?;
                $( let $field = <$fty>::get(&mut r).map_err(|e| e.in_field($name, stringify!($field)))?; )*
                Ok($ty { context, $($field,)* })
            }
        }
    };
}
pub(crate) use message;

/// A reply with `retval` as a field.
macro_rules! retval {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::messages::HasRetval for $ty {
            fn retval(&self) -> i32 {
                self.retval
            }
        }
    )*};
}
pub(crate) use retval;

/// Pairs a request with its reply type.
macro_rules! request {
    ($($req:ty => $reply:ty),* $(,)?) => {$(
        impl $crate::messages::Request for $req {
            type Reply = $reply;
        }
    )*};
}
pub(crate) use request;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn registry_names_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for m in ALL_MESSAGES {
            assert!(seen.insert(m.name_crc), "duplicate {}", m.name_crc);
            assert_eq!(m.name_crc, format!("{}_{}", m.name, m.crc));
            assert_eq!(m.crc.len(), 8, "{}", m.name_crc);
            assert!(m.crc.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        }
        assert_eq!(ALL_MESSAGES.len(), 42);
        assert!(find_message("lb_as_set_weight_2d89bdbd").is_some());
        assert!(find_message("lb_as_set_weight_00000000").is_none());
    }

    #[test]
    fn every_message_decodes_short_input_without_panicking() {
        for m in ALL_MESSAGES {
            for len in 0..64 {
                let payload = vec![0u8; len];
                let _ = (m.describe)(&payload);
                let ff = vec![0xffu8; len];
                let _ = (m.describe)(&ff);
            }
            // A header only is too short for every message with fields.
            assert!((m.describe)(&[]).is_err(), "{} decoded an empty payload", m.name_crc);
        }
    }

    /// A cheap, deterministic stand-in for the fuzz target (which CI does
    /// not run): random and mutated payloads never panic any decoder.
    #[test]
    fn random_and_mutated_payloads_never_panic() {
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let mut valid = vec![
            SockclntCreateReply {
                message_table: vec![
                    crate::types::MessageTableEntry { index: 1, name: "x_00000000".into() };
                    3
                ],
                ..Default::default()
            }
            .encode_to_vec(16),
            IpRouteLookupReply {
                route: crate::types::IpRoute { paths: vec![Default::default(); 2], ..Default::default() },
                ..Default::default()
            }
            .encode_to_vec(1),
            CliInbandReply { reply: "hello".into(), ..Default::default() }.encode_to_vec(1),
            LbAsV2Details::default().encode_to_vec(1),
        ];
        for _ in 0..300 {
            let len = rng.usize(0..600);
            valid.push((0..len).map(|_| rng.u8(..)).collect());
        }
        for base in &valid {
            for round in 0..8 {
                let mut p = base.clone();
                if round > 0 && !p.is_empty() {
                    for _ in 0..rng.usize(1..4) {
                        let i = rng.usize(..p.len());
                        p[i] = rng.u8(..);
                    }
                    p.truncate(rng.usize(0..=p.len()));
                }
                for m in ALL_MESSAGES {
                    let _ = (m.describe)(&p);
                }
            }
        }
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let reply = ControlPingReply { context: 9, retval: 0, client_index: 1, vpe_pid: 42 };
        let mut b = reply.encode_to_vec(24);
        b.extend([1, 2, 3]);
        assert_eq!(ControlPingReply::decode(&b).unwrap(), reply);
        assert_eq!(peek_msg_id(&b).unwrap(), 24);
        assert_eq!(peek_reply_context(&b).unwrap(), 9);
    }
}
