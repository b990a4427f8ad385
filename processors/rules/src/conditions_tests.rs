//! The condition language: examples of each rule, then properties over generated values.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn event(metadata: &Value) -> EventView<'_> {
    EventView {
        event_name: "purchase_completed",
        user_id: Some("u1"),
        session_id: None,
        metadata,
    }
}

fn obj(key: String, v: Value) -> Value {
    Value::Object([(key, v)].into_iter().collect())
}

fn check(conditions: Value, metadata: Value) -> bool {
    Conditions::compile(&conditions)
        .unwrap()
        .matches(&event(&metadata))
}

#[test]
fn the_seed_rule_matches_purchases_above_500() {
    let rule = json!({ "event_name": "purchase_completed", "metadata.amount": { "$gt": 500 } });
    assert!(check(rule.clone(), json!({ "amount": 501 })));
    assert!(
        check(rule.clone(), json!({ "amount": "600" })),
        "a numeric string is a number"
    );
    assert!(!check(rule.clone(), json!({ "amount": 500 })));
    assert!(!check(rule.clone(), json!({ "amount": "lots" })));
    assert!(!check(rule.clone(), json!({})), "missing");
    let other = Conditions::compile(&rule).unwrap();
    let big = json!({ "amount": 900 });
    let signup = EventView {
        event_name: "signed_up",
        ..event(&big)
    };
    assert!(!other.matches(&signup));
    assert_eq!(other.event_name(), Some("purchase_completed"));
}

#[test]
fn every_operator_on_present_nested_and_missing_paths() {
    let m = json!({ "cart": { "items": ["a", "b"], "coupon": "SPRING-10", "total": 42.5 }, "vip": true });
    let cases = [
        (
            json!({ "metadata.cart.total": { "$gte": 42.5, "$lt": 50 } }),
            true,
        ),
        (json!({ "metadata.cart.total": { "$lte": 42 } }), false),
        (json!({ "metadata.cart.items": { "$contains": "b" } }), true),
        (
            json!({ "metadata.cart.coupon": { "$contains": "SPRING" } }),
            true,
        ),
        (
            json!({ "metadata.cart.coupon": { "$in": ["SPRING-10", "X"] } }),
            true,
        ),
        (json!({ "metadata.vip": true }), true),
        (json!({ "metadata.vip": { "$ne": true } }), false),
        (
            json!({ "metadata.cart.missing": { "$exists": false } }),
            true,
        ),
        (json!({ "metadata.cart.missing": { "$ne": 1 } }), true),
        (json!({ "metadata.cart.missing": { "$eq": 1 } }), false),
        (
            json!({ "metadata.cart.total.deeper": { "$exists": true } }),
            false,
        ),
        (
            json!({ "user_id": { "$exists": true }, "session_id": { "$exists": false } }),
            true,
        ),
        (json!({ "user_id": { "$in": ["u1", "u2"] } }), true),
        (
            json!({ "metadata.cart": { "coupon": "SPRING-10", "items": ["a", "b"], "total": 42.5 } }),
            true,
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(check(rule.clone(), m.clone()), expected, "{rule}");
    }
}

#[test]
fn what_cannot_run_is_refused_with_its_path_and_reason() {
    let refused = |c: Value| Conditions::compile(&c).unwrap_err();
    assert_eq!(
        refused(json!({ "metadata.amount": { "$gt": "many" } })).path,
        "metadata.amount"
    );
    assert!(refused(json!({ "metadata.amount": { "$regex": "x" } }))
        .reason
        .contains("not an operator"));
    assert!(refused(json!({ "amount": 1 }))
        .reason
        .contains("not a field"));
    assert!(refused(json!({ "metadata..x": 1 }))
        .reason
        .contains("non-empty keys"));
    assert!(refused(json!({ "metadata.x": { "$in": 3 } }))
        .reason
        .contains("list"));
    assert!(refused(json!({ "metadata.x": { "$exists": "yes" } }))
        .reason
        .contains("true or false"));
    assert!(refused(json!({ "metadata.x": { "$gt": 1, "plain": 2 } }))
        .reason
        .contains("mixes"));
    assert!(refused(json!(["event_name"])).reason.contains("object"));
}

/// JSON values of the kinds events carry.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z0-9.]{0,6}".prop_map(Value::from),
        any::<i32>().prop_map(|n| Value::from(n.to_string())),
    ]
}

proptest! {
    /// `$gt` and `$lte` on one bound split every numeric value exactly in two; a value that is not a number
    /// is in neither.
    #[test]
    fn gt_and_lte_partition_the_numbers(v in value(), bound in -1000i32..1000) {
        let m = json!({ "x": v });
        let gt = check(json!({ "metadata.x": { "$gt": bound } }), m.clone());
        let lte = check(json!({ "metadata.x": { "$lte": bound } }), m.clone());
        let numeric = as_number(&v).is_some();
        prop_assert_eq!(gt || lte, numeric);
        prop_assert!(!(gt && lte));
    }

    /// `$eq` and `$ne` are opposites, present or missing.
    #[test]
    fn eq_and_ne_are_opposites(v in value(), w in value(), present in any::<bool>()) {
        let m = if present { json!({ "x": v }) } else { json!({}) };
        let eq = check(json!({ "metadata.x": { "$eq": w.clone() } }), m.clone());
        let ne = check(json!({ "metadata.x": { "$ne": w } }), m);
        prop_assert_ne!(eq, ne);
    }

    /// A number and its string spelling are the same to every test.
    #[test]
    fn numbers_and_numeric_strings_are_alike(n in -1_000_000i64..1_000_000, bound in -1000i64..1000) {
        for rule in [json!({ "$gt": bound }), json!({ "$eq": n }), json!({ "$in": [bound, n] })] {
            let as_number = check(json!({ "metadata.x": rule.clone() }), json!({ "x": n }));
            let as_string = check(json!({ "metadata.x": rule }), json!({ "x": n.to_string() }));
            prop_assert_eq!(as_number, as_string);
        }
    }

    /// A path nested at any depth is found, and one key more is missing.
    #[test]
    fn nested_paths_at_any_depth(keys in proptest::collection::vec("[a-z]{1,5}", 1..8), v in any::<i32>()) {
        let mut m = json!(v);
        for k in keys.iter().rev() {
            m = obj(k.clone(), m);
        }
        let path = format!("metadata.{}", keys.join("."));
        let deeper = obj(format!("{path}.more"), json!({ "$exists": false }));
        prop_assert!(check(obj(path, json!(v)), m.clone()));
        prop_assert!(check(deeper, m));
    }
}
