//! A stats window split for the rollups: its whole UTC days and the whole hours around
//! them are read from the rollups, everything else from the rows. The rows read are the jobs created (and attempts started)
//! in the window's partial first and last hours, and in its whole hours those of jobs not
//! folded yet: open (queued or running) or ended and waiting in `stats_fold`. At one snapshot
//! each job is in exactly one of those places, so the sum is exact.
//!
//! Every statement binds `$1` the tenant, `$2`..`$3` the window, `$4`..`$5` its whole hours
//! (empty when it has none: then the rows cover the whole window); those reading the
//! rollups ([`rolled`]) bind `$6`..`$7`, the whole days among those hours.

use hone_domain::TenantId;
use hone_store::StatsQuery;

use super::{DAY, HOUR};

/// The jobs' columns the stats read.
const JOB_COLUMNS: &str = "id, status, reason, iterations, model, language, total_tokens, \
    first_passed, created_at, started_at, finished_at";
/// The attempts' columns the stats read.
const ATTEMPT_COLUMNS: &str = "job_id, actor_model, critic_model, error_type, \
    actor_prompt_tokens, actor_completion_tokens, critic_prompt_tokens, \
    critic_completion_tokens, critique";

/// A window and its whole hours.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) tenant: TenantId,
    pub(crate) since: i64,
    pub(crate) until: i64,
    /// The first whole hour's start.
    pub(crate) h0: i64,
    /// The end of the last whole hour (`h0` when there is none).
    pub(crate) h1: i64,
    /// The first whole day's start, within the whole hours.
    pub(crate) d0: i64,
    /// The end of the last whole day (`d0` when there is none: then both are `h1`).
    pub(crate) d1: i64,
}

impl Window {
    /// The window of `q` for `tenant`.
    pub(crate) fn new(tenant: &TenantId, q: &StatsQuery) -> Self {
        let (since, until) = (q.since.as_millis(), q.until.as_millis());
        let (h0, h1) = whole(since, until, HOUR).unwrap_or((since, since));
        let (d0, d1) = whole(h0, h1, DAY).unwrap_or((h1, h1));
        Self {
            tenant: tenant.clone(),
            since,
            until,
            h0,
            h1,
            d0,
            d1,
        }
    }
}

/// The whole spans of `width` within `[from, to)`, if there is one.
fn whole(from: i64, to: i64, width: i64) -> Option<(i64, i64)> {
    let first = from
        .div_euclid(width)
        .saturating_add(i64::from(from.rem_euclid(width) != 0))
        .saturating_mul(width);
    let end = to.div_euclid(width).saturating_mul(width);
    (end > first).then_some((first, end))
}

/// The rows of rollup `table` for the window: the days `[$6, $7)`, and the hours `[$4, $6)`
/// and `[$7, $5)` around them, each an index range, as a derived table.
pub(crate) fn rolled(table: &str) -> String {
    format!(
        "(SELECT * FROM {table} WHERE tenant_id = $1 AND width = {DAY} AND at >= $6 AND at < $7 \
         UNION ALL SELECT * FROM {table} \
            WHERE tenant_id = $1 AND width = {HOUR} AND at >= $4 AND at < $6 \
         UNION ALL SELECT * FROM {table} \
            WHERE tenant_id = $1 AND width = {HOUR} AND at >= $7 AND at < $5)"
    )
}

/// The rows of the window's jobs the rollups do not hold, as a derived table.
pub(crate) fn jobs() -> String {
    let c = JOB_COLUMNS;
    let jc = prefixed("j", JOB_COLUMNS);
    format!(
        "(SELECT {c} FROM jobs WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $4 \
         UNION ALL SELECT {c} FROM jobs \
            WHERE tenant_id = $1 AND created_at >= $5 AND created_at < $3 \
         UNION ALL SELECT {c} FROM jobs WHERE tenant_id = $1 AND status IN ('queued', 'running') \
            AND created_at >= $4 AND created_at < $5 \
         UNION ALL SELECT {jc} FROM stats_fold f JOIN jobs j ON j.id = f.job_id \
            WHERE f.tenant_id = $1 AND j.created_at >= $4 AND j.created_at < $5)"
    )
}

/// The rows of the window's attempts the rollups do not hold, as a derived table.
pub(crate) fn attempts() -> String {
    let c = ATTEMPT_COLUMNS;
    let ac = prefixed("a", ATTEMPT_COLUMNS);
    format!(
        "(SELECT {c} FROM attempts WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $4 \
         UNION ALL SELECT {c} FROM attempts \
            WHERE tenant_id = $1 AND started_at >= $5 AND started_at < $3 \
         UNION ALL SELECT {ac} FROM jobs o JOIN attempts a ON a.job_id = o.id \
            WHERE o.tenant_id = $1 AND o.status IN ('queued', 'running') \
            AND a.started_at >= $4 AND a.started_at < $5 \
         UNION ALL SELECT {ac} FROM stats_fold f JOIN attempts a ON a.job_id = f.job_id \
            WHERE f.tenant_id = $1 AND a.started_at >= $4 AND a.started_at < $5)"
    )
}

fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_domain::Timestamp;
    use hone_store::Bucket;

    fn window(since: i64, until: i64) -> Window {
        let q = StatsQuery {
            since: Timestamp::from_millis(since),
            until: Timestamp::from_millis(until),
            bucket: Bucket::Hour,
            group_by: None,
        };
        Window::new(&TenantId::default_tenant(), &q)
    }

    #[test]
    fn whole_hours_are_those_inside_the_window() {
        let w = window(HOUR * 10 + 5, HOUR * 20 + 7);
        assert_eq!((w.h0, w.h1), (HOUR * 11, HOUR * 20));
        let w = window(HOUR * 10, HOUR * 20);
        assert_eq!((w.h0, w.h1), (HOUR * 10, HOUR * 20));
    }

    #[test]
    fn whole_days_are_those_inside_the_whole_hours() {
        let w = window(DAY * 3 + HOUR * 5 + 1, DAY * 9 + HOUR * 2);
        assert_eq!((w.h0, w.h1), (DAY * 3 + HOUR * 6, DAY * 9 + HOUR * 2));
        assert_eq!((w.d0, w.d1), (DAY * 4, DAY * 9));
        let w = window(DAY * 3 + HOUR * 5, DAY * 4 + HOUR * 2);
        assert_eq!((w.d0, w.d1), (w.h1, w.h1), "no whole day");
    }

    #[test]
    fn a_window_without_a_whole_hour_is_read_from_the_rows() {
        let w = window(HOUR * 10 + 5, HOUR * 11 + 7);
        assert_eq!((w.h0, w.h1), (w.since, w.since));
        let w = window(HOUR * 10 + 5, HOUR * 10 + 9);
        assert_eq!((w.h0, w.h1), (w.since, w.since));
    }
}
