//! What a provider's error text must not carry into a job's outcome: the operator's provider
//! keys, and anything shaped like a credential (`Bearer …`, `sk-…`, `sk-ant-…`, `hone_…`,
//! `x-api-key: …`). Provider errors sometimes echo the request's headers; the outcome is
//! stored, shown on the dashboard and exported, so the text is scrubbed before it leaves the
//! engine.

use std::sync::LazyLock;

use regex::Regex;

/// What a removed secret becomes.
pub const REDACTED: &str = "[REDACTED]";

/// Credential shapes, whatever their value: bearer tokens, OpenAI- and Anthropic-style
/// keys, hone keys, and API-key headers.
static TOKENS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(bearer\s+[A-Za-z0-9._~+/=-]{8,}|\bsk-[A-Za-z0-9_-]{8,}|\bhone_[A-Za-z0-9_-]{8,}|(x-api-key|api[_-]?key)[\x22']?\s*[:=]\s*[\x22']?[A-Za-z0-9._~+/=-]{8,})",
    )
    .ok()
});

/// Secrets to remove from provider error text.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    /// Removes `secret` wherever it appears (ignored when shorter than 8 characters: too
    /// short to be a key, and would mangle ordinary words).
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.len() >= 8 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
        }
    }

    /// `text` without any configured secret or credential-shaped token.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        match TOKENS.as_ref() {
            Some(re) => re.replace_all(&out, REDACTED).into_owned(),
            None => out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_keys_and_credential_shapes_are_removed() {
        let mut s = Scrubber::default();
        s.add("my-own-gateway-secret-123");
        s.add("short");
        let text = "401: key my-own-gateway-secret-123 invalid; sent Authorization: Bearer \
                    abcdefghijkl and sk-proj-ABCDEFGH1234 and x-api-key: sk-ant-api03-XYZXYZXYZ; \
                    short words stay";
        let clean = s.scrub(text);
        assert!(!clean.contains("my-own-gateway"), "{clean}");
        assert!(!clean.contains("abcdefghijkl"), "{clean}");
        assert!(!clean.contains("ABCDEFGH1234"), "{clean}");
        assert!(!clean.contains("XYZXYZXYZ"), "{clean}");
        assert!(clean.contains("short words stay"), "{clean}");
        assert!(clean.starts_with("401: key [REDACTED] invalid"), "{clean}");
    }
}
