//! Configuration: YAML text -> raw serde structs (stage 1: syntax, unknown
//! keys, types) -> validated typed model (stage 2: semantics across objects).
//!
//! Only `model` types leave this module.

pub mod duration;
pub mod error;
pub mod model;
mod raw;
mod validate;

use std::path::Path;

pub use error::{ConfigError, SemanticError};
pub use model::*;

/// Options that change which rules apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// VPP integration enabled (`--vpp-api-addr` not empty): the lb source
    /// address requirements apply.
    pub vpp_enabled: bool,
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path, opts: LoadOptions) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Io { file: path.display().to_string(), source })?;
    parse(&text, &path.display().to_string(), opts)
}

/// Validates `text`; `file` names the source in error messages.
pub fn parse(text: &str, file: &str, opts: LoadOptions) -> Result<Config, ConfigError> {
    let raw = raw::parse(text, file)?;
    validate::validate(raw, file, opts)
}
