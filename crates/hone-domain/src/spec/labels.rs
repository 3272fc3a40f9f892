//! A spec's labels: `metadata` (free-form key/value pairs) and `tags` (short names), the
//! fields history queries filter by.

use std::collections::BTreeMap;

use serde_json::Value;

use super::bounds::{MAX_METADATA, MAX_TAG_BYTES, MAX_TAGS};
use super::reader::{FieldError, ObjectReader, check_text};

/// Whether `tag` is a well-formed tag: 1 to [`MAX_TAG_BYTES`] ASCII letters, digits and
/// `_ - . : /`.
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG_BYTES
        && tag
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':' | b'/'))
}

/// Whether `key` is a well-formed metadata key: 1 to 64 ASCII letters, digits and `_ - .`.
pub fn is_metadata_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// What [`is_tag`] wants, for error details.
pub const TAG_RULE: &str = "tags are 1 to 64 ASCII letters, digits, '_', '-', '.', ':' or '/'";

pub(super) fn parse_tags(r: &mut ObjectReader<'_>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    match r.raw("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_TAGS {
                errors.push(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
                return tags;
            }
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(t) if is_tag(t) => {
                        if !tags.contains(t) {
                            tags.push(t.clone());
                        }
                    }
                    _ => errors.push(FieldError::new(format!("tags[{i}]"), TAG_RULE)),
                }
            }
        }
        Some(_) => errors.push(FieldError::new("tags", "must be an array of strings")),
    }
    tags
}

pub(super) fn parse_metadata(
    r: &mut ObjectReader<'_>,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::new();
    let Some(mut m) = r.object("metadata", errors) else {
        return metadata;
    };
    let keys = m.keys();
    if keys.len() > MAX_METADATA {
        errors.push(FieldError::new(
            "metadata",
            format!("at most {MAX_METADATA} entries"),
        ));
    }
    for key in keys {
        let path = m.path(&key);
        let key_ok = is_metadata_key(&key);
        match m.raw_owned(&key) {
            Some(Value::String(v)) if key_ok && v.len() <= 512 => match check_text(v) {
                Ok(()) => {
                    metadata.insert(key, v.clone());
                }
                Err(why) => errors.push(FieldError::new(path, why)),
            },
            _ if !key_ok => errors.push(FieldError::new(
                path,
                "keys are 1 to 64 letters, digits, '_', '-' or '.'",
            )),
            _ => errors.push(FieldError::new(
                path,
                "must be a string of at most 512 bytes",
            )),
        }
    }
    metadata
}
