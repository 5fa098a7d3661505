//! Reading the config file for a reload (SIGHUP or the ReloadConfig RPC):
//! check first, and on any error keep the running config.

use std::fmt;
use std::path::PathBuf;

use log::{error, info};

use crate::checker::{CheckerHandle, CommandError, ReloadSummary};
use crate::config::{self, Config, ConfigError, LoadOptions};
use crate::logging::Value;

/// Where the config comes from and which rules apply to it.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub opts: LoadOptions,
}

#[derive(Debug)]
pub enum ReloadError {
    /// The file is broken; the running config is kept.
    Config(ConfigError),
    /// The checker is gone (shutting down).
    Checker(CommandError),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Config(e) => write!(f, "{e}"),
            ReloadError::Checker(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReloadError {}

impl ConfigSource {
    /// Reads and validates the file.
    pub fn load(&self) -> Result<Config, ConfigError> {
        config::load(&self.path, self.opts)
    }

    /// Loads the file and hands it to the checker; logs the outcome.
    pub fn reload(&self, checker: &CheckerHandle) -> Result<ReloadSummary, ReloadError> {
        let file = self.path.display().to_string();
        let config = match self.load() {
            Ok(c) => c,
            Err(e) => {
                let kind = if e.exit_code() == 2 { "semantic" } else { "parse" };
                error!(
                    "config-reload-failed file={} kind={kind} error={} detail={}",
                    Value(&file),
                    Value(&e.to_string()),
                    Value("keeping the running config; fix the file and reload again")
                );
                return Err(ReloadError::Config(e));
            }
        };
        let summary = checker.reload(config).map_err(ReloadError::Checker)?;
        info!(
            "config-reload file={} added={} removed={} restarted={} reconfigured={} unchanged={}",
            Value(&file),
            summary.added.len(),
            summary.removed.len(),
            summary.restarted.len(),
            summary.reconfigured.len(),
            summary.unchanged.len()
        );
        Ok(summary)
    }
}
