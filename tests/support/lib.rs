//! Helpers shared by the integration tests in `tests/`.
#![forbid(unsafe_code)]
