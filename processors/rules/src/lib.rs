//! Rules on product events (seed 002): the condition language ([`conditions`]), compiled once per rule
//! version and evaluated without allocating.

pub mod conditions;
