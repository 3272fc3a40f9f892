//! The line diff of one attempt's code against the previous attempt's (`similar`'s Myers
//! diff), as rows the job page colours.

use similar::{ChangeTag, TextDiff};

/// One line of a diff.
pub struct DiffLine {
    /// `add`, `del` or `same`: the row's class.
    pub class: &'static str,
    /// `+`, `-` or a space.
    pub sign: char,
    /// The line, without its newline.
    pub text: String,
}

/// The diff from `before` to `after`, line by line (unchanged lines included).
pub fn lines(before: &str, after: &str) -> Vec<DiffLine> {
    TextDiff::from_lines(before, after)
        .iter_all_changes()
        .map(|change| {
            let (class, sign) = match change.tag() {
                ChangeTag::Insert => ("add", '+'),
                ChangeTag::Delete => ("del", '-'),
                ChangeTag::Equal => ("same", ' '),
            };
            DiffLine {
                class,
                sign,
                text: change.value().trim_end_matches('\n').to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::lines;

    #[test]
    fn a_changed_line_is_a_deletion_and_an_insertion() {
        let d = lines("a\nb\nc\n", "a\nB\nc\n");
        let shown: Vec<String> = d.iter().map(|l| format!("{}{}", l.sign, l.text)).collect();
        assert_eq!(shown, [" a", "-b", "+B", " c"]);
        assert_eq!(d[1].class, "del");
        assert_eq!(d[2].class, "add");
    }
}
