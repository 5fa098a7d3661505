//! vppsim: a stand-in for VPP that speaks its API and stats sockets.
#![forbid(unsafe_code)]

mod cli;
mod ip46;
mod lb;
mod maglev;
mod routes;

fn main() {}
