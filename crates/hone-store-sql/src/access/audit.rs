//! The audit log: an entry appended inside the transaction of the change it records (a key
//! made or revoked, a webhook secret rotated), and the tenant's entries read back newest
//! first.

use hone_domain::{TenantId, Timestamp};
use hone_store::{Actor, AuditAction, AuditEntry, AuditPage, StoreError};
use macro_rules_attribute::apply;

use crate::rows::get;
use crate::{SqlStore, db_err};

/// One change to record.
pub(crate) struct Audit<'a> {
    pub tenant: &'a TenantId,
    pub actor: Actor,
    pub action: AuditAction,
    pub target: String,
    pub detail: serde_json::Value,
}

/// Appends `entry` inside `tx`, at `at`.
#[apply(sql)]
pub(crate) async fn record<B>(
    tx: &mut sqlx::Transaction<'_, B>,
    entry: Audit<'_>,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, at, actor, action, target, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string().as_str())
    .bind(entry.tenant.as_str())
    .bind(at)
    .bind(entry.actor.to_string().as_str())
    .bind(entry.action.as_str())
    .bind(entry.target.as_str())
    .bind(entry.detail.to_string().as_str())
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// A page of the tenant's audit log, newest first.
    pub(crate) async fn list_audit(
        &self,
        tenant: &TenantId,
        page: AuditPage,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let before = page.before.map(|id| id.to_string());
        let rows = sqlx::query(
            "SELECT id, tenant_id, at, actor, action, target, detail FROM audit_log \
             WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(before.as_deref())
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let id: String = get::<B, _>(row, "id")?;
                let action: String = get::<B, _>(row, "action")?;
                let detail: String = get::<B, _>(row, "detail")?;
                Ok(AuditEntry {
                    id: id.parse().map_err(|e| StoreError::corrupt("audit id", e))?,
                    tenant: TenantId(get::<B, _>(row, "tenant_id")?),
                    at: Timestamp::from_millis(get::<B, _>(row, "at")?),
                    actor: get::<B, _>(row, "actor")?,
                    action: AuditAction::parse(&action).ok_or_else(|| {
                        StoreError::corrupt("audit action", UnknownAction(action.clone()))
                    })?,
                    target: get::<B, _>(row, "target")?,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::corrupt("audit detail", e))?,
                })
            })
            .collect()
    }
}

#[derive(Debug)]
struct UnknownAction(String);

impl std::fmt::Display for UnknownAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown audit action {:?}", self.0)
    }
}

impl std::error::Error for UnknownAction {}
