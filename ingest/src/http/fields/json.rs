//! Strict JSON: what `serde_json` accepts, minus what would silently change meaning on the way to storage —
//! a key given twice in one object (`{"s":"A","s":"B"}` would land in B), and numbers beyond ±2^53 (they
//! cannot be represented exactly in a double, nor by the JavaScript clients that read them back).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The largest integer a double holds exactly.
pub const MAX_EXACT: u64 = 1 << 53;

/// Parses `body` strictly; the error names what is wrong and where.
pub fn parse(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice::<Strict>(body)
        .map(|s| s.0)
        .map_err(|e| e.to_string())
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

fn too_big<E: de::Error>() -> E {
    E::custom(format!(
        "number beyond ±{MAX_EXACT} cannot be stored exactly; send it as a string"
    ))
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Strict, E> {
        if v.unsigned_abs() > MAX_EXACT {
            return Err(too_big());
        }
        Ok(Strict(Value::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Strict, E> {
        if v > MAX_EXACT {
            return Err(too_big());
        }
        Ok(Strict(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Strict, E> {
        if v.abs() > MAX_EXACT as f64 {
            return Err(too_big());
        }
        Number::from_f64(v)
            .map(|n| Strict(Value::Number(n)))
            .ok_or_else(|| E::custom("number must be finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Strict(Value::Array(out)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            out.insert(key, value);
        }
        Ok(Strict(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_what_json_means_and_refuses_what_storage_would_change() {
        let v =
            parse(br#"{"s":"A","n":[1,-2.5,null,true],"m":{"x":{"y":9007199254740992}}}"#).unwrap();
        assert_eq!(
            v,
            json!({"s":"A","n":[1,-2.5,null,true],"m":{"x":{"y":9007199254740992u64}}})
        );
        let dup = parse(br#"{"s":"A","s":"B"}"#).unwrap_err();
        assert!(dup.contains("duplicate key `s`"), "{dup}");
        assert!(parse(br#"{"m":{"a":1,"a":2}}"#)
            .unwrap_err()
            .contains("duplicate key `a`"));
        for big in [
            "9007199254740993",
            "-9007199254740993",
            "1e300",
            "123456789012345678901234",
        ] {
            let e = parse(format!(r#"{{"v":{big}}}"#).as_bytes()).unwrap_err();
            assert!(e.contains("send it as a string"), "{big}: {e}");
        }
        assert!(parse(b"{").is_err());
        assert_eq!(parse(b"[]").unwrap(), json!([]));
    }
}
