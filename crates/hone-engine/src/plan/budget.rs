//! Whether a job has run out of something, decided from its [`Meter`] alone: its wall time
//! or tokens before an iteration, its tenant's daily quota (as the store read it), and its
//! dollars before each model call. What the next call costs is not known until it is made,
//! so it is estimated as what the role's last call in this run cost (the prompts of one job
//! change little from one iteration to the next); a role's first call in a run is made while
//! anything is left.

use hone_domain::{Timestamp, Usd};
use hone_store::QuotaExceeded;

use crate::meter::{Meter, Role};

/// What a job ran out of; every kind ends the job `failed` with `budget_exhausted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exhausted {
    /// The job's wall time.
    Time,
    /// The job's tokens.
    Tokens,
    /// The tenant's daily quota.
    Quota(QuotaExceeded),
    /// The job's dollars: the next `calls` calls of `role`, about `next` in all, would take
    /// it past `max` from `spent`.
    Cost {
        /// The job's dollar budget.
        max: Usd,
        /// What it has spent.
        spent: Usd,
        /// Whose calls.
        role: Role,
        /// How many (drawn together).
        calls: u64,
        /// Their estimated cost.
        next: Usd,
    },
}

impl Exhausted {
    /// The sentence the job's outcome carries, `done` iterations having been decided.
    pub fn message(&self, done: u32) -> String {
        match self {
            Exhausted::Time => format!("the job's time budget is spent after {done} iterations"),
            Exhausted::Tokens => {
                format!("the job's token budget is spent after {done} iterations")
            }
            Exhausted::Quota(quota) => {
                let what = match quota {
                    QuotaExceeded::CostPerDay { limit } => format!("spend quota of {limit}"),
                    QuotaExceeded::TokensPerDay { limit } => {
                        format!("quota of {limit} model tokens")
                    }
                    QuotaExceeded::QueuedJobs { limit } => format!("quota of {limit} queued jobs"),
                };
                format!("the tenant's daily {what} is spent after {done} iterations")
            }
            Exhausted::Cost {
                max,
                spent,
                role,
                calls,
                next,
            } => {
                let name = role.name();
                let what = if *calls == 1 {
                    format!("{name} call (about {next}, as the last one)")
                } else {
                    format!("{calls} {name} calls (about {next}, as the last one each)")
                };
                format!(
                    "the job's cost budget of {max} is spent: {spent} so far, and the next \
                     {what} would cross it"
                )
            }
        }
    }
}

/// Before an iteration: the job's wall time, then its tokens, then the tenant's daily
/// `quota` (the one today's usage reached, if any).
pub fn before_iteration(
    meter: &Meter,
    now: Timestamp,
    quota: Option<QuotaExceeded>,
) -> Option<Exhausted> {
    if now.millis_since(meter.started) >= meter.limits.duration_ms {
        Some(Exhausted::Time)
    } else if meter.tokens >= meter.limits.tokens {
        Some(Exhausted::Tokens)
    } else {
        quota.map(Exhausted::Quota)
    }
}

/// Before `calls` calls of `role` drawn together: whether they would take the job past its
/// dollar budget.
pub fn before_calls(meter: &Meter, role: Role, calls: u64) -> Option<Exhausted> {
    let max = meter.limits.cost?;
    let next = Usd(meter.next_cost(role).0.saturating_mul(calls));
    let would = meter.spent.saturating_add(next);
    (meter.spent >= max || would > max).then_some(Exhausted::Cost {
        max,
        spent: meter.spent,
        role,
        calls,
        next,
    })
}

#[cfg(test)]
mod tests {
    use hone_domain::{ModelCall, Usage};

    use super::*;
    use crate::meter::Limits;

    /// `ms` after the job started.
    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(1_000_000 + ms)
    }

    fn meter(tokens: u64, duration_ms: u64, cost: Option<u64>) -> Meter {
        let limits = Limits {
            tokens,
            duration_ms,
            cost: cost.map(Usd),
        };
        Meter::new(limits, at(0), &Usage::default())
    }

    fn call(tokens: u64, cost: u64) -> ModelCall {
        ModelCall {
            provider: "p".to_owned(),
            model: "m".to_owned(),
            latency_ms: 1,
            usage: Usage {
                total_tokens: tokens,
                cost_usd: Usd(cost),
                ..Usage::default()
            },
        }
    }

    #[test]
    fn wall_time_runs_out_at_its_limit() {
        let m = meter(1_000, 5_000, None);
        assert_eq!(before_iteration(&m, at(4_999), None), None);
        let out = before_iteration(&m, at(5_000), None);
        assert_eq!(out, Some(Exhausted::Time));
        assert_eq!(
            out.map(|e| e.message(2)).as_deref(),
            Some("the job's time budget is spent after 2 iterations")
        );
    }

    #[test]
    fn tokens_run_out_when_used_up_counting_every_role() {
        let mut m = meter(100, 60_000, None);
        m.charge(Role::Actor, &call(60, 0));
        assert_eq!(before_iteration(&m, at(0), None), None);
        m.charge(Role::Critic, &call(40, 0));
        let out = before_iteration(&m, at(0), None);
        assert_eq!(out, Some(Exhausted::Tokens));
        assert_eq!(
            out.map(|e| e.message(1)).as_deref(),
            Some("the job's token budget is spent after 1 iterations")
        );
        let resumed = Meter::new(
            m.limits,
            at(0),
            &Usage {
                total_tokens: 100,
                ..Usage::default()
            },
        );
        assert_eq!(
            before_iteration(&resumed, at(0), None),
            Some(Exhausted::Tokens)
        );
    }

    #[test]
    fn the_tenants_daily_quota_ends_the_job_after_its_own_budgets() {
        let m = meter(100, 60_000, None);
        let cost = QuotaExceeded::CostPerDay {
            limit: Usd(2_000_000_000_000),
        };
        let out = before_iteration(&m, at(0), Some(cost));
        assert_eq!(
            out.map(|e| e.message(3)).as_deref(),
            Some("the tenant's daily spend quota of $2.000000 is spent after 3 iterations")
        );
        let tokens = QuotaExceeded::TokensPerDay { limit: 500 };
        let out = before_iteration(&m, at(0), Some(tokens));
        assert_eq!(
            out.map(|e| e.message(0)).as_deref(),
            Some("the tenant's daily quota of 500 model tokens is spent after 0 iterations")
        );
        assert_eq!(
            before_iteration(&m, at(60_000), Some(tokens)),
            Some(Exhausted::Time),
            "the job's own budget is named first"
        );
    }

    #[test]
    fn a_call_is_refused_when_the_last_one_like_it_would_cross_the_dollars() {
        let mut m = meter(u64::MAX, u64::MAX, Some(100));
        assert_eq!(
            before_calls(&m, Role::Actor, 1),
            None,
            "the first call is made"
        );
        m.charge(Role::Actor, &call(0, 40));
        assert_eq!(before_calls(&m, Role::Critic, 1), None);
        m.charge(Role::Critic, &call(0, 10));
        assert_eq!(before_calls(&m, Role::Actor, 1), None, "50 + 40 <= 100");
        m.charge(Role::Actor, &call(0, 40));
        assert_eq!(before_calls(&m, Role::Critic, 1), None, "90 + 10 <= 100");
        m.charge(Role::Critic, &call(0, 10));
        let out = before_calls(&m, Role::Actor, 1);
        assert!(matches!(
            out,
            Some(Exhausted::Cost {
                role: Role::Actor,
                calls: 1,
                ..
            })
        ));
        let resumed = Meter::new(
            m.limits,
            at(0),
            &Usage {
                cost_usd: Usd(70),
                ..Usage::default()
            },
        );
        assert_eq!(
            before_calls(&resumed, Role::Actor, 1),
            None,
            "a resumed run knows no last call"
        );
    }

    #[test]
    fn drawn_calls_are_refused_together() {
        let mut m = meter(u64::MAX, u64::MAX, Some(100));
        m.charge(Role::Actor, &call(0, 30));
        assert_eq!(before_calls(&m, Role::Actor, 2), None, "30 + 2 x 30 <= 100");
        let out = before_calls(&m, Role::Actor, 3);
        assert!(
            out.as_ref()
                .is_some_and(|e| e.message(1).contains("3 actor calls")),
            "{out:?}"
        );
    }

    #[test]
    fn no_dollar_budget_refuses_no_call() {
        let mut m = meter(u64::MAX, u64::MAX, None);
        m.charge(Role::Critic, &call(0, u64::MAX));
        assert_eq!(before_calls(&m, Role::Critic, 8), None);
    }
}
