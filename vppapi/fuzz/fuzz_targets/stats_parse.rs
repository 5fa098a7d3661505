//! Arbitrary bytes as a stats segment: the full read (directory, every
//! entry, counter sums at arbitrary indices) must return values or errors,
//! never panic or loop.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vppapi::stats::{Query, StatsClient};

fuzz_target!(|data: &[u8]| {
    let Ok(mut client) = StatsClient::from_segment(data) else {
        return;
    };
    // One attempt: the bytes never change, so retrying cannot help.
    client.set_timeout(Duration::ZERO);
    let Ok(entries) = client.dump() else {
        return;
    };
    let mut queries = Vec::new();
    for (i, (name, _)) in entries.iter().enumerate() {
        let index = (i as u32).wrapping_mul(0x9e37_79b9) % 64;
        queries.push(Query::scalar(name.as_str()));
        queries.push(Query::simple(name.as_str(), index));
        queries.push(Query::combined(name.as_str(), index));
    }
    let _ = client.read(&queries);
    let _ = client.boottime();
});
