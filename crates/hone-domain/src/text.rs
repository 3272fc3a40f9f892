//! Text the service does not control — program output, model answers, provider error
//! bodies — made storable and showable the same way on every backend.
//!
//! Such text may hold bytes that are not UTF-8 and NUL characters. Postgres refuses NUL in
//! `TEXT` and `JSONB` (SQLite would store it), so the text is cleaned once, where it enters
//! the domain, before it is stored:
//!
//! - a byte sequence that is not UTF-8 becomes U+FFFD REPLACEMENT CHARACTER (`�`);
//! - a NUL (U+0000) becomes U+2400 SYMBOL FOR NULL (`␀`), so a reader still sees where the
//!   program printed one.
//!
//! Client input is never cleaned: a NUL in a job spec is refused with a `422` instead.

use std::borrow::Cow;

use serde_json::Value;

/// What a NUL character is shown as.
pub const NUL_SYMBOL: char = '\u{2400}';

/// `text` with every NUL replaced by [`NUL_SYMBOL`]; borrowed when there is none.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{2400}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// An owned string cleaned in place (no copy when it holds no NUL).
pub fn clean_owned(text: String) -> String {
    match clean(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cleaned) => cleaned,
    }
}

/// Bytes as text: invalid UTF-8 replaced by U+FFFD, NUL by [`NUL_SYMBOL`].
pub fn from_bytes(bytes: &[u8]) -> String {
    clean_owned(String::from_utf8_lossy(bytes).into_owned())
}

/// Cleans every string of a JSON value, object keys included.
pub fn clean_json(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{2400}"),
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(clean_owned(k), v);
                }
            }
            map.values_mut().for_each(clean_json);
        }
        _ => {}
    }
}

/// Whether client text holds a character the service refuses to store (NUL).
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// At most `max` characters of `text` on one line (control characters become spaces, the
/// ends trimmed), `…` where it was cut.
pub fn one_line(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim();
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_invalid_utf8_become_visible_symbols() {
        assert_eq!(from_bytes(b"a\0b\xffc"), "a\u{2400}b\u{fffd}c");
        assert!(matches!(clean("plain"), Cow::Borrowed("plain")));
        let mut v = serde_json::json!({"k\u{0}": ["x\u{0}", {"y": "\u{0}"}], "n": 1});
        clean_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"k\u{2400}": ["x\u{2400}", {"y": "\u{2400}"}], "n": 1})
        );
    }
}
