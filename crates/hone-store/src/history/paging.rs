//! A page of jobs: which jobs ([`ListJobs`]), how much of their specs ([`Specs`]), and what
//! comes back ([`JobPage`]).

use hone_domain::{Job, JobId};

/// Filters and paging of [`crate::History::list_jobs`].
#[derive(Debug, Clone, Default)]
pub struct ListJobs {
    /// Which jobs.
    pub filter: crate::JobFilter,
    /// At most this many (the caller bounds it).
    pub limit: u32,
    /// Only jobs older than this one (the previous page's last id).
    pub before: Option<JobId>,
    /// How much of each job's spec to read.
    pub specs: Specs,
}

/// How much of each job's spec a page of jobs reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Specs {
    /// Every field (what exports and tools need).
    #[default]
    Whole,
    /// Without the fields whose size the client chooses: `files`, `starter_code`, `tests`
    /// and `test_cases` are empty and the models' `system_prompt` unset, so a page costs
    /// about the same whatever its jobs carry.
    Summary,
    /// Every field, but the page stops before the job whose spec would take the page's
    /// specs past this many bytes (its first job is always read), and `next` then points
    /// past the last job read.
    WholeWithin(usize),
}

/// A page of jobs.
#[derive(Debug, Clone)]
pub struct JobPage {
    /// Newest first.
    pub items: Vec<Job>,
    /// Pass as `before` to get the next page; `None` on the last.
    pub next: Option<JobId>,
}

/// A page of a job's events: those with `seq > after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsPage {
    /// The last seq already seen (0 for the start).
    pub after: u64,
    /// The most events to return.
    pub limit: u32,
}
