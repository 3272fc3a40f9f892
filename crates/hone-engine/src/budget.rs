//! The job's dollar budget (`budget.max_cost_usd`), checked before every model call: a call
//! is not made when it would take the job past the budget. What the next call costs is not
//! known until it is made, so it is estimated as what the role's last call in this run
//! cost (the prompts of one job change little from one iteration to the next); a role's
//! first call in a run is made while anything is left.

use hone_domain::Usd;

/// Which model a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The code writer.
    Actor,
    /// The reviewer.
    Critic,
}

/// A job's spend so far and the cost of each role's last call.
#[derive(Debug, Clone, Default)]
pub struct CostMeter {
    max: Option<Usd>,
    spent: Usd,
    last_actor: Usd,
    last_critic: Usd,
}

impl CostMeter {
    /// A meter for a job with budget `max` that has spent `spent` already.
    pub fn new(max: Option<Usd>, spent: Usd) -> Self {
        Self {
            max,
            spent,
            ..Self::default()
        }
    }

    /// Why the next `role` call may not be made, if it may not.
    pub fn check(&self, role: Role) -> Option<String> {
        self.check_calls(role, 1)
    }

    /// Why the next `calls` calls of `role` (drawn together) may not be made, if they may
    /// not.
    pub fn check_calls(&self, role: Role, calls: u64) -> Option<String> {
        let max = self.max?;
        let last = match role {
            Role::Actor => self.last_actor,
            Role::Critic => self.last_critic,
        };
        let next = Usd(last.0.saturating_mul(calls));
        let would = self.spent.saturating_add(next);
        if self.spent >= max || would > max {
            let name = match role {
                Role::Actor => "actor",
                Role::Critic => "critic",
            };
            let what = if calls == 1 {
                format!("{name} call (about {next}, as the last one)")
            } else {
                format!("{calls} {name} calls (about {next}, as the last one each)")
            };
            Some(format!(
                "the job's cost budget of {max} is spent: {} so far, and the next {what} \
                 would cross it",
                self.spent
            ))
        } else {
            None
        }
    }

    /// Counts a call's cost.
    pub fn charge(&mut self, role: Role, cost: Usd) {
        self.spent += cost;
        match role {
            Role::Actor => self.last_actor = cost,
            Role::Critic => self.last_critic = cost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_refused_when_the_last_one_like_it_would_cross_the_budget() {
        let mut m = CostMeter::new(Some(Usd(100)), Usd::ZERO);
        assert_eq!(m.check(Role::Actor), None, "the first call is made");
        m.charge(Role::Actor, Usd(40));
        assert_eq!(m.check(Role::Critic), None);
        m.charge(Role::Critic, Usd(10));
        assert_eq!(m.check(Role::Actor), None, "50 + 40 <= 100");
        m.charge(Role::Actor, Usd(40));
        assert_eq!(m.check(Role::Critic), None, "90 + 10 <= 100");
        m.charge(Role::Critic, Usd(10));
        assert!(m.check(Role::Actor).is_some(), "100 is all of it");
        let m = CostMeter::new(Some(Usd(100)), Usd(70));
        assert_eq!(
            m.check(Role::Actor),
            None,
            "a resumed run knows no last call"
        );
        let mut m = CostMeter::new(Some(Usd(100)), Usd::ZERO);
        m.charge(Role::Actor, Usd(30));
        assert_eq!(m.check_calls(Role::Actor, 2), None, "30 + 2 x 30 <= 100");
        assert!(m.check_calls(Role::Actor, 3).is_some(), "30 + 3 x 30 > 100");
        let unbounded = CostMeter::new(None, Usd(u64::MAX));
        assert_eq!(unbounded.check(Role::Actor), None);
    }
}
