//! Keys outside the API: the first run's admin key, and the `hone keys` sub-commands that an
//! operator (or a deployment script) runs against the database directly.
//!
//! On a start with an API side, [`ensure_admin_key`] makes sure someone can call the API:
//! `HONE_BOOTSTRAP_KEY` is stored if it is not yet; otherwise, if the database holds no key
//! at all, an admin key of tenant `default` is made, printed once on stdout and written to
//! the key file (mode 0600) beside the SQLite database, where the README's `curl` lines read
//! it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hone_api::auth::issue::{KeyRequest, bootstrap, issue};
use hone_domain::apikey::{Scope, parse_scopes};
use hone_domain::{KeyId, TenantId, Timestamp};
use hone_store::{Actor, KeyInfo, KeyRates, Store};

use crate::config::{AccessArgs, CreateKeyArgs, KeysCommand, SetRateArgs};

/// Where the first admin key is written: `--key-file`, else beside a SQLite database file
/// (`hone.db` → `hone.key`); `None` for Postgres and in-memory SQLite.
pub fn key_file(args: &AccessArgs, database_url: &str) -> Option<PathBuf> {
    if let Some(path) = &args.key_file {
        return Some(path.clone());
    }
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(Path::new(path).with_extension("key"))
}

fn write_key_file(path: &Path, key: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{key}")
}

/// Makes sure the API can be called; see the module header.
pub async fn ensure_admin_key(
    store: &dyn Store,
    args: &AccessArgs,
    database_url: &str,
) -> anyhow::Result<()> {
    if let Some(key) = &args.bootstrap_key {
        let stored = bootstrap(key.expose().trim())
            .map_err(|e| anyhow::anyhow!("HONE_BOOTSTRAP_KEY is not a hone API key: {e}"))?;
        if store.find_key(&stored.hash).await?.is_some() {
            return Ok(());
        }
        let hash = stored.hash.clone();
        match store.create_key(stored).await {
            Ok(info) => {
                tracing::info!(key = %info.id, "HONE_BOOTSTRAP_KEY stored: an admin key of tenant default");
            }
            // API processes starting together with the same key: another one stored it
            // between the lookup and the insert (the hash is unique).
            Err(e) if store.find_key(&hash).await?.is_some() => {
                tracing::debug!(error = %e, "HONE_BOOTSTRAP_KEY stored by another process");
            }
            Err(e) => return Err(e.into()),
        }
        return Ok(());
    }
    let request = KeyRequest {
        tenant: TenantId::default_tenant(),
        name: "first-run admin".to_owned(),
        scopes: Scope::ALL.to_vec(),
        expires_in: None,
        by: Actor::Bootstrap,
    };
    let issued = issue(request, Timestamp::now()).map_err(|e| anyhow::anyhow!(e.message))?;
    let Some(info) = store.create_first_key(issued.stored).await? else {
        return Ok(());
    };
    let file = key_file(args, database_url);
    let written = match &file {
        Some(path) => match write_key_file(path, &issued.key) {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the key file");
                None
            }
        },
        None => None,
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nhone: the database had no API key, so this admin key (tenant default, every scope, \
         id {}) was made. It is shown this once{}:\n\n    {}\n",
        info.id,
        written.map_or(String::new(), |p| format!(
            " and kept in {} (mode 0600)",
            p.display()
        )),
        issued.key
    )?;
    out.flush()?;
    Ok(())
}

fn describe(key: &KeyInfo) -> String {
    let at = |t: Option<Timestamp>| t.map_or("-".to_owned(), Timestamp::to_rfc3339);
    let rate = |r: Option<u32>| r.map_or("default".to_owned(), |n| n.to_string());
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
    format!(
        "{}  {}  {}  {}  {}…  created {}  expires {}  revoked {}  last used {}  \
         reads/min {}  writes/min {}",
        key.id,
        key.tenant,
        key.name,
        scopes.join(","),
        key.prefix,
        key.created_at.to_rfc3339(),
        at(key.expires_at),
        at(key.revoked_at),
        at(key.last_used_at),
        rate(key.rates.reads_per_min),
        rate(key.rates.writes_per_min),
    )
}

async fn set_rate(args: SetRateArgs) -> anyhow::Result<()> {
    let id: KeyId = args
        .id
        .parse()
        .with_context(|| format!("{:?} is not a key id", args.id))?;
    let store = crate::store::connect(&args.database.database_url).await?;
    let Some(now) = store
        .list_keys(None)
        .await?
        .into_iter()
        .find(|k| k.id == id)
    else {
        bail!("no key with id {id}");
    };
    let rates = KeyRates {
        reads_per_min: args.reads_per_min.map_or(now.rates.reads_per_min, |r| r.0),
        writes_per_min: args
            .writes_per_min
            .map_or(now.rates.writes_per_min, |r| r.0),
    };
    match store.set_key_rates(id, rates, Actor::Operator).await? {
        Some(key) => {
            println!("{}", describe(&key));
            Ok(())
        }
        None => bail!("no key with id {id}"),
    }
}

async fn create(store: &dyn Store, args: CreateKeyArgs) -> anyhow::Result<()> {
    let tenant = TenantId::parse(&args.tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let scopes = parse_scopes(&args.scopes).map_err(|e| anyhow::anyhow!("--scopes: {e}"))?;
    let request = KeyRequest {
        tenant,
        name: args.name,
        scopes,
        expires_in: args.expires_in,
        by: Actor::Operator,
    };
    let mut issued = issue(request, Timestamp::now())
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.message))?;
    issued.stored.rates = KeyRates {
        reads_per_min: args.reads_per_min,
        writes_per_min: args.writes_per_min,
    };
    let info = store.create_key(issued.stored).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", describe(&info))?;
    writeln!(out, "{}", issued.key)?;
    Ok(())
}

/// Runs a `hone keys` sub-command.
pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create(args) => {
            let store = crate::store::connect(&args.database.database_url).await?;
            create(store.as_ref(), args).await
        }
        KeysCommand::List(args) => {
            let store = crate::store::connect(&args.database.database_url).await?;
            let tenant = args
                .tenant
                .as_deref()
                .map(TenantId::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
            let mut out = std::io::stdout().lock();
            for key in store.list_keys(tenant.as_ref()).await? {
                writeln!(out, "{}", describe(&key))?;
            }
            Ok(())
        }
        KeysCommand::SetRate(args) => set_rate(args).await,
        KeysCommand::Revoke(args) => {
            let id: KeyId = args
                .id
                .parse()
                .with_context(|| format!("{:?} is not a key id", args.id))?;
            let store = crate::store::connect(&args.database.database_url).await?;
            match store.revoke_key(None, id, Actor::Operator).await? {
                Some(key) => {
                    println!("{}", describe(&key));
                    Ok(())
                }
                None => bail!("no key with id {id}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(key_file: Option<&str>) -> AccessArgs {
        AccessArgs {
            bootstrap_key: None,
            key_file: key_file.map(PathBuf::from),
            rate_reads_per_min: 0,
            rate_writes_per_min: 0,
            tenant_reads_per_min: 0,
            tenant_writes_per_min: 0,
            max_keys_per_tenant: 100,
            session_secret: None,
        }
    }

    #[test]
    fn the_key_file_sits_beside_a_sqlite_file_only() {
        let f = |url: &str| key_file(&args(None), url);
        assert_eq!(f("sqlite://hone.db"), Some(PathBuf::from("hone.key")));
        assert_eq!(
            f("sqlite:///var/lib/hone/data.sqlite?mode=rwc"),
            Some(PathBuf::from("/var/lib/hone/data.key"))
        );
        assert_eq!(f("sqlite::memory:"), None);
        assert_eq!(f("postgres://u@h/db"), None);
        assert_eq!(
            key_file(&args(Some("/run/k")), "postgres://u@h/db"),
            Some(PathBuf::from("/run/k"))
        );
    }
}
