//! Rules on product events (seed 002): the condition language ([`conditions`], compiled once per rule version
//! and evaluated without allocating), the rule book ([`book`]), the signed webhook payload ([`webhook`]) and
//! the processor ([`processor`]) that turns matching events into webhook deliveries.

pub mod book;
pub mod conditions;
pub mod processor;
pub mod webhook;
