//! The critic's fixed schema, and a tolerant reader for what models actually answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The critic's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The code is acceptable.
    Approve,
    /// The code needs another iteration.
    Revise,
    /// The answer could not be read even after one repair request.
    Unparsable,
}

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Wrong results or crashes.
    Critical,
    /// Likely wrong on some inputs.
    Major,
    /// Cosmetic.
    Minor,
}

/// What kind of issue it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Wrong results.
    Correctness,
    /// Unhandled input shapes.
    EdgeCase,
    /// Unsafe behaviour.
    Security,
    /// Too slow or too hungry.
    Performance,
    /// Readability.
    Style,
}

/// One problem the critic found, with its proposed fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CritiqueIssue {
    /// How bad.
    pub severity: Severity,
    /// What kind.
    pub category: Category,
    /// What is wrong.
    pub description: String,
    /// How to fix it.
    pub fix: Option<String>,
}

/// The critic's structured review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critique {
    /// Approve, revise, or unparsable.
    pub verdict: Verdict,
    /// One paragraph.
    pub summary: String,
    /// The issues found.
    pub issues: Vec<CritiqueIssue>,
    /// The model's raw answer, kept only when it could not be parsed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub raw: Option<String>,
}

impl Critique {
    /// The record of an answer that could not be read.
    pub fn unparsable(raw: String) -> Self {
        Self {
            verdict: Verdict::Unparsable,
            summary: "the critic's answer could not be parsed".to_owned(),
            issues: Vec::new(),
            raw: Some(raw),
        }
    }

    /// Reads a critique from a model's answer: a fenced JSON block or the first JSON object in
    /// the text, with case-insensitive enums and common synonyms. `None` if there is no object
    /// with a recognisable verdict.
    pub fn parse_answer(answer: &str) -> Option<Self> {
        let mut value = find_json_object(answer)?;
        // `\u0000` escapes decode to NUL: clean the decoded strings too.
        crate::text::clean_json(&mut value);
        let obj = value.as_object()?;
        let verdict = match obj
            .get("verdict")?
            .as_str()?
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "approve" | "approved" | "accept" | "accepted" | "pass" | "lgtm" => Verdict::Approve,
            "revise" | "reject" | "rejected" | "fail" | "needs_revision" | "request_changes" => {
                Verdict::Revise
            }
            _ => return None,
        };
        let summary = obj
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let issues = obj
            .get("issues")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(parse_issue).collect())
            .unwrap_or_default();
        Some(Self {
            verdict,
            summary,
            issues,
            raw: None,
        })
    }

    /// The JSON schema given to providers that support structured output.
    pub fn json_schema() -> Value {
        serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["verdict", "summary", "issues"],
            "properties": {
                "verdict": {"type": "string", "enum": ["approve", "revise"]},
                "summary": {"type": "string"},
                "issues": {"type": "array", "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["severity", "category", "description", "fix"],
                    "properties": {
                        "severity": {"type": "string", "enum": ["critical", "major", "minor"]},
                        "category": {"type": "string",
                            "enum": ["correctness", "edge_case", "security", "performance", "style"]},
                        "description": {"type": "string"},
                        "fix": {"type": "string"}
                    }
                }}
            }
        })
    }
}

fn parse_issue(v: &Value) -> Option<CritiqueIssue> {
    let obj = v.as_object()?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    let severity = match text("severity")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "critical" | "blocker" | "high" => Severity::Critical,
        "minor" | "low" | "nit" | "trivial" => Severity::Minor,
        _ => Severity::Major,
    };
    let category = match text("category")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .as_str()
    {
        "edge_case" | "edge_cases" | "edgecase" => Category::EdgeCase,
        "security" => Category::Security,
        "performance" => Category::Performance,
        "style" | "readability" => Category::Style,
        _ => Category::Correctness,
    };
    Some(CritiqueIssue {
        severity,
        category,
        description: text("description")?,
        fix: text("fix"),
    })
}

/// The first JSON object in `text`: inside a fenced block if there is one, else the first
/// balanced `{...}` that parses.
fn find_json_object(text: &str) -> Option<Value> {
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(text.trim()) {
        return Some(v);
    }
    for block in crate::extract::fenced_blocks(text) {
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(block.body.trim()) {
            return Some(v);
        }
    }
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = text[start..].find('{') {
        let open = start + offset;
        if let Some(end) = crate::jsonscan::balanced_object_len(&bytes[open..])
            && let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&text[open..open + end])
        {
            return Some(v);
        }
        start = open + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bare_fenced_and_embedded_objects() {
        let bare = r#"{"verdict":"approve","summary":"ok","issues":[]}"#;
        assert_eq!(
            Critique::parse_answer(bare).map(|c| c.verdict),
            Some(Verdict::Approve)
        );
        let fenced = "Here you go:\n```json\n{\"verdict\": \"Revise\", \"summary\": \"s\", \"issues\": [{\"severity\": \"HIGH\", \"category\": \"edge case\", \"description\": \"empty line\", \"fix\": \"skip it\"}]}\n```";
        let c = Critique::parse_answer(fenced).unwrap();
        assert_eq!(c.verdict, Verdict::Revise);
        assert_eq!(c.issues[0].severity, Severity::Critical);
        assert_eq!(c.issues[0].category, Category::EdgeCase);
        let embedded =
            "I think {not json} but then {\"verdict\": \"approve\", \"summary\": \"a } b\"} done";
        assert_eq!(Critique::parse_answer(embedded).unwrap().summary, "a } b");
    }

    #[test]
    fn rejects_answers_without_a_verdict() {
        assert!(Critique::parse_answer("looks fine to me").is_none());
        assert!(Critique::parse_answer(r#"{"verdict": "maybe"}"#).is_none());
        assert!(Critique::parse_answer("{{{{").is_none());
    }
}
