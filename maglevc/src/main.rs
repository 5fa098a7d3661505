//! maglevc: the operator's shell and one-shot CLI for maglevd.
#![forbid(unsafe_code)]

fn main() {}
