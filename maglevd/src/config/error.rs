//! Config errors. Every message names the file and the YAML path of the
//! offending value; parse errors also carry line and column.

use std::fmt;

#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Io { file: String, source: std::io::Error },
    /// Stage 1: YAML syntax, unknown key, wrong type. `--check` exits 1.
    Parse {
        file: String,
        /// e.g. `maglev.healthchecks.http-80.rise` (best effort for syntax errors).
        path: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// Stage 2: semantic rules across objects. `--check` exits 2.
    Semantic { file: String, errors: Vec<SemanticError> },
}

/// One semantic rule violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemanticError {
    /// e.g. `maglev.frontends.web4.pools[1].backends.nginx9`.
    pub path: String,
    /// e.g. `unknown backend`.
    pub message: String,
}

impl ConfigError {
    /// The `maglevd --check` exit status: 1 for I/O and parse errors, 2 for
    /// semantic errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfigError::Io { .. } | ConfigError::Parse { .. } => 1,
            ConfigError::Semantic { .. } => 2,
        }
    }
}

impl fmt::Display for SemanticError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { file, source } => write!(f, "{file}: cannot read config: {source}"),
            ConfigError::Parse { file, path, line, column, message } => {
                write!(f, "{file}")?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                    if let Some(c) = column {
                        write!(f, ":{c}")?;
                    }
                }
                if path.is_empty() {
                    write!(f, ": {message}")
                } else {
                    write!(f, ": {path}: {message}")
                }
            }
            ConfigError::Semantic { file, errors } => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{file}: {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
