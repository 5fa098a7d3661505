//! vppsim: a stand-in for VPP that speaks its API and stats sockets.
#![forbid(unsafe_code)]

mod cli;
mod control;
mod ip46;
mod lb;
mod maglev;
mod request_log;
mod routes;
mod traffic;

fn main() {}
