//! The sessionizer: turns tracking hits into sessions (DESIGN.md §5) and publishes each hit as a
//! `SessionEvent` and each session change as a new `SessionState` version.
//!
//! [`operator`] is the pure, synchronous session logic; [`handler`] connects it to the stream runtime
//! (decode, dead-letter, publish, visitor index, per-partition snapshots in [`snapshot`]).

pub mod device;
pub mod handler;
pub mod intents;
pub mod operator;
pub mod snapshot;
mod url_params;

pub use handler::{run, SessionizerConfig};
pub use operator::{Outcome, Sessionizer};
