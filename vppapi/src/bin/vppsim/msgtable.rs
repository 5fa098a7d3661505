//! The message table sent in `sockclnt_create_reply`: every message of the
//! codec's registry with its real `<name>_<crc>`, under ids laid out the
//! way a VPP build lays them out. memclnt has the fixed ids of VPP's global
//! message enum; every other module gets a contiguous block (its messages
//! in `.api` file order) at the base the reference VPP build used, so ids
//! are "random" from a client's point of view but stable between runs. The
//! table itself is sent in a scrambled (hash-like) order, as VPP does.
//!
//! In legacy mode (v23.x … v26.06) the messages that only master has are
//! absent and the lb block closes up behind them.

use std::collections::HashMap;

use vppapi::messages::{fixed_ids, MessageInfo, ALL_MESSAGES};

/// Modules and the base id of their block. The bases reproduce a real
/// build (`lb_conf` 89, `cli_inband` 116, `ip_route_lookup` 399,
/// `show_version` 845).
const MODULE_BASES: &[(&str, u16)] = &[("lb", 89), ("vlib", 116), ("ip", 399), ("vpe", 845)];

/// Messages a legacy VPP does not have.
const MASTER_ONLY: &[&str] = &[
    "lb_conf_get",
    "lb_conf_get_reply",
    "lb_add_del_as_v2",
    "lb_add_del_as_v2_reply",
    "lb_as_set_weight",
    "lb_as_set_weight_reply",
    "lb_as_v2_dump",
    "lb_as_v2_details",
];

/// Which `.api` module a message of the registry belongs to.
fn module_of(name: &str) -> &'static str {
    if name.starts_with("lb_") {
        "lb"
    } else if name.starts_with("cli_inband") {
        "vlib"
    } else if name.starts_with("ip_") {
        "ip"
    } else if name.starts_with("show_") {
        "vpe"
    } else {
        "memclnt"
    }
}

fn fixed_id(name: &str) -> Option<u16> {
    Some(match name {
        "get_first_msg_id" => fixed_ids::GET_FIRST_MSG_ID,
        "get_first_msg_id_reply" => fixed_ids::GET_FIRST_MSG_ID_REPLY,
        "sockclnt_create" => fixed_ids::SOCKCLNT_CREATE,
        "sockclnt_create_reply" => fixed_ids::SOCKCLNT_CREATE_REPLY,
        "sockclnt_delete" => fixed_ids::SOCKCLNT_DELETE,
        "sockclnt_delete_reply" => fixed_ids::SOCKCLNT_DELETE_REPLY,
        "memclnt_keepalive" => fixed_ids::MEMCLNT_KEEPALIVE,
        "memclnt_keepalive_reply" => fixed_ids::MEMCLNT_KEEPALIVE_REPLY,
        "control_ping" => fixed_ids::CONTROL_PING,
        "control_ping_reply" => fixed_ids::CONTROL_PING_REPLY,
        _ => return None,
    })
}

#[derive(Debug)]
pub struct MessageTable {
    by_id: HashMap<u16, &'static MessageInfo>,
    by_name: HashMap<&'static str, u16>,
    /// (id, name_crc) in the order they are sent.
    wire_order: Vec<(u16, &'static str)>,
    /// Module name → first id (for `get_first_msg_id`).
    module_bases: Vec<(&'static str, u16)>,
}

impl MessageTable {
    pub fn new(legacy: bool) -> Self {
        let mut by_id = HashMap::new();
        let mut next_in_module: HashMap<&str, u16> = MODULE_BASES.iter().copied().collect();
        for info in ALL_MESSAGES {
            if legacy && MASTER_ONLY.contains(&info.name) {
                continue;
            }
            let id = match fixed_id(info.name) {
                Some(id) => id,
                None => match next_in_module.get_mut(module_of(info.name)) {
                    Some(next) => {
                        let id = *next;
                        *next += 1;
                        id
                    }
                    None => {
                        log::warn!("message {} has no module block; left out of the table", info.name_crc);
                        continue;
                    }
                },
            };
            by_id.insert(id, info);
        }
        let by_name = by_id.iter().map(|(id, info)| (info.name_crc, *id)).collect();
        let mut wire_order: Vec<(u16, &'static str)> =
            by_id.iter().map(|(id, info)| (*id, info.name_crc)).collect();
        // A fixed pseudo-random order: sort by a hash of the name.
        wire_order.sort_by_key(|(_, name)| fnv1a(name));
        let mut module_bases: Vec<(&'static str, u16)> = MODULE_BASES.to_vec();
        module_bases.push(("memclnt", 1));
        MessageTable { by_id, by_name, wire_order, module_bases }
    }

    pub fn message(&self, id: u16) -> Option<&'static MessageInfo> {
        self.by_id.get(&id).copied()
    }

    /// The id of `<name>_<crc>`; messages absent in this mode have none.
    pub fn id(&self, name_crc: &str) -> Option<u16> {
        self.by_name.get(name_crc).copied()
    }

    pub fn entries(&self) -> &[(u16, &'static str)] {
        &self.wire_order
    }

    /// `get_first_msg_id`: VPP registers each module as `<module>_<crc>`;
    /// the module name before the last `_` is enough here.
    pub fn first_msg_id(&self, registered_name: &str) -> Option<u16> {
        let module = match registered_name.rsplit_once('_') {
            Some((m, crc)) if crc.len() == 8 && crc.chars().all(|c| c.is_ascii_hexdigit()) => m,
            _ => registered_name,
        };
        self.module_bases.iter().find(|(m, _)| *m == module).map(|(_, base)| *base)
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vppapi::messages::{LbAsV2Details, LbConf, Message};

    #[test]
    fn master_table_has_fixed_and_realistic_ids() {
        let t = MessageTable::new(false);
        assert_eq!(t.id("sockclnt_create_455fb9c4"), Some(15));
        assert_eq!(t.id("control_ping_reply_f6b0b8ca"), Some(24));
        assert_eq!(t.id(LbConf::NAME_CRC), Some(89));
        assert_eq!(t.id(LbAsV2Details::NAME_CRC), Some(110));
        assert_eq!(t.id("cli_inband_f8377302"), Some(116));
        assert_eq!(t.id("ip_route_lookup_710d6471"), Some(399));
        assert_eq!(t.id("show_version_51077d14"), Some(845));
        assert_eq!(t.entries().len(), ALL_MESSAGES.len());
        for (id, name) in t.entries() {
            let memclnt = module_of(name.rsplit_once('_').map_or(*name, |(n, _)| n)) == "memclnt";
            assert_eq!(*id < 29, memclnt, "{name} has id {id}");
        }
        let sorted: Vec<u16> = {
            let mut v: Vec<u16> = t.entries().iter().map(|e| e.0).collect();
            v.sort_unstable();
            v
        };
        assert_ne!(sorted, t.entries().iter().map(|e| e.0).collect::<Vec<_>>(), "table is not sent sorted");
        assert_eq!(t.message(845).map(|m| m.name), Some("show_version"));
        assert_eq!(t.first_msg_id("lb_12345678"), Some(89));
        assert_eq!(t.first_msg_id("nat44"), None);
    }

    #[test]
    fn legacy_table_lacks_master_only_messages() {
        let t = MessageTable::new(true);
        assert_eq!(t.id("lb_conf_get_51077d14"), None);
        assert_eq!(t.id("lb_as_set_weight_2d89bdbd"), None);
        assert_eq!(t.id("lb_as_v2_dump_1063f819"), None);
        assert_eq!(t.id("lb_add_del_as_v2_2f1d3b0e"), None);
        assert!(t.id("lb_add_del_as_35d72500").is_some());
        assert_eq!(t.entries().len(), ALL_MESSAGES.len() - MASTER_ONLY.len());
    }
}
