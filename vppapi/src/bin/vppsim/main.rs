//! vppsim: a stand-in for VPP that speaks its API and stats sockets.
#![forbid(unsafe_code)]

fn main() {}
