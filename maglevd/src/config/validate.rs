//! Stage 2: semantic checks and conversion to the typed model.

use super::raw::RawConfig;
use super::{Config, ConfigError, LoadOptions};

pub(super) fn validate(raw: RawConfig, file: &str, opts: LoadOptions) -> Result<Config, ConfigError> {
    let _ = (raw, file, opts);
    todo!()
}
