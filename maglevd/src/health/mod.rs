//! The pure health model: states, the rise/fall counter, interval choice,
//! pool failover and effective weights. No I/O, no clocks, no threads: the
//! checker calls these, and their unit tests are the truth tables of
//! PRODUCT.md §5.3, §5.4 and §6.

pub mod counter;
pub mod interval;
pub mod pools;
pub mod state;

pub use counter::HealthCounter;
pub use pools::{evaluate_frontend, BackendEval, FrontendEval};
pub use state::{BackendState, FrontendState};
