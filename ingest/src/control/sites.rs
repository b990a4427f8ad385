//! Sites of signed-in users (seed 001): `POST /api/sites/create`, `POST /api/create-test-site`,
//! `GET /api/sites` (mine), `GET|PATCH /api/sites/{id}`, `POST /api/sites/{id}/rotate-secret`.
//! The creator is the site's owner. A site's signing secret is shown at creation and rotation only.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use opsmantik_runtime::accounts::{self, Role, User};
use opsmantik_runtime::sites::{self, NewSite, Site};
use redis::AsyncCommands;
use serde_json::{json, Map, Value};

use crate::app::state::AppState;
use crate::audit;
use crate::auth::{access, Caller, Need, Principal, SignedIn};
use crate::http::error::ApiError;
use crate::http::fields;
use crate::http::reply::{object, ok};

/// How long the previous secret keeps working after a rotation.
pub const SECRET_GRACE_SECS: i64 = 24 * 3600;

/// A site as its members see it (no secret).
pub fn public_view(site: &Site) -> Value {
    json!({
        "id": site.id,
        "public_id": site.public_id,
        "name": site.name,
        "domain": site.domain,
        "allowed_origins": site.allowed_origins,
        "time_zone": site.time_zone,
        "currency": site.currency,
        "default_deal_value": site.default_deal_value,
        "require_signed_calls": site.require_signed_calls,
        "oci_conversion_name": site.oci_conversion_name,
    })
}

fn required_str<'a>(m: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match m.get(field) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(ApiError::invalid(field, "is required")),
        Some(_) => Err(ApiError::invalid(field, "must be a string")),
    }
}

/// Creates a site owned by `owner` and records it.
async fn create_owned(state: &AppState, owner: &User, new: NewSite) -> Result<Site, ApiError> {
    let site = sites::create(&state.redis, new).await?;
    accounts::set_member(&state.redis, &site.id, &owner.id, Role::Owner).await?;
    state.sites.upsert(site.clone());
    let who = Principal::User(owner.clone());
    audit::record(
        state,
        &who,
        "site_created",
        &site.id,
        json!({ "public_id": site.public_id, "domain": site.domain }),
    )
    .await;
    Ok(site)
}

/// `POST /api/sites/create {name, domain}`.
pub async fn create(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let m = object(&body)?;
    let name =
        fields::text(required_str(&m, "name")?, 100).map_err(|e| ApiError::invalid("name", e))?;
    let domain =
        fields::domain(required_str(&m, "domain")?).map_err(|e| ApiError::invalid("domain", e))?;
    let new = NewSite {
        public_id: None,
        name,
        allowed_origins: vec![format!("https://{domain}")],
        domain,
        time_zone: None,
    };
    let site = create_owned(&state, &user, new).await?;
    let mut view = public_view(&site);
    view["secret"] = json!(site.secret);
    Ok(ok(
        StatusCode::CREATED,
        json!({ "success": true, "site": view, "message": "Site created; keep the secret: it is shown once" }),
    ))
}

/// `POST /api/create-test-site`: the caller's localhost test site (the existing one if present).
pub async fn create_test_site(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> Result<Response, ApiError> {
    let marker = state.redis.key(&["user_test_site", &user.id]);
    let mut c = state.redis.conn().await.map_err(ApiError::from)?;
    let existing: Option<String> = c.get(&marker).await?;
    if let Some(site) = match existing {
        Some(id) => sites::get(&state.redis, &id).await?,
        None => None,
    } {
        return Ok(ok(
            StatusCode::OK,
            json!({ "success": true, "site": public_view(&site), "created": false }),
        ));
    }
    let new = NewSite {
        public_id: None,
        name: "Test site".into(),
        domain: "localhost".into(),
        allowed_origins: vec![
            "http://localhost:3000".into(),
            "http://localhost:8080".into(),
        ],
        time_zone: None,
    };
    let site = create_owned(&state, &user, new).await?;
    let _: () = c.set(&marker, &site.id).await?;
    let mut view = public_view(&site);
    view["secret"] = json!(site.secret);
    Ok(ok(
        StatusCode::CREATED,
        json!({ "success": true, "site": view, "created": true }),
    ))
}

/// `GET /api/sites`: the sites the caller is a member of, with the caller's role.
pub async fn mine(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> Result<Response, ApiError> {
    let mut out = Vec::new();
    for id in accounts::sites_of(&state.redis, &user.id).await? {
        let (Some(site), Some(role)) = (
            sites::get(&state.redis, &id).await?,
            accounts::role_of(&state.redis, &id, &user.id).await?,
        ) else {
            continue;
        };
        let mut view = public_view(&site);
        view["role"] = json!(role.as_str());
        out.push(view);
    }
    Ok(ok(StatusCode::OK, json!({ "sites": out })))
}

/// `GET /api/sites/{id}`: members of the site.
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let site = access::site(&state, &who, &id, Need::MEMBER).await?;
    Ok(ok(StatusCode::OK, json!({ "site": public_view(&site) })))
}

/// Applies the fields of a PATCH body to `site`; unknown fields are refused (a typo must not pass).
fn apply_patch(site: &mut Site, m: &Map<String, Value>) -> Result<(), ApiError> {
    for (field, value) in m {
        let bad = |e: String| ApiError::invalid(field, e);
        let s = || value.as_str().ok_or_else(|| bad("must be a string".into()));
        match field.as_str() {
            "name" => site.name = fields::text(s()?, 100).map_err(bad)?,
            "domain" => site.domain = fields::domain(s()?).map_err(bad)?,
            "time_zone" => site.time_zone = fields::time_zone(s()?).map_err(bad)?,
            "currency" => site.currency = fields::currency(s()?).map_err(bad)?,
            "default_deal_value" => {
                let v = value.as_f64().ok_or_else(|| bad("must be a number".into()))?;
                site.default_deal_value = fields::amount(v).map_err(bad)?;
            }
            "require_signed_calls" => {
                site.require_signed_calls =
                    value.as_bool().ok_or_else(|| bad("must be true or false".into()))?;
            }
            "oci_conversion_name" => {
                site.oci_conversion_name = fields::text(s()?, 100).map_err(bad)?;
            }
            "allowed_origins" => {
                let list = value.as_array().ok_or_else(|| bad("must be an array of origins".into()))?;
                if list.len() > 50 {
                    return Err(bad("may list at most 50 origins".into()));
                }
                site.allowed_origins = list
                    .iter()
                    .map(|o| o.as_str().ok_or("must hold strings".to_string()).and_then(fields::origin))
                    .collect::<Result<_, _>>()
                    .map_err(bad)?;
            }
            _ => return Err(bad("is not a field of a site (name, domain, allowed_origins, time_zone, currency, default_deal_value, require_signed_calls, oci_conversion_name)".into())),
        }
    }
    Ok(())
}

/// `PATCH /api/sites/{id}`: owners.
pub async fn patch(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let site = access::site(&state, &who, &id, Need::OWN).await?;
    let m = object(&body)?;
    let mut changed = (*site).clone();
    apply_patch(&mut changed, &m)?;
    sites::save(&state.redis, &changed).await?;
    state.sites.upsert(changed.clone());
    let names: Vec<&String> = m.keys().collect();
    audit::record(
        &state,
        &who,
        "site_changed",
        &site.id,
        json!({ "fields": names }),
    )
    .await;
    Ok(ok(StatusCode::OK, json!({ "site": public_view(&changed) })))
}

/// `POST /api/sites/{id}/rotate-secret`: owners; the new secret is answered once, the previous one keeps
/// working for [`SECRET_GRACE_SECS`].
pub async fn rotate_secret(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let site = access::site(&state, &who, &id, Need::OWN).await?;
    // Read the stored record, not the edge's copy: the copy may be a few seconds old.
    let current = sites::get(&state.redis, &site.id)
        .await?
        .unwrap_or_else(|| (*site).clone());
    let rotated = sites::rotate_secret(&state.redis, &current, SECRET_GRACE_SECS).await?;
    state.sites.upsert(rotated.clone());
    audit::record(&state, &who, "secret_rotated", &site.id, json!({})).await;
    let until = chrono::DateTime::from_timestamp(rotated.previous_secret_until, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Ok(ok(
        StatusCode::OK,
        json!({ "secret": rotated.secret, "previous_secret_valid_until": until }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_known_fields_and_names_the_bad_one() {
        let mut site = Site::default();
        let m = |v: Value| v.as_object().unwrap().clone();
        apply_patch(
            &mut site,
            &m(json!({ "name": " Shop ", "allowed_origins": ["https://shop.example/"], "currency": "eur" })),
        )
        .unwrap();
        assert_eq!(
            (site.name.as_str(), site.currency.as_str()),
            ("Shop", "EUR")
        );
        assert_eq!(site.allowed_origins, vec!["https://shop.example"]);
        let e = apply_patch(&mut site, &m(json!({ "secret": "x" }))).unwrap_err();
        assert!(e.message.starts_with("`secret`"), "{}", e.message);
        let e = apply_patch(&mut site, &m(json!({ "default_deal_value": -5 }))).unwrap_err();
        assert!(e.message.starts_with("`default_deal_value`"));
        assert!(apply_patch(&mut site, &m(json!({ "time_zone": "Nowhere/City" }))).is_err());
    }
}
