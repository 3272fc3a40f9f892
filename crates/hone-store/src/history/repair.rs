//! What `GET /v1/stats/repair` asks the store: how well the self-correction loop repairs,
//! per actor model and language, over a tenant's decided jobs (succeeded or failed) created
//! in a window, computed by the database.

use hone_domain::Usd;

/// Critique issues of one category raised on failed attempts, and how many of those the
/// next attempt fixed (its run passed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryFixes {
    /// `correctness`, `edge_case`, ...
    pub category: String,
    /// Issues of the category on failed attempts that have a next attempt.
    pub issues: u64,
    /// Of those, the ones whose next attempt's run passed.
    pub fixed: u64,
}

/// Decided jobs counted by how they ended, for comparing jobs shown lessons with the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Solved {
    /// Decided jobs.
    pub jobs: u64,
    /// Of those, the ones that succeeded.
    pub succeeded: u64,
    /// Iterations of the succeeded ones, summed.
    pub iterations: u64,
}

/// The repair figures of one actor model and language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairGroup {
    /// The actor's model.
    pub model: String,
    /// The language.
    pub language: String,
    /// Decided jobs: succeeded or failed.
    pub decided: u64,
    /// Of those, the ones whose first attempt's run passed its tests.
    pub first_passed: u64,
    /// Of those, the ones that succeeded.
    pub succeeded: u64,
    /// Decided jobs by outcome reason (`accepted`, `max_iterations`, `no_progress`, ...),
    /// most first.
    pub ends: Vec<(String, u64)>,
    /// Succeeded jobs by the iterations they took, fewest first.
    pub solved_at: Vec<(u32, u64)>,
    /// Iterations of the succeeded jobs, summed.
    pub solved_iterations: u64,
    /// Tokens of the succeeded jobs, summed.
    pub solved_tokens: u64,
    /// Cost of the succeeded jobs, summed.
    pub solved_cost: Usd,
    /// Critique issues on failed attempts by category, most first.
    pub categories: Vec<CategoryFixes>,
    /// The jobs whose first prompt carried lessons (`memory` jobs that found some).
    pub with_lessons: Solved,
    /// The other jobs.
    pub without_lessons: Solved,
}
