//! Standard Webhooks signatures: secrets are `whsec_` + base64 of the key bytes; a signature
//! is `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")); during a rotation the
//! `webhook-signature` header lists one signature per secret, separated by spaces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A secret that is not `whsec_` + base64.
#[derive(Debug, thiserror::Error)]
#[error("a webhook secret is whsec_ followed by base64")]
pub struct BadSecret;

/// A new random secret: 32 bytes from the OS.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The key bytes of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, BadSecret> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).ok_or(BadSecret)?;
    STANDARD.decode(b64).map_err(|_| BadSecret)
}

/// One `v1,` signature of `body` for message `id` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, BadSecret> {
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, BadSecret> {
    let mut out = Vec::new();
    for secret in secrets {
        out.push(sign(secret, id, timestamp, body)?);
    }
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn matches_the_specification_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let got = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(
            got.ok().as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = generate_secret().unwrap_or_default();
        let b = generate_secret().unwrap_or_default();
        assert_ne!(a, b);
        assert_eq!(secret_key(&a).map(|k| k.len()).ok(), Some(32));
    }

    #[test]
    fn a_rotation_lists_both_signatures() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let b = "whsec_c2Vjb25kIHNlY3JldA==";
        let header = signature_header([a, b], "id", 1, b"{}").unwrap_or_default();
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert!(signature_header(["nope"], "id", 1, b"{}").is_err());
    }
}
