//! API keys: stored by hash, found by hash, listed and revoked within a tenant. A key's
//! tenant is created with its first key.

use hone_domain::apikey::{Scope, parse_scopes};
use hone_domain::{KeyId, TenantId, Timestamp};
use hone_store::{Actor, AuditAction, KeyInfo, KeyRates, NewKey, StoreError};
use macro_rules_attribute::apply;

use subtle::ConstantTimeEq;

use crate::access::audit::{self, Audit};
use crate::rows::get;
use crate::{SqlStore, db_err};

const KEY_COLUMNS: &str = "id, tenant_id, name, scopes, prefix, created_at, expires_at, \
     revoked_at, last_used_at, reads_per_min, writes_per_min";

fn rate(v: Option<i64>) -> Option<u32> {
    v.map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[apply(sql)]
impl<B> SqlStore<B> {
    fn key_row(row: &B::Row) -> Result<KeyInfo, StoreError> {
        let id: String = get::<B, _>(row, "id")?;
        let scopes: String = get::<B, _>(row, "scopes")?;
        let at = |col: &str| -> Result<Option<Timestamp>, StoreError> {
            let ms: Option<i64> = get::<B, _>(row, col)?;
            Ok(ms.map(Timestamp::from_millis))
        };
        Ok(KeyInfo {
            id: id.parse().map_err(|e| StoreError::corrupt("key id", e))?,
            tenant: TenantId(get::<B, _>(row, "tenant_id")?),
            name: get::<B, _>(row, "name")?,
            scopes: parse_scopes(&scopes).map_err(|e| StoreError::corrupt("key scopes", e))?,
            prefix: get::<B, _>(row, "prefix")?,
            created_at: Timestamp::from_millis(get::<B, _>(row, "created_at")?),
            expires_at: at("expires_at")?,
            revoked_at: at("revoked_at")?,
            last_used_at: at("last_used_at")?,
            rates: KeyRates {
                reads_per_min: rate(get::<B, _>(row, "reads_per_min")?),
                writes_per_min: rate(get::<B, _>(row, "writes_per_min")?),
            },
        })
    }

    /// Stores a key, and its tenant if it is new, in one transaction.
    pub(crate) async fn create_key(&self, key: NewKey) -> Result<KeyInfo, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let info = self.insert_key(&mut tx, &key).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(info)
    }

    /// Stores `key` only if the database holds no key yet, under a lock so that processes
    /// starting together make one first key between them.
    pub(crate) async fn create_first_key(
        &self,
        key: NewKey,
    ) -> Result<Option<KeyInfo>, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        B::lock_key(&mut tx, "hone:first-key")
            .await
            .map_err(db_err)?;
        let any = sqlx::query("SELECT 1 FROM api_keys LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if any.is_some() {
            return Ok(None);
        }
        let info = self.insert_key(&mut tx, &key).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(info))
    }

    async fn insert_key(
        &self,
        tx: &mut sqlx::Transaction<'_, B>,
        key: &NewKey,
    ) -> Result<KeyInfo, StoreError> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(key.tenant.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
        let sql = format!(
            "INSERT INTO api_keys (id, tenant_id, name, scopes, key_hash, prefix, created_at, \
             expires_at, reads_per_min, writes_per_min) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key.id.to_string().as_str())
            .bind(key.tenant.as_str())
            .bind(key.name.as_str())
            .bind(scopes_text(&key.scopes).as_str())
            .bind(key.hash.as_str())
            .bind(key.prefix.as_str())
            .bind(now)
            .bind(key.expires_at.map(Timestamp::as_millis))
            .bind(key.rates.reads_per_min.map(i64::from))
            .bind(key.rates.writes_per_min.map(i64::from))
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
        let info = Self::key_row(&row)?;
        let scopes: Vec<&str> = info.scopes.iter().map(|s| s.as_str()).collect();
        let entry = Audit {
            tenant: &info.tenant,
            actor: key.created_by,
            action: AuditAction::KeyCreated,
            target: info.id.to_string(),
            detail: serde_json::json!({
                "name": info.name,
                "scopes": scopes,
                "expires_at": info.expires_at,
            }),
        };
        audit::record(tx, entry, now).await?;
        Ok(info)
    }

    /// Records when keys were last used, in one transaction; a later time wins.
    pub(crate) async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        for (id, at) in used {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $1 \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
            )
            .bind(at.as_millis())
            .bind(id.to_string().as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// The key stored with `hash`: found by index, then compared in constant time, so the
    /// comparison leaks nothing of a stored hash whatever the database's collation does.
    pub(crate) async fn find_key(&self, hash: &str) -> Result<Option<KeyInfo>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS}, key_hash FROM api_keys WHERE key_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = get::<B, _>(&row, "key_hash")?;
        if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(None);
        }
        Self::key_row(&row).map(Some)
    }

    /// The keys of `tenant` (or of all tenants), oldest first.
    pub(crate) async fn list_keys(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<KeyInfo>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE $1 IS NULL OR tenant_id = $1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.map(TenantId::as_str))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(Self::key_row).collect()
    }

    /// Revokes a key (within `tenant`, when given); the first revocation time stays, and only
    /// the first revocation is audited.
    pub(crate) async fn revoke_key(
        &self,
        tenant: Option<&TenantId>,
        id: KeyId,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError> {
        let now = self.now();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let sql = format!(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND ($3 IS NULL OR tenant_id = $3) AND revoked_at IS NULL \
             RETURNING {KEY_COLUMNS}"
        );
        let revoked = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(id.to_string().as_str())
            .bind(tenant.map(TenantId::as_str))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let info = match revoked {
            Some(row) => {
                let info = Self::key_row(&row)?;
                let entry = Audit {
                    tenant: &info.tenant,
                    actor: by,
                    action: AuditAction::KeyRevoked,
                    target: info.id.to_string(),
                    detail: serde_json::json!({"name": info.name}),
                };
                audit::record(&mut tx, entry, now).await?;
                Some(info)
            }
            None => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys \
                     WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2)"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.to_string().as_str())
                    .bind(tenant.map(TenantId::as_str))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(Self::key_row).transpose()?
            }
        };
        tx.commit().await.map_err(db_err)?;
        Ok(info)
    }

    /// Sets a key's own rate budgets, with its `key.rates_set` audit entry.
    pub(crate) async fn set_key_rates(
        &self,
        id: KeyId,
        rates: KeyRates,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError> {
        let now = self.now();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let sql = format!(
            "UPDATE api_keys SET reads_per_min = $1, writes_per_min = $2 WHERE id = $3 \
             RETURNING {KEY_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rates.reads_per_min.map(i64::from))
            .bind(rates.writes_per_min.map(i64::from))
            .bind(id.to_string().as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let info = Self::key_row(&row)?;
        let entry = Audit {
            tenant: &info.tenant,
            actor: by,
            action: AuditAction::KeyRatesSet,
            target: info.id.to_string(),
            detail: serde_json::json!(rates),
        };
        audit::record(&mut tx, entry, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(info))
    }
}
