//! Build identity, shown by `--version`, the `starting` log line and GetVersion.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("MAGLEV_COMMIT");
pub const BUILD_DATE: &str = env!("MAGLEV_BUILD_DATE");
