//! The maglevd process: flags, logging, threads, signals.

/// Runs maglevd; returns the process exit status.
pub fn main() -> i32 {
    todo!()
}
