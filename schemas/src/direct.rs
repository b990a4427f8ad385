//! Reads an Avro body straight into a record, field by field, guided by the schema it was written with: no
//! intermediate `Value` tree, strings copied once into the record. This is the decoder of every record
//! written with the schema it is read as (the current one — nearly every record); older writers go through
//! schema resolution in `codec`. `codec_tests` hold it equal to the value-based decoder for every record type.
//!
//! Supports what the project's schemas use: records, null, boolean, int, long, float, double, string, bytes,
//! arrays and unions. Bad input is an error, never a panic or an allocation sized by the input.

use apache_avro::schema::{RecordSchema, UnionSchema};
use apache_avro::Schema;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

fn err<T>(msg: &str) -> Result<T, Error> {
    Err(Error(msg.to_string()))
}

/// Reads a `T` from the front of `body`, written with `schema`; the bytes after it are left in `body`.
pub fn read<'a, T: de::Deserialize<'a>>(schema: &Schema, body: &mut &'a [u8]) -> Result<T, Error> {
    T::deserialize(Reader {
        schema,
        input: body,
    })
}

/// The body still to read.
type Input<'r, 'a> = &'r mut &'a [u8];

fn take<'a>(input: Input<'_, 'a>, n: usize) -> Result<&'a [u8], Error> {
    if input.len() < n {
        return err("body ends inside a value");
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

/// A zig-zag varint (Avro `int` and `long`).
fn long(input: Input<'_, '_>) -> Result<i64, Error> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = take(input, 1)?[0];
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
        }
    }
    err("varint longer than 10 bytes")
}

fn length(input: Input<'_, '_>) -> Result<usize, Error> {
    usize::try_from(long(input)?).or_else(|_| err("negative length"))
}

fn bytes<'a>(input: Input<'_, 'a>) -> Result<&'a [u8], Error> {
    let n = length(input)?;
    take(input, n)
}

struct Reader<'s, 'r, 'a> {
    schema: &'s Schema,
    input: Input<'r, 'a>,
}

impl<'s, 'r, 'a> Reader<'s, 'r, 'a> {
    /// The branch a union value was written as.
    fn branch(&mut self, union: &'s UnionSchema) -> Result<&'s Schema, Error> {
        let index = usize::try_from(long(self.input)?).or_else(|_| err("negative union index"))?;
        match union.variants().get(index) {
            Some(s) => Ok(s),
            None => err("union index out of range"),
        }
    }
}

impl<'de, 's, 'r> de::Deserializer<'de> for Reader<'s, 'r, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        match self.schema {
            Schema::Null => visitor.visit_unit(),
            Schema::Boolean => match take(self.input, 1)?[0] {
                0 => visitor.visit_bool(false),
                1 => visitor.visit_bool(true),
                _ => err("boolean byte is neither 0 nor 1"),
            },
            Schema::Int => {
                let v = long(self.input)?;
                visitor.visit_i32(i32::try_from(v).or_else(|_| err("int out of range"))?)
            }
            Schema::Long => visitor.visit_i64(long(self.input)?),
            Schema::Float => {
                let b = take(self.input, 4)?;
                visitor.visit_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            Schema::Double => {
                let mut b = [0u8; 8];
                b.copy_from_slice(take(self.input, 8)?);
                visitor.visit_f64(f64::from_le_bytes(b))
            }
            Schema::String => match std::str::from_utf8(bytes(self.input)?) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => err("string is not UTF-8"),
            },
            Schema::Bytes => visitor.visit_borrowed_bytes(bytes(self.input)?),
            Schema::Union(u) => {
                let schema = self.branch(u)?;
                Reader { schema, ..self }.deserialize_any(visitor)
            }
            Schema::Array(a) => visitor.visit_seq(Items {
                schema: &a.items,
                input: self.input,
                left_in_block: 0,
                done: false,
            }),
            Schema::Record(r) => visitor.visit_map(Fields {
                record: r,
                input: self.input,
                next: 0,
            }),
            other => err(&format!("schema type {other:?} is not read directly")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Error> {
        match self.schema {
            Schema::Union(u) => match self.branch(u)? {
                Schema::Null => visitor.visit_none(),
                schema => visitor.visit_some(Reader { schema, ..self }),
            },
            Schema::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// The fields of a record, in the writer's order, by name.
struct Fields<'s, 'r, 'a> {
    record: &'s RecordSchema,
    input: Input<'r, 'a>,
    next: usize,
}

impl<'de, 's, 'r> MapAccess<'de> for Fields<'s, 'r, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.record.fields.get(self.next) {
            Some(f) => seed
                .deserialize(f.name.as_str().into_deserializer())
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some(field) = self.record.fields.get(self.next) else {
            return err("value asked for after the last field");
        };
        self.next += 1;
        seed.deserialize(Reader {
            schema: &field.schema,
            input: &mut *self.input,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.record.fields.len() - self.next)
    }
}

/// The items of an array: blocks of `count` items (a negative count is followed by the block's byte size),
/// ended by a zero count.
struct Items<'s, 'r, 'a> {
    schema: &'s Schema,
    input: Input<'r, 'a>,
    left_in_block: u64,
    done: bool,
}

impl<'de, 's, 'r> SeqAccess<'de> for Items<'s, 'r, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        while self.left_in_block == 0 {
            if self.done {
                return Ok(None);
            }
            let count = long(self.input)?;
            if count == 0 {
                self.done = true;
                return Ok(None);
            }
            if count < 0 {
                length(self.input)?; // the block's size in bytes: not needed to read it
            }
            // Every item of the project's arrays takes at least a byte: a count beyond the bytes left is a lie.
            if count.unsigned_abs() > self.input.len() as u64 {
                return err("array block claims more items than bytes remain");
            }
            self.left_in_block = count.unsigned_abs();
        }
        self.left_in_block -= 1;
        seed.deserialize(Reader {
            schema: self.schema,
            input: &mut *self.input,
        })
        .map(Some)
    }
}

impl<'s, 'r, 'a> std::fmt::Debug for Reader<'s, 'r, 'a> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("left", &self.input.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Tags {
        tags: Vec<String>,
        n: Option<i64>,
    }

    fn schema() -> Schema {
        Schema::parse_str(
            r#"{"type":"record","name":"Tags","fields":[
                {"name":"tags","type":{"type":"array","items":"string"}},
                {"name":"n","type":["null","long"]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn reads_array_blocks_and_unions() {
        // Two blocks ("a"; then -1 with its byte size, "bc"), the end, then union branch 1 with -2.
        let body = [2, 2, b'a', 1, 6, 4, b'b', b'c', 0, 2, 3];
        let mut input = &body[..];
        let tags: Tags = read(&schema(), &mut input).unwrap();
        assert_eq!(
            tags,
            Tags {
                tags: vec!["a".into(), "bc".into()],
                n: Some(-2)
            }
        );
        assert!(input.is_empty());
    }

    #[test]
    fn lies_about_sizes_are_errors_not_allocations() {
        // An array block of 2^62 items, a string of 2^62 bytes, an 11-byte varint, a union branch 7.
        let huge = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        let mut long_string = vec![2];
        long_string.extend_from_slice(&huge);
        for body in [&huge[..], &long_string[..], &[0xff; 11][..], &[0, 14][..]] {
            assert!(read::<Tags>(&schema(), &mut &body[..]).is_err(), "{body:?}");
        }
    }
}
