//! Stage 1: the YAML file as serde structs (deny unknown keys).

use super::ConfigError;

pub(super) struct RawConfig {}

pub(super) fn parse(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
    todo!("{text} {file}")
}
