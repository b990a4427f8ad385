//! HTTP routes: one module per endpoint family.

pub mod call_event;
pub mod health;
pub mod site_stats;
pub mod summary;
pub mod sync;
