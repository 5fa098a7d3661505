//! Decodes arbitrary bytes as every known message type, as a stream of
//! socket frames, and as `show lb vips verbose` output: none may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vppapi::frame::{self, FrameBuffer};
use vppapi::lb::LbFlavor;
use vppapi::messages::{self, LbAsV2Details, LbVipDetails, Message, ALL_MESSAGES};

fuzz_target!(|data: &[u8]| {
    for m in ALL_MESSAGES {
        let _ = (m.describe)(data);
    }
    // Typed views of details must accept whatever decodes.
    if let Ok(d) = LbVipDetails::decode(data) {
        let _ = LbFlavor::Master.vip_from_details(&d);
        let _ = LbFlavor::Legacy.vip_from_details(&d);
    }
    if let Ok(d) = LbAsV2Details::decode(data) {
        let _ = LbFlavor::Master.as_from_details(&d);
        let _ = LbFlavor::Legacy.as_from_details(&d);
    }

    // As a stream of frames, in two arbitrary pieces, with a small limit so
    // that the size guard is exercised too.
    let split = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let mut rx = FrameBuffer::new(4096);
    for part in [&data[..split], &data[split..]] {
        rx.push(part);
        while let Ok(Some(payload)) = rx.next_frame() {
            let _ = messages::peek_msg_id(&payload);
            let _ = messages::peek_reply_context(&payload);
            for m in ALL_MESSAGES {
                let _ = (m.describe)(&payload);
            }
        }
    }
    let mut cursor = std::io::Cursor::new(data);
    while frame::read_frame(&mut cursor, 4096).is_ok() {}

    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vppapi::lb_cli::parse_lb_vips_verbose(text);
    }
});
