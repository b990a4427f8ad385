//! Public tracking (seed 000 and the OpsMantik tracker): `POST /api/sync` (hits), `POST /api/call-event` and
//! `/api/call-event/v2` (phone/WhatsApp clicks, v2 signed), with event time from the client's clock pair.

pub mod call_event;
pub mod event_time;
pub mod payload;
pub mod sync;
