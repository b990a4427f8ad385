//! The HTTP pieces every feature shares: the error shapes of each seed dialect (`error` for tracking and
//! our own routes, `seed003`, `event_error` by `dialect`), extractors, request ids, CORS, and the one set of
//! field validators (`fields`).

pub mod cors;
pub mod dialect;
pub mod error;
pub mod event_error;
pub mod extract;
pub mod fields;
pub mod request_id;
pub mod seed003;
