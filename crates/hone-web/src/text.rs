//! How the dashboard writes ids, times, durations and long text: short, readable, the same
//! on every page.

use hone_domain::Timestamp;

/// The last eight hex digits of a UUID, `…1836ff68`: the random part of a UUID v7.
pub fn short_id(id: &str) -> String {
    let hex: Vec<char> = id.chars().filter(char::is_ascii_hexdigit).collect();
    let tail: String = hex[hex.len().saturating_sub(8)..].iter().collect();
    format!("…{tail}")
}

/// A time as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn when(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    s.get(..19).unwrap_or(&s).replace('T', " ")
}

/// Milliseconds as `850 ms`, `12.3 s` or `4 min 05 s`.
pub fn millis(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}
