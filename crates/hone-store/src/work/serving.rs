//! Which workers are alive and what they serve, and what queued jobs need: the pieces for
//! telling a job that waits for a worker able to run it.

use std::time::Duration;

use hone_domain::{Job, JobStatus, Language, Timestamp};

use crate::{Store, StoreError};

/// How often a worker says it is alive ([`crate::Work::worker_alive`]).
pub const ALIVE_EVERY: Duration = Duration::from_secs(5);
/// A worker seen within this long is alive: three of its beats.
pub const LIVE_FOR: Duration = Duration::from_secs(15);

/// What the workers alive now serve.
pub async fn live_now(store: &dyn Store) -> Result<Vec<Serves>, StoreError> {
    let window = i64::try_from(LIVE_FOR.as_millis()).unwrap_or(i64::MAX);
    let since = Timestamp::from_millis(Timestamp::now().as_millis().saturating_sub(window));
    store.live_workers(since).await
}

/// Fills in `waiting_for` of each queued job no live worker serves (one read of the live
/// workers, and none when no job is queued).
pub async fn mark_waiting(store: &dyn Store, jobs: &mut [Job]) -> Result<(), StoreError> {
    if !jobs.iter().any(|j| j.status == JobStatus::Queued) {
        return Ok(());
    }
    let live = live_now(store).await?;
    for job in jobs.iter_mut().filter(|j| j.status == JobStatus::Queued) {
        let spec = &job.spec;
        job.waiting_for = unserved(
            &live,
            spec.language,
            &spec.actor.provider,
            spec.critic.as_ref().map(|c| c.provider.as_str()),
        );
    }
    Ok(())
}

/// How many queued jobs no live worker serves.
pub async fn unserved_jobs(store: &dyn Store) -> Result<u64, StoreError> {
    let needs = store.queued_needs().await?;
    if needs.is_empty() {
        return Ok(0);
    }
    let live = live_now(store).await?;
    Ok(needs
        .iter()
        .filter(|n| {
            unserved(
                &live,
                n.language,
                &n.actor_provider,
                n.critic_provider.as_deref(),
            )
            .is_some()
        })
        .map(|n| n.jobs)
        .sum())
}

/// What queued jobs need of a worker, and how many need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNeed {
    /// The jobs' language.
    pub language: Language,
    /// The actor's provider.
    pub actor_provider: String,
    /// The critic's provider, if the jobs have a critic.
    pub critic_provider: Option<String>,
    /// How many queued jobs need exactly this.
    pub jobs: u64,
}

impl Serves {
    /// Whether a worker serving this can run a job of `language` with these providers.
    pub fn covers(&self, language: Language, actor: &str, critic: Option<&str>) -> bool {
        self.languages.contains(&language)
            && self.providers.iter().any(|p| p == actor)
            && critic.is_none_or(|c| self.providers.iter().any(|p| p == c))
    }
}

/// Why no live worker can run a job of `language` with these providers, or `None` when one
/// can. The sentence names what is missing, for the job's `waiting_for`.
pub fn unserved(
    live: &[Serves],
    language: Language,
    actor: &str,
    critic: Option<&str>,
) -> Option<String> {
    if live.iter().any(|s| s.covers(language, actor, critic)) {
        return None;
    }
    if live.is_empty() {
        return Some("no worker is running".to_owned());
    }
    let mut needs = vec![format!("a working {} runtime", language.as_str())];
    needs.push(format!("the {actor:?} provider"));
    if let Some(c) = critic.filter(|c| *c != actor) {
        needs.push(format!("the {c:?} provider"));
    }
    Some(format!(
        "no running worker serves this job: it needs {}",
        needs.join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_served_when_one_worker_has_its_language_and_every_provider() {
        let python_openai = Serves {
            languages: vec![Language::Python],
            providers: vec!["openai".into()],
        };
        let live = [python_openai];
        assert!(unserved(&live, Language::Python, "openai", None).is_none());
        assert!(unserved(&live, Language::Python, "openai", Some("openai")).is_none());
        let why = unserved(&live, Language::Python, "openai", Some("anthropic"));
        assert!(why.is_some_and(|w| w.contains("\"anthropic\"")));
        assert!(unserved(&live, Language::Bash, "openai", None).is_some());
        assert_eq!(
            unserved(&[], Language::Python, "openai", None).as_deref(),
            Some("no worker is running")
        );
    }
}

/// What a worker can serve: the languages it has a working runtime for and the model
/// providers it can call. A job needing anything else is left for another worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Serves {
    /// Languages with a working runtime.
    pub languages: Vec<hone_domain::Language>,
    /// Usable model providers, by the names jobs use.
    pub providers: Vec<String>,
}

impl Serves {
    /// A list as the claim binds it: each name between commas (`,python,bash,`).
    pub fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
        let mut out = String::from(",");
        for n in names {
            out.push_str(n);
            out.push(',');
        }
        out
    }
}

/// The queue as the metrics exporter reads it (every tenant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Jobs waiting for a worker.
    pub queued: u64,
    /// Jobs a worker holds.
    pub running: u64,
    /// When the oldest queued job was submitted.
    pub oldest_queued: Option<hone_domain::Timestamp>,
    /// Webhook deliveries waiting for their (next) try.
    pub webhook_backlog: u64,
}
