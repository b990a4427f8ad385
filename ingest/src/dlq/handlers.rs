//! Seed 001's dead-letter routes, global admins only: `GET /api/sync/dlq/list`, `POST /api/sync/dlq/replay`,
//! `GET /api/sync/dlq/audit`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_runtime::iso_ms;
use opsmantik_schemas::dlq::Reason;
use serde::Deserialize;
use serde_json::{json, Value};

use super::replay::{self, Dlq, ReplayError, Replayer};
use super::store::Filter;
use super::view;
use crate::app::state::AppState;
use crate::auth::principal::Admin;
use crate::http::error::{ApiError, Shape};
use crate::http::reply::ok;

/// The most rows one page of the list or the audit gives.
pub const MAX_LIMIT: u32 = 200;

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::unavailable(Shape::Control, "store_unavailable", e)
}

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    limit: Option<String>,
    offset: Option<String>,
    #[serde(rename = "siteDbId")]
    site: Option<String>,
    reason: Option<String>,
    stage: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn number<T: std::str::FromStr>(field: &str, v: Option<&str>, default: T) -> Result<T, ApiError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::invalid(field, "must be a non-negative integer")),
    }
}

fn time(field: &str, v: Option<&str>, default: i64) -> Result<i64, ApiError> {
    match v.filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => crate::http::fields::rfc3339_ms(v)
            .map(|ms| ms.div_euclid(1000))
            .map_err(|e| ApiError::invalid(field, format!("must be an RFC 3339 time: {e}"))),
    }
}

/// The paging shared by the list and the audit: `limit` 1–200 (default 50), `offset` ≥ 0.
fn page(limit: Option<&str>, offset: Option<&str>) -> Result<(u32, u64), ApiError> {
    let limit = number("limit", limit, 50u32)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    Ok((limit, number("offset", offset, 0u64)?))
}

/// Checks the list's query and resolves the site filter.
async fn filter(state: &AppState, q: ListParams) -> Result<Option<Filter>, ApiError> {
    let (limit, offset) = page(q.limit.as_deref(), q.offset.as_deref())?;
    if let Some(r) = q.reason.as_deref().filter(|r| !r.is_empty()) {
        if Reason::from_code(r).is_none() {
            let codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
            return Err(ApiError::invalid(
                "reason",
                format!("must be one of {}", codes.join(", ")),
            ));
        }
    }
    let site = match q.site.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(key) => match crate::auth::access::find_site(state, key).await? {
            Some(site) => Some((site.id.clone(), site.public_id.clone())),
            // An unknown site has no dead letters.
            None => return Ok(None),
        },
    };
    Ok(Some(Filter {
        site,
        reason: q.reason.filter(|r| !r.is_empty()),
        stage: q.stage.filter(|s| !s.is_empty()),
        from: time("from", q.from.as_deref(), 0)?,
        to: time("to", q.to.as_deref(), i64::from(u32::MAX))?,
        limit,
        offset,
    }))
}

/// `GET /api/sync/dlq/list`: newest first; `count` is how many match the filter.
pub async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
    Query(q): Query<ListParams>,
) -> Result<Response, ApiError> {
    let Some(f) = filter(&state, q).await? else {
        return Ok(ok(StatusCode::OK, json!({ "count": 0, "items": [] })));
    };
    let (count, items) = view::page(&Dlq::of(&state), &f)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(ok(
        StatusCode::OK,
        json!({ "count": count, "items": items }),
    ))
}

/// The replay's query.
#[derive(Debug, Default, Deserialize)]
pub struct ReplayParams {
    id: Option<String>,
}

/// `POST /api/sync/dlq/replay?id=`.
pub async fn replay(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(q): Query<ReplayParams>,
) -> Result<Response, ApiError> {
    let id =
        q.id.filter(|i| !i.is_empty())
            .ok_or_else(|| ApiError::invalid("id", "is required"))?;
    let by = Replayer {
        actor: format!("user:{}", user.id),
        user_id: Some(user.id),
        email: Some(user.email),
    };
    match replay::replay(&Dlq::of(&state), &by, &id).await {
        Ok(count) => Ok(ok(
            StatusCode::OK,
            json!({ "id": id, "replay_count": count }),
        )),
        Err(e @ ReplayError::BadId(_)) => Err(ApiError::invalid("id", e)),
        Err(e @ ReplayError::NotFound(_)) => Err(ApiError::new(
            Shape::Control,
            StatusCode::NOT_FOUND,
            "not_found",
            e.to_string(),
        )),
        Err(ReplayError::Store(e)) => Err(unavailable(&e)),
        Err(e @ ReplayError::NotReplayable(_)) => Err(failed(StatusCode::UNPROCESSABLE_ENTITY, &e)),
        Err(e @ ReplayError::Publish(_)) => Err(failed(StatusCode::SERVICE_UNAVAILABLE, &e)),
    }
}

fn failed(status: StatusCode, e: &ReplayError) -> ApiError {
    ApiError::new(Shape::Control, status, "replay_failed", e.to_string())
}

/// The audit's query.
#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    limit: Option<String>,
    offset: Option<String>,
    #[serde(rename = "dlqId")]
    dlq_id: Option<String>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct AuditRow {
    audit_id: String,
    subject_id: String,
    detail_json: String,
    at: i64,
}

/// `GET /api/sync/dlq/audit`: every replay, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Admin(_): Admin,
    Query(q): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let (limit, offset) = page(q.limit.as_deref(), q.offset.as_deref())?;
    let dlq_id = q.dlq_id.unwrap_or_default();
    let filter = "FROM audit_log FINAL WHERE action = ? AND (? = '' OR subject_id = ?)";
    let bind =
        |query: clickhouse::query::Query| query.bind(replay::ACTION).bind(&dlq_id).bind(&dlq_id);
    let count_sql = format!("SELECT count() {filter}");
    let rows_sql = format!(
        "SELECT audit_id, subject_id, detail_json, toInt64(at) AS at {filter} \
         ORDER BY at DESC, audit_id DESC LIMIT ?, ?"
    );
    let (count, rows) = tokio::join!(
        bind(state.clickhouse.query(&count_sql)).fetch_one::<u64>(),
        bind(state.clickhouse.query(&rows_sql))
            .bind(offset)
            .bind(limit)
            .fetch_all::<AuditRow>()
    );
    let (count, rows) = (
        count.map_err(|e| unavailable(&e))?,
        rows.map_err(|e| unavailable(&e))?,
    );
    let items: Vec<Value> = rows.into_iter().map(audit_item).collect();
    Ok(ok(
        StatusCode::OK,
        json!({ "count": count, "items": items }),
    ))
}

fn audit_item(r: AuditRow) -> Value {
    let d: Value = serde_json::from_str(&r.detail_json).unwrap_or(Value::Null);
    json!({
        "id": r.audit_id,
        "dlq_id": r.subject_id,
        "replayed_by_user_id": d.get("replayed_by_user_id"),
        "replayed_by_email": d.get("replayed_by_email"),
        "replayed_at": iso_ms(r.at * 1000),
        "replay_count_after": d.get("replay_count_after"),
        "error_if_failed": d.get("error_if_failed"),
    })
}
