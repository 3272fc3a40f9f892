//! `hone tenants`: the operator's view of tenants, straight in the database: their quotas
//! and what they use, and setting the quotas (enforced by the database at every submission
//! and before every iteration, across processes).

use std::io::Write;

use anyhow::bail;
use hone_domain::TenantId;
use hone_store::{TenantQuotas, TenantUsage};

use crate::config::TenantsCommand;

fn quota(q: Option<u64>) -> String {
    q.map_or_else(|| "none".to_owned(), |n| n.to_string())
}

fn describe(t: &TenantUsage) -> String {
    let spend = t
        .quotas
        .max_cost_usd_per_day
        .map_or_else(|| "none".to_owned(), |d| d.to_string());
    format!(
        "{}  queued {} of {}  tokens today {} of {}  spent today {} of {}",
        t.tenant,
        t.queued_jobs,
        quota(t.quotas.max_queued_jobs),
        t.tokens_today,
        quota(t.quotas.max_tokens_per_day),
        t.cost_usd_today,
        spend,
    )
}

/// Runs a `hone tenants` sub-command.
pub async fn run(command: TenantsCommand) -> anyhow::Result<()> {
    match command {
        TenantsCommand::List(args) => {
            let store = crate::store::connect(&args.database.database_url).await?;
            let mut out = std::io::stdout().lock();
            for tenant in store.tenant_usage(None).await? {
                writeln!(out, "{}", describe(&tenant))?;
            }
            Ok(())
        }
        TenantsCommand::SetQuota(args) => {
            let tenant =
                TenantId::parse(&args.tenant).map_err(|e| anyhow::anyhow!("TENANT: {e}"))?;
            let store = crate::store::connect(&args.database.database_url).await?;
            let Some(now) = store.tenant_usage(Some(&tenant)).await?.pop() else {
                bail!("no tenant {tenant}: a tenant exists once a key names it (hone keys create)");
            };
            let quotas = TenantQuotas {
                max_queued_jobs: args.queued_jobs.map_or(now.quotas.max_queued_jobs, |q| q.0),
                max_tokens_per_day: args
                    .tokens_per_day
                    .map_or(now.quotas.max_tokens_per_day, |q| q.0),
                max_cost_usd_per_day: args
                    .cost_usd_per_day
                    .map_or(now.quotas.max_cost_usd_per_day, |d| d.0),
            };
            if !store.set_quotas(&tenant, quotas).await? {
                bail!("no tenant {tenant}");
            }
            if let Some(after) = store.tenant_usage(Some(&tenant)).await?.pop() {
                println!("{}", describe(&after));
            }
            Ok(())
        }
    }
}
