//! Scanning JSON text without parsing it: the brackets outside string literals, for bounding
//! a body's nesting before it is parsed and for finding an object inside a model's prose.

/// The `{`, `}`, `[` and `]` of `bytes` that are outside string literals, with their index.
pub fn structural(bytes: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_str, mut escaped) = (false, false);
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            return None;
        }
        match b {
            b'"' => {
                in_str = true;
                None
            }
            b'{' | b'}' | b'[' | b']' => Some((i, b)),
            _ => None,
        }
    })
}

/// The deepest nesting of arrays and objects in `bytes`.
pub fn max_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for (_, b) in structural(bytes) {
        if matches!(b, b'{' | b'[') {
            depth += 1;
            max = max.max(depth);
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    max
}

/// The length of the balanced `{...}` at the start of `bytes`.
pub fn balanced_object_len(bytes: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in structural(bytes) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert_eq!(max_depth(br#"{"a": "[[[{{", "b": [1, [2]]}"#), 3);
        assert_eq!(balanced_object_len(br#"{"a": "}\"}"} tail"#), Some(13));
        assert_eq!(balanced_object_len(b"{{}"), None);
    }
}
