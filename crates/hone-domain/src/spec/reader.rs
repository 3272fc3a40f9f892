//! A small reader over a JSON object that collects every field error instead of stopping at
//! the first, and notices fields nobody asked for.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

/// One bad field: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path, e.g. `limits.timeout_ms` or `test_cases[2].stdin`.
    pub field: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl FieldError {
    /// A new error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a client string cannot be stored, if it cannot: NUL characters are refused (Postgres
/// cannot store them, and no spec field has a use for them).
pub(crate) fn check_text(s: &str) -> Result<(), &'static str> {
    if crate::text::has_nul(s) {
        Err("must not contain NUL characters (U+0000)")
    } else {
        Ok(())
    }
}

/// A JSON number as an integer when it is one: `5` and `5.0` alike (JSON Schema counts both
/// as integers), but not `5.5`.
pub fn as_integer(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// Reads the fields of one object, under a path prefix.
pub(crate) struct ObjectReader<'a> {
    prefix: String,
    map: &'a Map<String, Value>,
    seen: BTreeSet<&'static str>,
}

impl<'a> ObjectReader<'a> {
    pub(crate) fn new(prefix: impl Into<String>, map: &'a Map<String, Value>) -> Self {
        Self {
            prefix: prefix.into(),
            map,
            seen: BTreeSet::new(),
        }
    }

    pub(crate) fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// The raw value; `None` if absent. JSON `null` is returned as `Some(Value::Null)`.
    pub(crate) fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.insert(key);
        self.map.get(key)
    }

    /// An optional string (absent or null gives `None`) with a byte limit.
    pub(crate) fn string(
        &mut self,
        key: &'static str,
        max_bytes: usize,
        errors: &mut Vec<FieldError>,
    ) -> Option<String> {
        match self.raw(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() > max_bytes => {
                errors.push(FieldError::new(
                    self.path(key),
                    format!("must be at most {max_bytes} bytes (got {})", s.len()),
                ));
                None
            }
            Some(Value::String(s)) => match check_text(s) {
                Ok(()) => Some(s.clone()),
                Err(why) => {
                    errors.push(FieldError::new(self.path(key), why));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(self.path(key), "must be a string"));
                None
            }
        }
    }

    /// An optional boolean (absent or null gives `None`).
    pub(crate) fn boolean(
        &mut self,
        key: &'static str,
        errors: &mut Vec<FieldError>,
    ) -> Option<bool> {
        match self.raw(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                errors.push(FieldError::new(self.path(key), "must be true or false"));
                None
            }
        }
    }

    /// An optional integer within `min..=max`.
    pub(crate) fn int(
        &mut self,
        key: &'static str,
        (min, max): (i64, i64),
        errors: &mut Vec<FieldError>,
    ) -> Option<i64> {
        match self.raw(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match as_integer(n) {
                Some(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    errors.push(FieldError::new(
                        self.path(key),
                        format!("must be an integer from {min} to {max}"),
                    ));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(
                    self.path(key),
                    format!("must be an integer from {min} to {max}"),
                ));
                None
            }
        }
    }

    /// An optional number within `min..=max`.
    pub(crate) fn float(
        &mut self,
        key: &'static str,
        (min, max): (f64, f64),
        errors: &mut Vec<FieldError>,
    ) -> Option<f64> {
        match self.raw(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v >= min && v <= max => Some(v),
                _ => {
                    errors.push(FieldError::new(
                        self.path(key),
                        format!("must be a number from {min} to {max}"),
                    ));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(
                    self.path(key),
                    format!("must be a number from {min} to {max}"),
                ));
                None
            }
        }
    }

    /// An optional nested object; a non-object is an error.
    pub(crate) fn object(
        &mut self,
        key: &'static str,
        errors: &mut Vec<FieldError>,
    ) -> Option<ObjectReader<'a>> {
        match self.raw(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(ObjectReader::new(self.path(key), m)),
            Some(_) => {
                errors.push(FieldError::new(self.path(key), "must be an object"));
                None
            }
        }
    }

    /// Reports every key that was never read as an unknown field, naming the known field
    /// it is closest to when one is close (`tets` → `tests`).
    pub(crate) fn finish(self, errors: &mut Vec<FieldError>) {
        for key in self.map.keys() {
            if !self.seen.contains(key.as_str()) {
                let message = match self.closest(key) {
                    Some(known) => format!("unknown field; did you mean {known:?}?"),
                    None => "unknown field".to_owned(),
                };
                errors.push(FieldError::new(self.path(key), message));
            }
        }
    }

    /// The known field `key` most likely misspells: at most two edits away (one for short
    /// names), the same but for case, `-` for `_` or a plural `s`, or the known name without
    /// its unit (`timeout` for `timeout_ms`).
    fn closest(&self, key: &str) -> Option<&'static str> {
        let plain = |s: &str| s.to_ascii_lowercase().replace('-', "_");
        self.seen
            .iter()
            .map(|known| {
                let same = plain(key) == plain(known)
                    || plain(key).trim_end_matches('s') == plain(known).trim_end_matches('s')
                    || (key.len() >= 4 && plain(known).starts_with(&format!("{}_", plain(key))));
                let distance = if same {
                    0
                } else {
                    strsim::damerau_levenshtein(key, known)
                };
                (distance, *known)
            })
            .filter(|(d, known)| *d <= if known.len() <= 4 { 1 } else { 2 })
            .min()
            .map(|(_, known)| known)
    }
}

impl<'a> ObjectReader<'a> {
    /// Every key of the object (for maps with free-form keys).
    pub(crate) fn keys(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    /// The value of a free-form key (maps do not report unknown fields).
    pub(crate) fn raw_owned(&mut self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }
}
