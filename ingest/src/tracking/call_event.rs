//! `POST /api/call-event` and `POST /api/call-event/v2` (seeds 000/001): a phone or WhatsApp click →
//! `CallIntent` on `opsmantik.call-intents.v1` (keyed `site:visitor`, co-partitioned with the visitor's hits),
//! answered at once from the visitor index: `matched` (the visitor's latest session was active within the
//! 30 minutes before the click) or `unmatched`. v2 requires a signature (see `signature.rs`); the same signed
//! request again is a client's retry: answered 200 `noop`, nothing new is created. `X-Ops-Site-Id`, when sent,
//! must name the body's site.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use opsmantik_runtime::kafka::OutRecord;
use opsmantik_runtime::now_ms;
use opsmantik_schemas::{encode, CallIntent, ClickContext, Topic};
use serde_json::{json, Map, Value};

use crate::app::state::AppState;
use crate::auth::signature::{self, SignatureError};
use crate::http::error::ApiError;
use crate::http::extract::LimitedBody;
use crate::http::fields::StringRule;
use crate::sites::Site;
use crate::tracking::payload::string_field;

const MATCH_WINDOW_MS: i64 = 30 * 60 * 1000;

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn text(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, ApiError> {
    string_field(obj, field, StringRule::bytes(max, required))
        .map_err(|e| ApiError::bad_request(e.code, e.message))
}

/// A text field with no control or bidi-override characters (numbers, stamps).
fn clean(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, ApiError> {
    let value = text(obj, field, max, required)?.filter(|v| !v.is_empty() || required);
    if let Some(v) = &value {
        crate::http::fields::client_text(v, max)
            .map_err(|e| ApiError::bad_request("invalid_field", format!("field `{field}` {e}")))?;
    }
    Ok(value)
}

/// Largest `ads_context` kept, as JSON text.
const MAX_ADS_CONTEXT: usize = 4096;

/// What the tracker sent about the click besides the call event's own fields.
fn context(obj: &Map<String, Value>, stamp: Option<String>) -> Result<ClickContext, ApiError> {
    let ads_context_json = match obj.get("ads_context") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => {
            let text = v.to_string();
            if text.len() > MAX_ADS_CONTEXT {
                return Err(ApiError::bad_request(
                    "invalid_field",
                    format!("field `ads_context` is longer than {MAX_ADS_CONTEXT} bytes"),
                ));
            }
            Some(text)
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "field `ads_context` must be an object",
            ))
        }
    };
    Ok(ClickContext {
        intent_action: clean(obj, "intent_action", 32, false)?,
        intent_target: clean(obj, "intent_target", 256, false)?
            .map(|t| opsmantik_schemas::ids::click_target(&t)),
        intent_stamp: stamp,
        page_url: text(obj, "intent_page_url", 8192, false)?,
        user_agent: text(obj, "ua", 1024, false)?,
        gclid: clean(obj, "gclid", 512, false)?,
        wbraid: clean(obj, "wbraid", 512, false)?,
        gbraid: clean(obj, "gbraid", 512, false)?,
        ads_context_json,
    })
}

/// A valid call event and its site.
struct Valid {
    site: std::sync::Arc<Site>,
    intent: CallIntent,
}

fn validate(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    signed: bool,
) -> Result<Valid, ApiError> {
    let obj = match crate::http::fields::json::parse(body) {
        Ok(Value::Object(o)) => o,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_json",
                "body must be a JSON object",
            ))
        }
    };
    let site_key = text(&obj, "site_id", 128, true)?.unwrap_or_default();
    let route = if signed {
        "call_event_v2"
    } else {
        "call_event"
    };
    let site = super::site_of(state, headers, &site_key, "site_id", route)?;
    let action = text(&obj, "action", 16, true)?.unwrap_or_default();
    if action != "phone" && action != "whatsapp" {
        return Err(ApiError::bad_request(
            "invalid_field",
            "field `action` must be `phone` or `whatsapp`",
        ));
    }
    let event_id = text(&obj, "event_id", 128, true)?.unwrap_or_default();
    if uuid::Uuid::parse_str(&event_id).is_err() {
        return Err(ApiError::bad_request(
            "invalid_field",
            "field `event_id` must be a UUID",
        ));
    }
    let fingerprint = text(&obj, "fingerprint", 256, false)?.filter(|f| !f.is_empty());
    let phone_number = opsmantik_schemas::ids::click_target(
        &clean(&obj, "phone_number", 256, true)?.unwrap_or_default(),
    );
    // The OpsMantik tracker reports a click twice (here and as a conversion hit) with one stamp: one call.
    let stamp = clean(&obj, "intent_stamp", 128, false)?;
    let call_id = match &stamp {
        Some(stamp) => opsmantik_schemas::ids::click_id(&site.public_id, stamp),
        None => event_id.clone(),
    };
    let received = now_ms();
    let intent = CallIntent {
        visitor: fingerprint.clone().unwrap_or_else(|| event_id.clone()),
        event_id: call_id,
        site: site.public_id.clone(),
        fingerprint,
        phone_number,
        action,
        url: text(&obj, "url", 8192, true)?.unwrap_or_default(),
        signed,
        received_at: received,
        event_time: received,
        context: Some(context(&obj, stamp)?),
    };
    Ok(Valid { site, intent })
}

async fn accept(state: &AppState, v: Valid, route: &'static str) -> Result<Json<Value>, ApiError> {
    let payload = encode(&v.intent).map_err(|e| {
        ApiError::unavailable(crate::http::error::Shape::Tracking, "encode_failed", &e)
    })?;
    let key = format!("{}:{}", v.intent.site, v.intent.visitor).into_bytes();
    state
        .publish(
            OutRecord {
                topic: state.topics.name(Topic::CallIntents),
                key,
                payload,
                replay: None,
            },
            route,
        )
        .await?;
    Ok(Json(visitor_answer(state, &v).await))
}

/// The quick answer from the visitor index: `matched` with the session and its score, or `unmatched`.
async fn visitor_answer(state: &AppState, v: &Valid) -> Value {
    let Some(fp) = &v.intent.fingerprint else {
        return json!({ "status": "unmatched" });
    };
    let read = state.visitors.get(&v.site.public_id, fp);
    let entry = match tokio::time::timeout(std::time::Duration::from_millis(200), read).await {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => {
            // The intent is stored; the call-matcher decides the match. Only the quick answer is lost.
            tracing::warn!(error = %e, "visitor index unavailable");
            None
        }
        Err(_) => {
            tracing::warn!("visitor index too slow; answering unmatched");
            None
        }
    };
    match entry {
        Some(e)
            if e.last_seen_ms >= v.intent.event_time - MATCH_WINDOW_MS
                && e.last_seen_ms <= v.intent.event_time + 60_000 =>
        {
            json!({ "status": "matched", "session_id": e.session_id, "lead_score": e.lead_score })
        }
        _ => json!({ "status": "unmatched" }),
    }
}

/// `POST /api/call-event`: CORS-restricted, unsigned.
pub async fn v1(
    State(state): State<AppState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Json<Value>, ApiError> {
    let valid = validate(&state, &headers, &body, false)?;
    if valid.site.require_signed_calls {
        crate::ops::metrics::rejected("call_event", "signature_required");
        return Err(ApiError::new(
            crate::http::error::Shape::Tracking,
            StatusCode::UNAUTHORIZED,
            "signature_required",
            "this site takes signed call events only: use /api/call-event/v2",
        ));
    }
    accept(&state, valid, "call_event").await
}

/// `POST /api/call-event/v2`: signed with the site's secret.
pub async fn v2(
    State(state): State<AppState>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Json<Value>, ApiError> {
    let valid = validate(&state, &headers, &body, true)?;
    if let Some(named) = header(&headers, "x-ops-site-id") {
        if named != valid.site.public_id && named != valid.site.id {
            return Err(unauthorized(
                "site_mismatch",
                "X-Ops-Site-Id does not name the body's site_id",
            ));
        }
    }
    let sig = header(&headers, "x-ops-signature");
    let now = now_ms() / 1000;
    // After a rotation the previous secret stays valid for its grace period, so trackers can roll over.
    let mut verdict = Err(signature::SignatureError::Mismatch);
    for secret in valid.site.signing_secrets(now) {
        verdict = signature::verify(secret, signature::timestamp(&headers), sig, &body, now);
        if verdict.is_ok() {
            break;
        }
    }
    let canonical = verdict.map_err(refused)?;
    if !claim_signature(&state, &valid.site.public_id, &canonical).await? {
        // The same signed request again: a client's retry after a lost answer. Nothing new is created.
        let mut answer = visitor_answer(&state, &valid).await;
        answer["status"] = json!("noop");
        answer["call_id"] = json!(valid.intent.event_id);
        return Ok(Json(answer));
    }
    accept(&state, valid, "call_event_v2").await
}

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    crate::ops::metrics::rejected("call_event_v2", code);
    ApiError::new(
        crate::http::error::Shape::Tracking,
        StatusCode::UNAUTHORIZED,
        code,
        message,
    )
}

fn refused(e: SignatureError) -> ApiError {
    let message = match e {
        SignatureError::Missing => "X-Ops-Signature and X-Ops-Ts (or X-Ops-Timestamp) are required",
        SignatureError::Stale => {
            "the signature's timestamp is more than 5 minutes old or 1 minute ahead"
        }
        SignatureError::Mismatch => "the signature does not match",
    };
    unauthorized(e.code(), message)
}

/// Remembers a signature for twice the timestamp window; `false` when it was seen before.
async fn claim_signature(state: &AppState, site: &str, signature: &str) -> Result<bool, ApiError> {
    let key = state.redis.site_key("callsig", site, signature);
    let mut c = state.redis.conn().await.map_err(|e| {
        ApiError::unavailable(
            crate::http::error::Shape::Tracking,
            "replay_store_unavailable",
            &e,
        )
    })?;
    let set: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(2 * (signature::WINDOW_SECS + signature::AHEAD_SECS))
        .query_async(&mut c)
        .await
        .map_err(|e| {
            ApiError::unavailable(
                crate::http::error::Shape::Tracking,
                "replay_store_unavailable",
                &e,
            )
        })?;
    Ok(set.is_some())
}
