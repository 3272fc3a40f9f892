//! The access flags: the first run's admin key and where it is written, the rate limits of
//! the API side, and the `hone keys` sub-commands of the operator.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::DatabaseArgs;

/// A secret taken from the command line or the environment: never shown by `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Who may call the API, and how often.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Access")]
pub struct AccessArgs {
    /// An admin key (of tenant `default`, every scope) to store if it is not stored yet, for
    /// deployments that choose their first key (`hone_…`; make one with `hone keys create`
    /// against a scratch database, or take it from a secret store). Without it, the first
    /// start on a database with no key makes one, prints it once and writes it to the key
    /// file.
    #[arg(long, env = "HONE_BOOTSTRAP_KEY", hide_env_values = true)]
    pub bootstrap_key: Option<Secret>,

    /// Where the first start writes the admin key it made (mode 0600). Default: beside the
    /// SQLite database (`hone.db` → `hone.key`); with Postgres the key is only printed.
    #[arg(long, env = "HONE_KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// Read requests (GET) per minute per key, the default budget; 0 turns it off.
    #[arg(long, env = "HONE_RATE_READS_PER_MIN", default_value_t = 6000)]
    pub rate_reads_per_min: u32,

    /// Write requests (submissions, cancels, key and secret changes) per minute per key, the
    /// default budget; 0 turns it off.
    #[arg(long, env = "HONE_RATE_WRITES_PER_MIN", default_value_t = 600)]
    pub rate_writes_per_min: u32,

    /// Read requests per minute of all of a tenant's keys together; 0 turns it off.
    #[arg(long, env = "HONE_TENANT_READS_PER_MIN", default_value_t = 24_000)]
    pub tenant_reads_per_min: u32,

    /// Write requests per minute of all of a tenant's keys together; 0 turns it off.
    #[arg(long, env = "HONE_TENANT_WRITES_PER_MIN", default_value_t = 2_400)]
    pub tenant_writes_per_min: u32,

    /// Usable (neither revoked nor expired) keys a tenant may hold; `POST /v1/keys` beyond
    /// it gets `409`.
    #[arg(long, env = "HONE_MAX_KEYS_PER_TENANT", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_keys_per_tenant: u32,

    /// The secret that signs dashboard sessions (at least 32 characters). Every API process
    /// behind one address needs the same one; without it each process makes its own at
    /// start, so a restart signs everyone out.
    #[arg(long, env = "HONE_SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<Secret>,
}

/// `hone keys`: API keys, straight in the database (for bootstrapping and automation).
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key; the key is printed alone on the last line of stdout, and only there.
    Create(CreateKeyArgs),
    /// List keys (id, tenant, name, scopes, prefix, times; never the key).
    List(ListKeysArgs),
    /// Revoke a key by id; it stops working at once here, within 5 s in running servers.
    Revoke(RevokeKeyArgs),
    /// Set a key's own rate budgets; a flag left out keeps its value, `default` returns to
    /// the server's. Running servers use them within 5 s.
    SetRate(SetRateArgs),
}

/// `hone keys set-rate`.
#[derive(Debug, Args)]
pub struct SetRateArgs {
    /// The key's id (from `hone keys list`).
    pub id: String,
    /// Reads a minute (`0`: no limit), or `default`.
    #[arg(long, value_parser = parse_rate)]
    pub reads_per_min: Option<Rate>,
    /// Writes a minute (`0`: no limit), or `default`.
    #[arg(long, value_parser = parse_rate)]
    pub writes_per_min: Option<Rate>,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// A rate given on the command line: requests a minute, or `default` for the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub Option<u32>);

/// Parses a rate: a whole number, or `default`.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    if text == "default" {
        return Ok(Rate(None));
    }
    text.parse::<u32>()
        .map(|n| Rate(Some(n)))
        .map_err(|_| format!("{text:?} is not a rate: requests a minute, or default"))
}

/// `hone keys create`.
#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// The key's tenant (made if new): 1 to 64 of a-z, 0-9, `.`, `_`, `-`.
    #[arg(long)]
    pub tenant: String,
    /// Comma-separated scopes: `jobs:read`, `jobs:write`, `admin`.
    #[arg(long)]
    pub scopes: String,
    /// A label for people.
    #[arg(long)]
    pub name: String,
    /// How long the key works: a number and a unit, `s`, `m`, `h` or `d` (`90d`).
    #[arg(long, value_parser = parse_lifetime)]
    pub expires_in: Option<Duration>,
    /// The key's own reads budget, requests a minute (`0`: no limit); default: the server's.
    #[arg(long)]
    pub reads_per_min: Option<u32>,
    /// The key's own writes budget, requests a minute (`0`: no limit); default: the server's.
    #[arg(long)]
    pub writes_per_min: Option<u32>,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `hone keys list`.
#[derive(Debug, Args)]
pub struct ListKeysArgs {
    /// Only this tenant's keys.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `hone keys revoke`.
#[derive(Debug, Args)]
pub struct RevokeKeyArgs {
    /// The key's id (from `hone keys list`).
    pub id: String,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `hone tenants`: the tenants' quotas and what they use (straight in the database).
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// One line a tenant: its quotas, its queued jobs, the tokens it spent today (UTC) and
    /// what they cost.
    List(ListTenantsArgs),
    /// Set a tenant's quotas; a flag left out keeps its value, `none` removes the quota.
    SetQuota(SetQuotaArgs),
}

/// `hone tenants list`.
#[derive(Debug, Args)]
pub struct ListTenantsArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `hone tenants set-quota`.
#[derive(Debug, Args)]
pub struct SetQuotaArgs {
    /// The tenant (made by its first key).
    pub tenant: String,
    /// The most queued jobs at once (a submission beyond gets `429`), or `none`.
    #[arg(long, value_parser = parse_quota)]
    pub queued_jobs: Option<Quota>,
    /// The most model tokens a UTC day (new jobs get `429`, running jobs stop with
    /// `budget_exhausted`), or `none`.
    #[arg(long, value_parser = parse_quota)]
    pub tokens_per_day: Option<Quota>,
    /// The most dollars of model calls a UTC day, like `25` or `2.50` (new jobs get `429`,
    /// running jobs stop with `budget_exhausted`), or `none`.
    #[arg(long, value_parser = parse_dollars)]
    pub cost_usd_per_day: Option<Dollars>,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// A quota given on the command line: a number, or `none` for no quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota(pub Option<u64>);

/// Parses a quota: a whole number, or `none`.
pub fn parse_quota(text: &str) -> Result<Quota, String> {
    if text == "none" {
        return Ok(Quota(None));
    }
    text.parse::<u64>()
        .ok()
        .filter(|&n| i64::try_from(n).is_ok())
        .map(|n| Quota(Some(n)))
        .ok_or_else(|| format!("{text:?} is not a quota: a whole number, or none"))
}

/// A spend quota given on the command line: dollars, or `none` for no quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dollars(pub Option<hone_domain::Usd>);

/// Parses a spend quota: a positive number of dollars up to a million, or `none`.
pub fn parse_dollars(text: &str) -> Result<Dollars, String> {
    if text == "none" {
        return Ok(Dollars(None));
    }
    text.trim_start_matches('$')
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d > 0.0 && *d <= hone_domain::cost::MAX_BUDGET_DOLLARS)
        .map(|d| Dollars(Some(hone_domain::Usd::from_dollars(d))))
        .ok_or_else(|| format!("{text:?} is not a spend quota: dollars like 2.50, or none"))
}

/// Parses `90d`, `12h`, `30m`, `3600s`.
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration like 90d, 12h, 30m or 3600s");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_have_a_number_and_a_unit() {
        assert_eq!(parse_lifetime("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_lifetime("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_lifetime("5s"), Ok(Duration::from_secs(5)));
        for bad in ["", "d", "90", "90w", "-1d", "1.5h", "99999999999999999999d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
        assert_eq!(format!("{:?}", Secret("hone_x".into())), "Secret(…)");
    }
}
