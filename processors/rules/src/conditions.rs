//! The condition language of rules (seed 002, DESIGN §5): an object of field paths to tests.
//!
//! ```json
//! { "event_name": "purchase_completed", "metadata.amount": { "$gt": 500 }, "user_id": { "$exists": true } }
//! ```
//!
//! - Paths: `event_name`, `user_id`, `session_id`, `metadata.<key>[.<key>…]` (nested objects).
//! - Tests: `$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$in` (a list), `$exists` (true/false), `$contains` (a
//!   substring of a string, or an element of a list); a bare value means `$eq`. Several tests on one path must
//!   all hold; all paths must hold.
//! - Numbers and numeric strings compare as numbers (`"600"` is `$gt: 500`; `$eq: 5` matches `"5.0"`); other
//!   values compare as JSON. `$gt`/`$gte`/`$lt`/`$lte` need a number (or numeric string) in the rule; on a
//!   value that is not one, they do not hold.
//! - A missing path: `$exists: false` and `$ne` hold, every other test does not.
//!
//! A rule is compiled once ([`Conditions::compile`]), refusing what it cannot run with the path and the
//! reason; evaluating it allocates nothing.

use serde_json::{Map, Value};

/// Why a rule's conditions cannot be compiled: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conditions.{path}: {reason}")]
pub struct ConditionError {
    pub path: String,
    pub reason: String,
}

fn refuse(path: &str, reason: impl Into<String>) -> ConditionError {
    ConditionError {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Where a value is read from.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    EventName,
    UserId,
    SessionId,
    Metadata(Vec<String>),
}

/// One test.
#[derive(Debug, Clone, PartialEq)]
enum Test {
    Eq(Value),
    Ne(Value),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    In(Vec<Value>),
    Exists(bool),
    Contains(Value),
}

/// A compiled set of conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    tests: Vec<(Field, Test)>,
    /// The `event_name` a rule is limited to, when it names exactly one (its index key).
    event_name: Option<String>,
}

/// What a rule sees of an event (its metadata parsed once per event, whatever the number of rules).
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    pub event_name: &'a str,
    pub user_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub metadata: &'a Value,
}

/// Most tests a rule may hold, and the deepest metadata path.
const MAX_TESTS: usize = 50;
const MAX_DEPTH: usize = 8;

fn field(path: &str) -> Result<Field, ConditionError> {
    match path {
        "event_name" => Ok(Field::EventName),
        "user_id" => Ok(Field::UserId),
        "session_id" => Ok(Field::SessionId),
        _ => {
            let rest = path.strip_prefix("metadata.").ok_or_else(|| {
                refuse(
                    path,
                    "is not a field (event_name, user_id, session_id, metadata.<key>…)",
                )
            })?;
            let keys: Vec<String> = rest.split('.').map(String::from).collect();
            if keys.iter().any(String::is_empty) || keys.len() > MAX_DEPTH {
                return Err(refuse(
                    path,
                    format!("must be metadata.<key> with 1 to {MAX_DEPTH} non-empty keys"),
                ));
            }
            Ok(Field::Metadata(keys))
        }
    }
}

fn number(path: &str, op: &str, v: &Value) -> Result<f64, ConditionError> {
    as_number(v).ok_or_else(|| refuse(path, format!("{op} needs a number")))
}

fn test(path: &str, op: &str, v: &Value) -> Result<Test, ConditionError> {
    Ok(match op {
        "$eq" => Test::Eq(v.clone()),
        "$ne" => Test::Ne(v.clone()),
        "$gt" => Test::Gt(number(path, op, v)?),
        "$gte" => Test::Gte(number(path, op, v)?),
        "$lt" => Test::Lt(number(path, op, v)?),
        "$lte" => Test::Lte(number(path, op, v)?),
        "$in" => Test::In(
            v.as_array()
                .cloned()
                .ok_or_else(|| refuse(path, "$in needs a list"))?,
        ),
        "$exists" => Test::Exists(
            v.as_bool()
                .ok_or_else(|| refuse(path, "$exists needs true or false"))?,
        ),
        "$contains" => Test::Contains(v.clone()),
        _ => {
            return Err(refuse(
                path,
                format!(
                    "{op} is not an operator ($eq $ne $gt $gte $lt $lte $in $exists $contains)"
                ),
            ))
        }
    })
}

fn tests_of(path: &str, spec: &Value) -> Result<Vec<Test>, ConditionError> {
    match spec {
        Value::Object(ops) if ops.keys().any(|k| k.starts_with('$')) => {
            if ops.keys().any(|k| !k.starts_with('$')) {
                return Err(refuse(path, "mixes operators with plain keys"));
            }
            ops.iter().map(|(op, v)| test(path, op, v)).collect()
        }
        bare => Ok(vec![Test::Eq(bare.clone())]),
    }
}

impl Conditions {
    /// Compiles a rule's `conditions` object.
    pub fn compile(conditions: &Value) -> Result<Self, ConditionError> {
        let map: &Map<String, Value> = conditions
            .as_object()
            .ok_or_else(|| refuse("", "must be an object of field paths to tests"))?;
        let mut tests = Vec::new();
        for (path, spec) in map {
            let f = field(path)?;
            for t in tests_of(path, spec)? {
                tests.push((f.clone(), t));
            }
        }
        if tests.len() > MAX_TESTS {
            return Err(refuse("", format!("at most {MAX_TESTS} tests")));
        }
        let event_name = match map.get("event_name") {
            Some(Value::String(name)) => Some(name.clone()),
            _ => None,
        };
        Ok(Self { tests, event_name })
    }

    /// The one event name the rule is limited to, if it names one (rules are indexed by it).
    pub fn event_name(&self) -> Option<&str> {
        self.event_name.as_deref()
    }

    /// Whether `event` meets every test.
    pub fn matches(&self, event: &EventView<'_>) -> bool {
        self.tests.iter().all(|(f, t)| holds(t, lookup(f, event)))
    }
}

/// The value at `f`, borrowed from the event.
fn lookup<'a>(f: &Field, e: &EventView<'a>) -> Option<Found<'a>> {
    match f {
        Field::EventName => Some(Found::Str(e.event_name)),
        Field::UserId => e.user_id.map(Found::Str),
        Field::SessionId => e.session_id.map(Found::Str),
        Field::Metadata(keys) => {
            let mut at = e.metadata;
            for k in keys {
                at = at.as_object()?.get(k)?;
            }
            (!at.is_null()).then_some(Found::Json(at))
        }
    }
}

/// A value read from an event.
#[derive(Debug, Clone, Copy)]
enum Found<'a> {
    Str(&'a str),
    Json(&'a Value),
}

/// A number, or a string that is one.
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

impl Found<'_> {
    fn number(&self) -> Option<f64> {
        match self {
            Found::Str(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            Found::Json(v) => as_number(v),
        }
    }

    /// Equal to `want`: as numbers when both are numeric, else as JSON.
    fn equals(&self, want: &Value) -> bool {
        if let (Some(a), Some(b)) = (self.number(), as_number(want)) {
            return a == b;
        }
        match (self, want) {
            (Found::Str(s), Value::String(w)) => s == w,
            (Found::Str(_), _) => false,
            (Found::Json(v), w) => *v == w,
        }
    }

    fn contains(&self, want: &Value) -> bool {
        match (self, want) {
            (Found::Str(s), Value::String(w)) => s.contains(w.as_str()),
            (Found::Json(Value::String(s)), Value::String(w)) => s.contains(w.as_str()),
            (Found::Json(Value::Array(items)), w) => items.iter().any(|i| Found::Json(i).equals(w)),
            _ => false,
        }
    }
}

fn holds(t: &Test, found: Option<Found<'_>>) -> bool {
    let Some(v) = found else {
        return matches!(t, Test::Ne(_) | Test::Exists(false));
    };
    let cmp = |f: fn(f64, f64) -> bool, bound: f64| v.number().is_some_and(|n| f(n, bound));
    match t {
        Test::Eq(w) => v.equals(w),
        Test::Ne(w) => !v.equals(w),
        Test::Gt(b) => cmp(|n, b| n > b, *b),
        Test::Gte(b) => cmp(|n, b| n >= b, *b),
        Test::Lt(b) => cmp(|n, b| n < b, *b),
        Test::Lte(b) => cmp(|n, b| n <= b, *b),
        Test::In(list) => list.iter().any(|w| v.equals(w)),
        Test::Exists(want) => *want,
        Test::Contains(w) => v.contains(w),
    }
}

#[cfg(test)]
#[path = "conditions_tests.rs"]
mod tests;
