//! Paging: the `limit` and opaque `cursor` query parameters every list takes. A cursor is the
//! last item's UUID v7 in base64url; clients pass back what a page gave them, and anything
//! else is a `400`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hone_domain::FieldError;

/// The cursor after the item with id `id`.
pub fn encode(id: uuid::Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// The id a cursor names, if it is one this API made.
pub fn decode(cursor: &str) -> Option<uuid::Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    uuid::Uuid::from_slice(&bytes).ok()
}

/// The default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 500;

/// A list's `limit` and `cursor`.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// At most this many items.
    pub limit: u32,
    /// Only items older than this one.
    pub before: Option<uuid::Uuid>,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            before: None,
        }
    }
}

impl Paging {
    /// Reads query parameter `key` if it is `limit` or `cursor` (pushing what is wrong with
    /// it to `errors`); `false` for any other parameter.
    pub fn read(&mut self, key: &str, value: &str, errors: &mut Vec<FieldError>) -> bool {
        match key {
            "limit" => match value.parse() {
                Ok(l) if (1..=MAX_LIMIT).contains(&l) => self.limit = l,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("must be 1 to {MAX_LIMIT}"),
                )),
            },
            "cursor" => match decode(value) {
                Some(id) => self.before = Some(id),
                None => errors.push(FieldError::new(
                    "cursor",
                    "is not a cursor this API returned",
                )),
            },
            _ => return false,
        }
        true
    }
}
