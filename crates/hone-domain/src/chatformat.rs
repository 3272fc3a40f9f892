//! A checker of the chat fine-tuning format (one JSON object a line, `{"messages": [...]}`),
//! the rules OpenAI's fine-tuning API and the tools that follow it apply to each line:
//! known keys only, known roles, string content, `weight` (0 or 1) on assistant turns only,
//! a system turn only first, then user and assistant turns alternating from a user turn to
//! an assistant turn that training learns from. hone's tests and benchmarks check every
//! exported trajectory with it.

use serde_json::Value;

const RECORD_KEYS: [&str; 4] = ["messages", "tools", "parallel_tool_calls", "functions"];
const MESSAGE_KEYS: [&str; 7] = [
    "role",
    "content",
    "name",
    "weight",
    "function_call",
    "tool_calls",
    "tool_call_id",
];

/// Checks one record; the error says which rule it breaks and where.
pub fn check_record(record: &Value) -> Result<(), String> {
    let Value::Object(fields) = record else {
        return Err("a record is a JSON object".into());
    };
    if let Some(key) = fields.keys().find(|k| !RECORD_KEYS.contains(&k.as_str())) {
        return Err(format!("unrecognised key {key:?}"));
    }
    let Some(Value::Array(messages)) = fields.get("messages") else {
        return Err("\"messages\" is missing or not a list".into());
    };
    let mut roles = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        roles.push(check_message(m).map_err(|e| format!("message {i}: {e}"))?);
    }
    let turns = match roles.first() {
        Some(&"system") => &roles[1..],
        _ => &roles[..],
    };
    if turns.is_empty() {
        return Err("no user or assistant messages".into());
    }
    for (i, role) in turns.iter().enumerate() {
        let want = if i % 2 == 0 { "user" } else { "assistant" };
        if *role != want {
            return Err(format!(
                "turn {i} is {role:?}: after the system message, user and assistant alternate, \
                 starting with user"
            ));
        }
    }
    if turns.last() != Some(&"assistant") {
        return Err("the last message is not the assistant's".into());
    }
    let trained = messages
        .iter()
        .any(|m| m["role"] == "assistant" && m.get("weight").is_none_or(|w| w == 1));
    if !trained {
        return Err("every assistant message has weight 0: nothing to learn".into());
    }
    Ok(())
}

/// Checks one message and returns its role.
fn check_message(message: &Value) -> Result<&str, String> {
    let Value::Object(fields) = message else {
        return Err("a message is a JSON object".into());
    };
    if let Some(key) = fields.keys().find(|k| !MESSAGE_KEYS.contains(&k.as_str())) {
        return Err(format!("unrecognised key {key:?}"));
    }
    let role = match fields.get("role").and_then(Value::as_str) {
        Some(r @ ("system" | "user" | "assistant")) => r,
        Some(other) => return Err(format!("role {other:?} is not system, user or assistant")),
        None => return Err("no role".into()),
    };
    match fields.get("content") {
        Some(Value::String(text)) if !text.is_empty() => {}
        _ => return Err("content is missing, empty or not a string".into()),
    }
    if let Some(w) = fields.get("weight") {
        if role != "assistant" {
            return Err("only assistant messages have a weight".into());
        }
        if !(w == 0 || w == 1) {
            return Err("weight is 0 or 1".into());
        }
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn good_records_pass_and_each_rule_is_enforced() {
        let good = json!({"messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": "a", "weight": 0},
            {"role": "user", "content": "f"},
            {"role": "assistant", "content": "b", "weight": 1},
        ]});
        assert_eq!(check_record(&good), Ok(()));
        let bad = [
            json!({"messages": [], "id": 1}),
            json!({"messages": []}),
            json!({"messages": [{"role": "user", "content": "u"}]}),
            json!({"messages": [{"role": "assistant", "content": "a"}]}),
            json!({"messages": [{"role": "user", "content": "u"}, {"role": "bot", "content": "a"}]}),
            json!({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]}),
            json!({"messages": [{"role": "user", "content": "u", "weight": 1}, {"role": "assistant", "content": "a"}]}),
            json!({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "weight": 2}]}),
            json!({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "weight": 0}]}),
            json!({"messages": [{"role": "user", "content": "u"}, {"role": "user", "content": "v"}, {"role": "assistant", "content": "a"}]}),
            json!({"messages": [{"role": "user", "content": "u", "extra": 1}, {"role": "assistant", "content": "a"}]}),
        ];
        for record in bad {
            assert!(check_record(&record).is_err(), "{record}");
        }
    }
}
