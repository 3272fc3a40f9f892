//! The tenants' webhook signing secrets: the current one (made on first use) and rotated-out
//! ones that still sign until they expire, at most `max_active` at once.

use hone_domain::{TenantId, Timestamp};
use hone_store::{AuditAction, RotateSecret, StoreError, WebhookSecret};
use macro_rules_attribute::apply;

use crate::access::audit::{self, Audit};
use crate::rows::get;
use crate::{SqlStore, db_err, ms};

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The secrets that sign now, current first, read from `pool`.
    async fn signing(
        &self,
        pool: &sqlx::Pool<B>,
        tenant: &TenantId,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        let found = sqlx::query(
            "SELECT secret, created_at, expires_at FROM webhook_secrets \
             WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
             ORDER BY expires_at IS NOT NULL, created_at DESC",
        )
        .bind(tenant.as_str())
        .bind(self.now())
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
        found
            .iter()
            .map(|row| {
                Ok(WebhookSecret {
                    secret: get::<B, _>(row, "secret")?,
                    created_at: Timestamp::from_millis(get::<B, _>(row, "created_at")?),
                    expires_at: get::<B, Option<i64>>(row, "expires_at")?
                        .map(Timestamp::from_millis),
                })
            })
            .collect()
    }

    /// The secrets that sign now; when the tenant has no current one, `candidate` becomes it.
    pub(crate) async fn webhook_secrets(
        &self,
        tenant: &TenantId,
        candidate: &str,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        let found = self.signing(&self.pool, tenant).await?;
        if found.first().is_some_and(|s| s.expires_at.is_none()) {
            return Ok(found);
        }
        sqlx::query(
            "INSERT INTO webhook_secrets (tenant_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(candidate)
        .bind(self.now())
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        self.signing(&self.writer, tenant).await
    }

    /// Makes the rotation's secret current; the old one signs `overlap_ms` more, and beyond
    /// `max_active` the oldest stop at once. Rotations of one tenant are serialised.
    pub(crate) async fn rotate_webhook_secret(
        &self,
        tenant: &TenantId,
        rotation: RotateSecret,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        let now = self.now();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let key = format!("hone_webhook_secret:{}", tenant.as_str());
        B::lock_key(&mut tx, &key).await.map_err(db_err)?;
        // Each rotation is strictly newer than the last, even within one millisecond, so
        // "the oldest" and "current first" are never ties.
        let row = sqlx::query(
            "SELECT MAX(created_at) AS newest FROM webhook_secrets WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let newest = get::<B, Option<i64>>(&row, "newest")?;
        let created = newest.map_or(now, |n| now.max(n + 1));
        sqlx::query(
            "UPDATE webhook_secrets SET expires_at = $1 \
             WHERE tenant_id = $2 AND expires_at IS NULL",
        )
        .bind(now + ms(rotation.overlap_ms))
        .bind(tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO webhook_secrets (tenant_id, secret, created_at) VALUES ($1, $2, $3)",
        )
        .bind(tenant.as_str())
        .bind(rotation.secret.as_str())
        .bind(created)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // Beyond the cap, the oldest signing secrets stop signing now.
        sqlx::query(
            "UPDATE webhook_secrets SET expires_at = $1 \
             WHERE tenant_id = $2 AND expires_at > $1 AND secret NOT IN ( \
                SELECT secret FROM webhook_secrets \
                WHERE tenant_id = $2 AND (expires_at IS NULL OR expires_at > $1) \
                ORDER BY expires_at IS NOT NULL, created_at DESC LIMIT $3)",
        )
        .bind(now)
        .bind(tenant.as_str())
        .bind(i64::from(rotation.max_active.max(1)))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let entry = Audit {
            tenant,
            actor: rotation.by,
            action: AuditAction::SecretRotated,
            target: tenant.to_string(),
            detail: serde_json::json!({"overlap_s": rotation.overlap_ms / 1000}),
        };
        audit::record(&mut tx, entry, now).await?;
        tx.commit().await.map_err(db_err)?;
        self.signing(&self.writer, tenant).await
    }
}
