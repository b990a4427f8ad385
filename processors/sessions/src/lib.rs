//! Sessions: the one implementation of the session rules (DESIGN.md §5) and the lead score they carry, shared
//! by every stage that follows visitors (the sessionizer publishes sessions; the call-matcher matches clicks
//! to them). Pure: no I/O, no clock, no runtime.

pub mod device;
pub mod rules;
mod url_params;

pub use rules::{
    place, Outcome, Visit, CLOSE_AFTER_MS, FORGET_AFTER_MS, INACTIVITY_MS, MAX_SESSION_MS,
};
