//! The sessionizer: turns tracking hits into sessions (DESIGN.md §5) and publishes each hit as a
//! `SessionEvent` and each session change as a new `SessionState` version.
//!
//! The session rules are `opsmantik-sessions` (shared with the call-matcher); [`operator`] runs them on the
//! stream runtime's operator model (keyed state, timers, snapshots); [`intents`] turns conversion clicks into
//! call intents.

pub mod intents;
pub mod operator;

pub use operator::{run, SessionOperator, SessionizerConfig};
