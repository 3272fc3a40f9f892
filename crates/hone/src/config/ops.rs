//! The operations group: where metrics are scraped and how long finished jobs are kept.

use std::net::SocketAddr;

use clap::Args;

/// Metrics and retention.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Operations")]
pub struct OpsArgs {
    /// Serve `GET /metrics` (Prometheus) on this address, for scrapers inside the cluster,
    /// instead of on the API's listener. A worker process serves metrics only here.
    #[arg(long, env = "HONE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Delete finished jobs (with their attempts, events and webhook deliveries) older than
    /// this many days, checked hourly, in small batches. Off unless set.
    #[arg(long, env = "HONE_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub retention_days: Option<u32>,
}

/// `hone prune`: delete old finished jobs.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete finished jobs that ended longer ago than this: a number and a unit, `s`, `m`,
    /// `h` or `d` (`30d`).
    #[arg(long, value_parser = crate::config::parse_lifetime)]
    pub older_than: std::time::Duration,
    /// Only say how many jobs would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// The database.
    #[command(flatten)]
    pub database: crate::config::DatabaseArgs,
}
