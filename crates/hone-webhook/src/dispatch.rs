//! The outbox dispatcher: leases due outbox rows, sends each as a signed Standard Webhooks
//! request on a task of its own (so one slow receiver never delays the others), and records
//! every try with what happens next. A dispatcher that dies mid-delivery leaves its rows
//! leased; when the lease runs out any dispatcher sends them again with the same
//! `webhook-id`, so receivers can drop the duplicate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_domain::Timestamp;
use hone_store::{
    ClaimDeliveries, DeliveryTry, DueDelivery, NextTry, Store, StoreError, webhook_id,
};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::schedule::Schedule;
use crate::signing::{generate_secret, signature_header};
use crate::target::{GuardedResolver, Lookup, TargetPolicy, refusal};

/// How the dispatcher behaves.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Written into outbox leases; unique per process.
    pub worker_id: String,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// The whole request's time limit.
    pub timeout: Duration,
    /// When to try again.
    pub schedule: Schedule,
    /// Which targets are allowed.
    pub policy: TargetPolicy,
    /// How often to look for due rows when no event wakes the dispatcher.
    pub poll_interval: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            worker_id: "webhooks".into(),
            concurrency: 64,
            timeout: Duration::from_secs(15),
            schedule: Schedule::default(),
            policy: TargetPolicy::default(),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Drains the webhook outbox.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    config: Arc<DispatcherConfig>,
}

impl Dispatcher {
    /// A dispatcher whose client resolves names through `lookup`, checked against the policy.
    pub fn new(
        store: Arc<dyn Store>,
        config: DispatcherConfig,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .dns_resolver(Arc::new(GuardedResolver::new(config.policy, lookup)))
            .build()?;
        Ok(Self {
            store,
            client,
            config: Arc::new(config),
        })
    }

    /// Runs until `shutdown` turns true; deliveries in flight then get up to the timeout to
    /// finish (the rest are retried by any dispatcher once their leases expire).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut wake = match self.store.listen_events().await {
            Ok(rx) => Some(rx),
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot listen for events; polling");
                None
            }
        };
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let lease_ms =
            u64::try_from((self.config.timeout * 2 + Duration::from_secs(2)).as_millis())
                .unwrap_or(u64::MAX);
        let mut poll = tokio::time::interval(self.config.poll_interval);
        loop {
            let free = u32::try_from(slots.available_permits()).unwrap_or(u32::MAX);
            if free > 0 {
                match self
                    .store
                    .claim_deliveries(ClaimDeliveries {
                        worker: self.config.worker_id.clone(),
                        limit: free,
                        lease_ms,
                    })
                    .await
                {
                    Ok(due) => {
                        for item in due {
                            let Ok(permit) = slots.clone().acquire_owned().await else {
                                break;
                            };
                            let job = Delivery {
                                store: self.store.clone(),
                                client: self.client.clone(),
                                config: self.config.clone(),
                            };
                            tasks.spawn(async move {
                                job.deliver(item).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "webhooks: cannot claim deliveries"),
                }
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = poll.tick() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                signal = recv(&mut wake) => match (signal, wake.as_mut()) {
                    // A burst of events costs one claim: take every signal already waiting.
                    (Some(_), Some(rx)) => while rx.try_recv().is_ok() {},
                    _ => wake = None,
                },
            }
        }
        let _ = tokio::time::timeout(self.config.timeout, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
    }
}

async fn recv<T>(rx: &mut Option<tokio::sync::mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// One delivery's try.
struct Delivery {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    config: Arc<DispatcherConfig>,
}

/// What a try found.
struct Tried {
    status_code: Option<u16>,
    error: Option<String>,
    next: NextTry,
}

impl Delivery {
    async fn deliver(self, item: DueDelivery) {
        let started = Instant::now();
        let attempted_at = Timestamp::now();
        let payload = match self.payload(&item).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, outbox = item.id, "webhooks: cannot build the body");
                return;
            }
        };
        let tried = match self.send(&item, &payload).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, outbox = item.id, "webhooks: store failed");
                return;
            }
        };
        let record = DeliveryTry {
            outbox: item.id,
            worker: self.config.worker_id.clone(),
            payload,
            attempted_at,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            status_code: tried.status_code,
            error: tried.error,
            next: tried.next,
        };
        match self.store.record_delivery(&record).await {
            Ok(()) => {
                metrics::counter!(hone_domain::metric::WEBHOOK_DELIVERIES,
                    "result" => record.next.state())
                .increment(1);
                tracing::info!(
                    outbox = item.id, job = %item.job, seq = item.seq,
                    status = ?record.status_code, next = record.next.state(),
                    "webhook try recorded");
            }
            Err(e) => tracing::warn!(error = %e, outbox = item.id, "webhooks: cannot record try"),
        }
    }

    /// The body: fixed at the first try, so every retry sends the same bytes.
    async fn payload(&self, item: &DueDelivery) -> Result<String, StoreError> {
        if let Some(p) = &item.payload {
            return Ok(p.clone());
        }
        let job = self.store.get_job(&item.tenant, item.job).await?;
        let body = json!({
            "type": item.kind.as_str(),
            "timestamp": item.event_at,
            "data": job,
        });
        Ok(body.to_string())
    }

    async fn send(&self, item: &DueDelivery, payload: &str) -> Result<Tried, StoreError> {
        let retry = |error: String, code: Option<u16>, after: Option<Duration>| {
            let next = match self.config.schedule.next_delay(item.tries + 1, after) {
                Some(d) => NextTry::RetryAt(Timestamp::from_millis(
                    Timestamp::now().as_millis() + i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
                )),
                None => NextTry::Exhausted,
            };
            Tried {
                status_code: code,
                error: Some(error),
                next,
            }
        };
        let url = match url::Url::parse(&item.url) {
            Ok(u) => u,
            Err(e) => {
                return Ok(Tried {
                    status_code: None,
                    error: Some(format!("bad URL: {e}")),
                    next: NextTry::Refused,
                });
            }
        };
        if let Err(refused) = self.config.policy.check_url(&url) {
            return Ok(refused_try(&refused));
        }
        let secrets = self
            .store
            .webhook_secrets(&item.tenant, &generate_secret().map_err(secret_err)?)
            .await?;
        let id = webhook_id(item.job, item.seq);
        let ts = Timestamp::now().as_millis() / 1000;
        let signature = signature_header(
            secrets.iter().map(|s| s.secret.as_str()),
            &id,
            ts,
            payload.as_bytes(),
        )
        .map_err(secret_err)?;
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("hone-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(payload.to_owned())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                if let Some(refused) = refusal(&e) {
                    return Ok(refused_try(&refused));
                }
                let what = if e.is_timeout() {
                    "timed out"
                } else {
                    "failed"
                };
                return Ok(retry(format!("request {what}: {}", chain(&e)), None, None));
            }
        };
        let status = response.status();
        let code = Some(status.as_u16());
        Ok(if status.is_success() {
            Tried {
                status_code: code,
                error: None,
                next: NextTry::Delivered,
            }
        } else if status == StatusCode::GONE {
            Tried {
                status_code: code,
                error: Some("410 Gone: the receiver asked for no more deliveries".into()),
                next: NextTry::Gone,
            }
        } else {
            let after = match status {
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    retry_after(response.headers())
                }
                _ => None,
            };
            let error = if status.is_redirection() {
                format!("{status}: redirects are not followed")
            } else {
                format!("receiver answered {status}")
            };
            retry(error, code, after)
        })
    }
}

fn refused_try(refused: &crate::target::Refused) -> Tried {
    Tried {
        status_code: None,
        error: Some(refused.to_string()),
        next: NextTry::Refused,
    }
}

fn secret_err(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::corrupt("webhook secret", e)
}

/// `Retry-After` in seconds (the HTTP-date form is rare from webhook receivers; ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// An error with its causes, for the delivery log.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
