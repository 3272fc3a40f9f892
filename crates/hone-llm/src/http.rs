//! What every HTTP model client shares: the retry policy and loop (exponential backoff with
//! jitter, `Retry-After` honoured up to the longest backoff), the transient/fatal split of one
//! try, and error texts that name the failure without leaking a key.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::LlmError;

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: usize,
    /// The first backoff.
    pub min_delay: Duration,
    /// The longest backoff (and the longest `Retry-After` honoured).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// One try's failure, before the retry decision.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Retry (after `retry_after` if the provider said so).
    Transient {
        /// What went wrong.
        why: String,
        /// How long the provider asked to wait.
        retry_after: Option<Duration>,
    },
    /// Do not retry.
    Fatal(LlmError),
}

/// A URL as errors show it: no user info (a key could hide there), no query.
pub(crate) fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "the configured base URL (not a valid URL)".to_owned(),
    }
}

/// Why a request got no answer, in words an operator can act on: refused, DNS, TLS, timeout,
/// followed by the innermost cause. reqwest errors carry no header, so no key is shown.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        causes.push(s.to_string());
        source = s.source();
    }
    let all = causes.join(": ").to_ascii_lowercase();
    let kind = if e.is_timeout() {
        "timed out"
    } else if refused || all.contains("connection refused") {
        "connection refused"
    } else if all.contains("dns error") || all.contains("failed to lookup") {
        "DNS lookup failed"
    } else if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        "TLS failed"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match causes.last() {
        Some(inner) => format!("{kind} ({})", crate::snippet(inner)),
        None => kind.to_owned(),
    }
}

pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Runs `once` until it succeeds, fails fatally, or the retries of `policy` are spent.
pub(crate) async fn with_retries<T, F, Fut>(policy: RetryPolicy, mut once: F) -> Result<T, LlmError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt>>,
{
    let mut tries = 0u32;
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_retries)
        .with_jitter();
    let max_delay = policy.max_delay;
    let result = (|| {
        tries += 1;
        once()
    })
    .retry(backoff)
    .when(|e| matches!(e, Attempt::Transient { .. }))
    .adjust(move |e, planned| match e {
        Attempt::Transient {
            retry_after: Some(after),
            ..
        } => planned.map(|_| (*after).min(max_delay)),
        _ => planned,
    })
    .notify(|e, wait| tracing::warn!(error = ?e, ?wait, "model call failed; retrying"))
    .await;
    result.map_err(|e| match e {
        Attempt::Fatal(e) => e,
        Attempt::Transient { why, .. } => LlmError::Unavailable {
            attempts: tries,
            last: why,
        },
    })
}

/// The HTTP client every provider uses: the request timeout, and no redirects (a key must
/// not follow one to another host).
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| LlmError::Decode(format!("cannot build the HTTP client: {e}")))
}

/// The hint a fatal status deserves.
pub(crate) fn hint(status: u16) -> &'static str {
    match status {
        401 => " (check the provider's API key)",
        403 => " (the API key may lack access to this model)",
        404 => " (check the base URL and the model name)",
        _ => "",
    }
}
