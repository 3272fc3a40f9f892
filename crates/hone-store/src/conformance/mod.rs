//! The one conformance suite every [`Store`] backend must pass, one module a topic of the
//! store (the same names as the topic traits). Each backend's tests call
//! [`crate::conformance_suite!`] with an expression that yields a fresh, empty store.

#![expect(
    clippy::expect_used,
    reason = "the conformance suite is test code: a failed step is a failed test"
)]

mod access;
mod fixtures;
mod history;
mod intake;
mod lessons;
mod outbox;
mod retention;
mod work;

pub use access::*;
pub use history::*;
pub use intake::*;
pub use lessons::*;
pub use outbox::*;
pub use retention::*;
pub use work::*;

/// Generates one `#[tokio::test]` per conformance case. `$make` is an expression of type
/// `impl Future<Output = Option<(Arc<dyn Store>, Arc<ManualClock>)>>`: a fresh store reading
/// the time from the clock, which the cases advance to let leases and delays run out
/// without sleeping; `None` skips (backend not configured).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@cases $make;
            enqueue_then_read_back, idempotency_keys, list_pages_newest_first,
            batches_store_all_or_nothing, batch_idempotency_keys,
            claims_never_overlap, claims_follow_priority, claims_take_only_jobs_the_worker_can_serve,
            live_workers_and_queued_needs,
            attempt_steps_are_written_once,
            lost_lease_stops_writes, cancel_by_state, requeue_delays_the_job,
            release_gives_the_job_back_at_once, signals_announce_jobs_and_cancels,
            a_tenant_cap_limits_running_jobs, events_are_announced_and_read_back,
            webhook_outbox_follows_the_filter, webhook_leases_expire,
            webhook_secrets_rotate_with_overlap,
            keys_are_found_by_hash_and_revoked_within_their_tenant,
            first_key_is_made_once_and_usage_only_moves_forward,
            quotas_hold_per_tenant_and_day, history_filters_match_a_reference,
            bulk_cancel_takes_exactly_the_filtered_unfinished_jobs, retries_are_linked_both_ways,
            prune_takes_exactly_the_old_finished_jobs, stats_equal_the_records, attempts_of_jobs_read_a_page_at_once,
            lessons_are_found_by_their_words);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some((store, clock)) = $make.await else {
                    eprintln!("skipped: backend not configured");
                    return;
                };
                $crate::conformance::$case(store, clock).await;
            }
        )*
    };
}
