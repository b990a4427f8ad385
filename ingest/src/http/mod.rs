//! The HTTP pieces every feature shares: the one error kind rendered in each seed's shape (`error`), the
//! event dialects (`dialect`), success shapes (`reply`), extractors, request ids, CORS, and the one set of
//! field validators (`fields`).

pub mod asset;
pub mod cors;
pub mod dialect;
pub mod error;
pub mod extract;
pub mod fields;
pub mod reply;
pub mod request_id;
