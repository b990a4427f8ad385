//! Public tracking (seed 000 and the OpsMantik tracker): `POST /api/sync` (hits), `POST /api/call-event` and
//! `/api/call-event/v2` (phone/WhatsApp clicks, v2 signed), with event time from the client's clock pair.

pub mod call_event;
pub mod event_time;
pub mod payload;
pub mod sync;

use std::sync::Arc;

use axum::http::HeaderMap;

use crate::app::state::AppState;
use crate::http::error::{ApiError, Shape};
use crate::sites::{Lookup, Site};

/// The site a tracking request names (in its `field`), if the request's origin may write to it: 400
/// `unknown_site`, 503 `sites_unavailable` before the edge has its site list, 403 for a refused origin.
pub fn site_of(
    state: &AppState,
    headers: &HeaderMap,
    key: &str,
    field: &str,
    route: &'static str,
) -> Result<Arc<Site>, ApiError> {
    let site = match state.sites.get(key) {
        Lookup::Found(s) => s,
        Lookup::Unknown => {
            crate::ops::metrics::rejected(route, "unknown_site");
            return Err(ApiError::bad_request(
                "unknown_site",
                format!("`{field}` is not a known site"),
            ));
        }
        Lookup::NotLoaded => {
            return Err(ApiError::unavailable(
                Shape::Tracking,
                "sites_unavailable",
                &"site list not loaded",
            ))
        }
    };
    state.cors.check(headers, &site)?;
    Ok(site)
}
