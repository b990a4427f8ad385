//! Operating the edge: health (`/api/health`, `/api/ready`, `/api/live`), `/metrics`, and every metric the
//! edge declares.

pub mod health;
pub mod metrics;
