//! The edge's assembly: configuration, the shared state, the router that merges every feature's routes,
//! and the background tasks `run` starts (and joins at shutdown).

pub mod config;
pub mod router;
pub mod serve;
pub mod state;
pub mod stores;
pub mod tasks;

#[cfg(test)]
mod access_matrix_tests;
pub mod openapi;
#[cfg(test)]
mod route_scan;
#[cfg(test)]
pub mod test_client;
