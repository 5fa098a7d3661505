//! VPP's socket protocol at the frame level, as VPP speaks it: the
//! handshake, and the requests VPP drops without an answer (an unknown
//! message id, a truncated payload, a wrong client_index) while it goes on
//! answering the next one. Runs against real VPP and vppsim alike.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use testsupport::Vpp;
use vppapi::frame::{encode_frame, read_frame, FrameError};
use vppapi::messages::{
    fixed_ids, ControlPing, ControlPingReply, Message, SockclntCreate, SockclntCreateReply,
};

#[test]
fn malformed_requests_are_dropped_silently_and_the_next_one_is_answered() {
    let vpp = Vpp::start();
    let mut s = UnixStream::connect(&vpp.api_socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let create = SockclntCreate { context: 124, name: "raw".into() };
    s.write_all(&encode_frame(&create.encode_to_vec(fixed_ids::SOCKCLNT_CREATE))).expect("write");
    let reply = SockclntCreateReply::decode(&read_frame(&mut s, 1 << 24).expect("frame")).expect("decode");
    // The registration index has the socket-client bit set; its value is
    // VPP's pool slot, which depends on earlier connections.
    assert_eq!((reply.context, reply.response, reply.client_index), (124, 0, 0), "{reply:?}");
    assert_eq!(reply.index & 0x8000_0000, 0x8000_0000, "{:#x}", reply.index);
    let table: std::collections::HashMap<String, u16> =
        reply.message_table.iter().map(|e| (e.name.as_str().to_string(), e.index)).collect();
    let ping_id = table["control_ping_51077d14"];
    let vip_v2 = table["lb_add_del_vip_v2_7c520e0f"];
    let me = reply.index;

    // An unknown id (9999), a truncated lb_add_del_vip_v2, a ping with
    // another client's index, then a good ping: only the last is answered.
    let mut burst = encode_frame(&[0x27, 0x0f, 0x80, 0, 0, 1, 0, 0, 0, 1]);
    let mut truncated = vip_v2.to_be_bytes().to_vec();
    truncated.extend_from_slice(&me.to_be_bytes());
    truncated.extend_from_slice(&[0, 0, 0, 2, 0, 0xc0, 0, 2]);
    burst.extend(encode_frame(&truncated));
    burst.extend(encode_frame(&ControlPing { client_index: me + 1, context: 3 }.encode_to_vec(ping_id)));
    burst.extend(encode_frame(&ControlPing { client_index: me, context: 4 }.encode_to_vec(ping_id)));
    s.write_all(&burst).expect("write");
    let first = ControlPingReply::decode(&read_frame(&mut s, 1 << 24).expect("frame")).expect("decode");
    assert_eq!(
        (first.context, first.retval, first.client_index),
        (4, 0, me),
        "only the last ping is answered"
    );
    assert_eq!(first.vpe_pid, vpp.pid());

    // sockclnt_delete: response 1, then VPP closes the socket.
    let del = vppapi::messages::SockclntDelete { client_index: me, context: 5, index: me };
    s.write_all(&encode_frame(&del.encode_to_vec(fixed_ids::SOCKCLNT_DELETE))).expect("write");
    let r = vppapi::messages::SockclntDeleteReply::decode(&read_frame(&mut s, 1 << 24).expect("frame"))
        .expect("decode");
    assert_eq!((r.context, r.response), (5, 1));
    assert!(matches!(read_frame(&mut s, 1 << 24), Err(FrameError::Eof { partial: false })));
}
