//! Opaque paging cursors: the last item's UUID v7 in base64url. Clients pass back what a page
//! gave them; anything else is a `400`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cursor after the item with id `id`.
pub fn encode(id: uuid::Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// The id a cursor names, if it is one this API made.
pub fn decode(cursor: &str) -> Option<uuid::Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    uuid::Uuid::from_slice(&bytes).ok()
}
