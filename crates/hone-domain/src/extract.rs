//! Reading code out of a model's answer: the first fenced block in the job's language, else
//! the first fenced block, else the whole answer.

use crate::spec::Language;

/// A fenced block of a Markdown answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencedBlock<'a> {
    /// The info string after the opening fence, lower-cased first word (`python`), may be empty.
    pub tag: String,
    /// The text between the fences.
    pub body: &'a str,
}

/// Every fenced block (``` or ~~~, three or more) in order. An unclosed final fence runs to
/// the end of the text, as models that hit their token limit leave it.
pub fn fenced_blocks(text: &str) -> Vec<FencedBlock<'_>> {
    let mut blocks = Vec::new();
    let mut offset = 0;
    let mut open: Option<(String, String, usize)> = None; // (fence, tag, body start)
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let fence_len = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .count();
        let is_fence = fence_len >= 3
            && trimmed[..fence_len]
                .chars()
                .all(|c| c == trimmed.as_bytes()[0] as char);
        match &open {
            None if is_fence => {
                let fence = trimmed[..fence_len].to_owned();
                let tag = trimmed[fence_len..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('{')
                    .trim_start_matches('.')
                    .to_ascii_lowercase();
                open = Some((fence, tag, offset + line.len()));
            }
            Some((fence, _, _))
                if is_fence
                    && trimmed.trim_end().len() >= fence.len()
                    && trimmed.trim_end().chars().all(|c| fence.starts_with(c)) =>
            {
                if let Some((_, tag, start)) = open.take() {
                    blocks.push(FencedBlock {
                        tag,
                        body: &text[start..offset],
                    });
                }
            }
            _ => {}
        }
        offset += line.len();
    }
    if let Some((_, tag, start)) = open {
        blocks.push(FencedBlock {
            tag,
            body: &text[start.min(text.len())..],
        });
    }
    blocks
}

/// The code in a model's answer for `language`.
pub fn extract_code(answer: &str, language: Language) -> String {
    let blocks = fenced_blocks(answer);
    let chosen = blocks
        .iter()
        .find(|b| language.fence_tags().contains(&b.tag.as_str()))
        .or_else(|| blocks.first());
    let code = match chosen {
        Some(b) => b.body,
        None => answer,
    };
    let mut code = code.trim_matches('\n').trim_end().to_owned();
    code.push('\n');
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_the_block_in_the_jobs_language() {
        let answer =
            "Run:\n```bash\npip install x\n```\nCode:\n```python\ndef f():\n    return 1\n```\n";
        assert_eq!(
            extract_code(answer, Language::Python),
            "def f():\n    return 1\n"
        );
    }

    #[test]
    fn falls_back_to_first_block_then_whole_answer() {
        assert_eq!(extract_code("```\nx = 1\n```", Language::Python), "x = 1\n");
        assert_eq!(extract_code("x = 2", Language::Python), "x = 2\n");
    }

    #[test]
    fn unclosed_fence_runs_to_the_end() {
        assert_eq!(extract_code("```py\nx = 3\n", Language::Python), "x = 3\n");
    }

    #[test]
    fn longer_fences_contain_shorter_ones() {
        let answer = "````markdown\n```python\nno\n```\n````\n";
        assert_eq!(fenced_blocks(answer).len(), 1);
        assert_eq!(fenced_blocks(answer)[0].body, "```python\nno\n```\n");
    }
}
