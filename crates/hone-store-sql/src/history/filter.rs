//! A [`JobFilter`] as SQL: the conditions that follow `WHERE tenant_id = $1` in a history
//! query, a bulk cancel or a stats query, with their values to bind. Every condition is
//! served by an index (see the `history` migration); tags and metadata entries go through
//! their own tables, full-text search through the backend's ([`Backend::text_match`]).

use std::fmt::Write as _;

use hone_domain::JobId;
use hone_store::JobFilter;
use sqlx::query::Query;

use crate::Backend;

/// How much later than its id's timestamp a job's `created_at` may be, at most.
const ID_SLACK_MS: i64 = 86_400_000;

/// The smallest (or, with `last`, the largest) UUID v7 of millisecond `ms`.
fn id_at(ms: i64, last: bool) -> JobId {
    let ms = u64::try_from(ms.clamp(0, (1 << 48) - 1)).unwrap_or(0);
    let fill = if last { 0xff } else { 0x00 };
    let mut bytes = [fill; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    JobId(uuid::Uuid::from_bytes(bytes))
}

/// Most words of a search that count (the rest are ignored).
const MAX_WORDS: usize = 32;

/// A value a condition binds.
#[derive(Debug, Clone)]
pub enum Param {
    /// Bound as text.
    Text(String),
    /// Bound as a 64-bit integer.
    Int(i64),
    /// Bound as a job id.
    Id(JobId),
}

/// Conditions (each starting with ` AND `) and the values of their placeholders, in order.
#[derive(Debug, Default)]
pub struct Conditions {
    /// The SQL text.
    pub sql: String,
    /// The values of `$first`, `$first + 1`, ...
    pub params: Vec<Param>,
    first: usize,
}

impl Conditions {
    /// Conditions whose placeholders start at `$first` (`$1` is the tenant).
    pub fn new(first: usize) -> Self {
        Self {
            first,
            ..Self::default()
        }
    }

    /// The next placeholder, bound to `p`.
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.first + self.params.len() - 1)
    }

    fn any_of(&mut self, column: &str, values: impl IntoIterator<Item = String>) {
        let marks: Vec<String> = values
            .into_iter()
            .map(|v| self.bind(Param::Text(v)))
            .collect();
        if !marks.is_empty() {
            let _ = write!(self.sql, " AND {column} IN ({})", marks.join(", "));
        }
    }

    /// Adds `id < before`, the paging condition.
    pub fn before(&mut self, before: Option<JobId>) {
        if let Some(id) = before {
            let mark = self.bind(Param::Id(id));
            let _ = write!(self.sql, " AND id < {mark}");
        }
    }

    /// Adds the conditions of `filter`.
    pub fn filter<B: Backend>(&mut self, filter: &JobFilter) {
        self.any_of(
            "status",
            filter.statuses.iter().map(|s| s.as_str().to_owned()),
        );
        self.any_of(
            "reason",
            filter.reasons.iter().map(|r| r.as_str().to_owned()),
        );
        self.any_of(
            "language",
            filter.languages.iter().map(|l| l.as_str().to_owned()),
        );
        self.any_of("model", filter.models.iter().cloned());
        for tag in &filter.tags {
            let mark = self.bind(Param::Text(tag.clone()));
            let _ = write!(
                self.sql,
                " AND id IN (SELECT job_id FROM job_tags WHERE tenant_id = $1 AND tag = {mark})"
            );
        }
        for (key, value) in &filter.metadata {
            let k = self.bind(Param::Text(key.clone()));
            let v = self.bind(Param::Text(value.clone()));
            let _ = write!(
                self.sql,
                " AND id IN (SELECT job_id FROM job_labels \
                 WHERE tenant_id = $1 AND key = {k} AND value = {v})"
            );
        }
        // Job ids are UUID v7, stamped when the request is read; `created_at` when the row
        // is stored, later by far less than a day. A creation window is therefore also an id
        // range, which walks the `(tenant_id, id DESC)` index newest first instead of
        // sorting the whole window; the exact `created_at` condition stays.
        if let Some(t) = filter.created_after {
            let at = self.bind(Param::Int(t.as_millis()));
            let id = self.bind(Param::Id(id_at(t.as_millis() - ID_SLACK_MS, false)));
            let _ = write!(self.sql, " AND created_at >= {at} AND id >= {id}");
        }
        if let Some(t) = filter.created_before {
            let at = self.bind(Param::Int(t.as_millis()));
            let id = self.bind(Param::Id(id_at(t.as_millis() + ID_SLACK_MS, true)));
            let _ = write!(self.sql, " AND created_at < {at} AND id <= {id}");
        }
        if let Some(text) = &filter.text {
            let words: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .take(MAX_WORDS)
                .collect();
            if words.is_empty() {
                self.sql.push_str(" AND 1 = 0");
            } else {
                let mark = self.bind(Param::Text(B::text_query(&words)));
                let _ = write!(self.sql, " AND {}", B::text_match(&mark));
            }
        }
        if let Some(id) = filter.retry_of {
            let mark = self.bind(Param::Id(id));
            let _ = write!(self.sql, " AND retry_of = {mark}");
        }
        if let Some(n) = filter.min_iterations {
            let mark = self.bind(Param::Int(i64::from(n)));
            let _ = write!(self.sql, " AND iterations >= {mark}");
        }
        if let Some(n) = filter.max_iterations {
            let mark = self.bind(Param::Int(i64::from(n)));
            let _ = write!(self.sql, " AND iterations <= {mark}");
        }
    }
}

/// Binds `params` to `query`, in order.
pub fn bind_all<'q, B>(
    mut query: Query<'q, B, B::Arguments>,
    params: &'q [Param],
) -> Query<'q, B, B::Arguments>
where
    B: Backend,
    for<'a> i64: sqlx::Encode<'a, B> + sqlx::Type<B>,
    for<'a> &'a str: sqlx::Encode<'a, B> + sqlx::Type<B>,
{
    for p in params {
        query = match p {
            Param::Text(s) => query.bind(s.as_str()),
            Param::Int(i) => query.bind(*i),
            Param::Id(id) => query.bind(B::id(*id)),
        };
    }
    query
}
