//! The one spending meter of a job's run: the tokens, the dollars and the wall time it has
//! used, against the job's budget, and the cost of each role's last call (what the next
//! call of that role is estimated to cost). It measures; whether a budget is spent is
//! decided by the pure planner ([`crate::plan::budget`]).

use hone_domain::{JobSpec, ModelCall, Timestamp, Usage, Usd};

/// Which model a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The code writer.
    Actor,
    /// The reviewer.
    Critic,
}

impl Role {
    /// The role's name in sentences.
    pub fn name(self) -> &'static str {
        match self {
            Role::Actor => "actor",
            Role::Critic => "critic",
        }
    }
}

/// What a job may spend, from its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tokens over all model calls.
    pub tokens: u64,
    /// Wall time from the first claim, in milliseconds.
    pub duration_ms: u64,
    /// Dollars over all model calls (`None`: no cap).
    pub cost: Option<Usd>,
}

impl Limits {
    /// The budget of `spec`.
    pub fn of(spec: &JobSpec) -> Self {
        Self {
            tokens: spec.budget.max_total_tokens,
            duration_ms: spec.budget.max_duration_s.saturating_mul(1000),
            cost: spec.budget.max_cost_usd,
        }
    }
}

/// A job's spending so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    /// The budget.
    pub limits: Limits,
    /// When the job was first claimed (its wall time counts from there).
    pub started: Timestamp,
    /// Tokens used, by every run of the job.
    pub tokens: u64,
    /// Dollars spent, by every run of the job.
    pub spent: Usd,
    /// The cost of the actor's last call in this run (nothing before the first).
    pub last_actor: Usd,
    /// The cost of the critic's last call in this run.
    pub last_critic: Usd,
}

impl Meter {
    /// A meter for a job with budget `limits`, first claimed at `started`, that has used
    /// `used` already (a resumed run knows no last call).
    pub fn new(limits: Limits, started: Timestamp, used: &Usage) -> Self {
        Self {
            limits,
            started,
            tokens: used.total_tokens,
            spent: used.cost_usd,
            last_actor: Usd::ZERO,
            last_critic: Usd::ZERO,
        }
    }

    /// Counts a call's tokens and cost.
    pub fn charge(&mut self, role: Role, call: &ModelCall) {
        self.tokens = self.tokens.saturating_add(call.usage.total_tokens);
        self.spent = self.spent.saturating_add(call.usage.cost_usd);
        match role {
            Role::Actor => self.last_actor = call.usage.cost_usd,
            Role::Critic => self.last_critic = call.usage.cost_usd,
        }
    }

    /// What the next call of `role` is estimated to cost: as its last one in this run.
    pub fn next_cost(&self, role: Role) -> Usd {
        match role {
            Role::Actor => self.last_actor,
            Role::Critic => self.last_critic,
        }
    }
}
