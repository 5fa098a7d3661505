#![forbid(unsafe_code)]

fn main() {
    std::process::exit(maglevd::daemon::main());
}
