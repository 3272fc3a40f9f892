//! API keys: found by hash only, listed without the hash, revoked within their tenant, and a
//! tenant made by its first key.

use std::sync::Arc;
use std::time::Duration;

use hone_domain::apikey::{self, Scope};
use hone_domain::{KeyId, TenantId};

use crate::{Actor, AuditAction, AuditPage, Clock, ManualClock, NewKey, Store};

/// A key of `tenant` to store (and so the tenant), for cases that need a second tenant.
pub(crate) fn key_for(tenant: &str, clock: &ManualClock) -> NewKey {
    new_key(tenant, 9, None, clock).1
}

fn new_key(
    tenant: &str,
    entropy: u8,
    expires_in: Option<Duration>,
    clock: &ManualClock,
) -> (String, NewKey) {
    let key = apikey::format_key([entropy; 16]);
    let expires_at = expires_in.map(|d| {
        hone_domain::Timestamp::from_millis(
            clock.now().as_millis() + i64::try_from(d.as_millis()).unwrap_or(0),
        )
    });
    let new = NewKey {
        id: KeyId::new(),
        tenant: TenantId(tenant.to_owned()),
        name: format!("key {entropy}"),
        scopes: vec![Scope::JobsRead, Scope::JobsWrite],
        hash: apikey::hash(&key),
        prefix: apikey::shown_prefix(&key).to_owned(),
        expires_at,
        created_by: Actor::Operator,
        rates: crate::KeyRates::default(),
    };
    (key, new)
}

/// A key is found by its hash, shows only its prefix, expires and is revoked within its own
/// tenant; another tenant cannot revoke it.
pub async fn keys_are_found_by_hash_and_revoked_within_their_tenant(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
) {
    let (key_a, new_a) = new_key("tenant-a", 1, None, &clock);
    let (key_b, new_b) = new_key("tenant-b", 2, Some(Duration::from_secs(60)), &clock);
    let a = store.create_key(new_a.clone()).await.expect("create a");
    let b = store.create_key(new_b).await.expect("create b");
    assert_eq!(a.id, new_a.id);
    assert_eq!(a.scopes, vec![Scope::JobsRead, Scope::JobsWrite]);
    assert_eq!(a.prefix, apikey::shown_prefix(&key_a));

    let found = store.find_key(&apikey::hash(&key_a)).await.expect("find");
    assert_eq!(found.as_ref().map(|k| k.id), Some(a.id));
    assert!(
        store
            .find_key(&apikey::hash("hone_nope"))
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store.find_key(&key_a).await.expect("find").is_none(),
        "the key itself is not stored"
    );

    // Expiry is the caller's check, against the store's clock.
    let found_b = store
        .find_key(&apikey::hash(&key_b))
        .await
        .expect("find")
        .expect("b");
    assert!(found_b.usable_at(clock.now()));
    clock.advance(Duration::from_secs(61));
    assert!(!found_b.usable_at(clock.now()));

    let listed = store
        .list_keys(Some(&TenantId("tenant-a".into())))
        .await
        .expect("list");
    assert_eq!(listed.iter().map(|k| k.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!(store.list_keys(None).await.expect("list all").len(), 2);

    // Tenant B cannot revoke tenant A's key; tenant A (or the operator) can, once.
    let other = TenantId("tenant-b".into());
    assert!(
        store
            .revoke_key(Some(&other), a.id, Actor::Key(b.id))
            .await
            .expect("revoke")
            .is_none()
    );
    let revoked = store
        .revoke_key(Some(&TenantId("tenant-a".into())), a.id, Actor::Key(a.id))
        .await
        .expect("revoke")
        .expect("a");
    let first = revoked.revoked_at.expect("revoked");
    clock.advance(Duration::from_secs(5));
    let again = store
        .revoke_key(None, a.id, Actor::Operator)
        .await
        .expect("revoke")
        .expect("a");
    assert_eq!(
        again.revoked_at,
        Some(first),
        "the first revocation time stays"
    );
    assert!(!again.usable_at(clock.now()));
    assert!(
        store
            .revoke_key(None, KeyId::new(), Actor::Operator)
            .await
            .expect("revoke")
            .is_none()
    );
    assert_eq!(b.tenant, other);

    // The audit log: each tenant's own changes, newest first; the second revocation and
    // tenant B's failed one are not changes.
    let page = |before| AuditPage { before, limit: 10 };
    let a_log = store
        .list_audit(&TenantId("tenant-a".into()), page(None))
        .await
        .expect("audit");
    let actions: Vec<AuditAction> = a_log.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![AuditAction::KeyRevoked, AuditAction::KeyCreated]
    );
    assert_eq!(a_log[0].actor, format!("key:{}", a.id));
    assert_eq!(a_log[0].target, a.id.to_string());
    assert_eq!(a_log[0].at, first);
    assert_eq!(a_log[1].actor, "operator");
    assert_eq!(
        a_log[1].detail["scopes"],
        serde_json::json!(["jobs:read", "jobs:write"])
    );
    let older = store
        .list_audit(&TenantId("tenant-a".into()), page(Some(a_log[0].id)))
        .await
        .expect("audit");
    assert_eq!(
        older.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![a_log[1].id]
    );
    // The operator's own budgets for a key: stored, listed, audited.
    let rates = crate::KeyRates {
        reads_per_min: Some(5),
        writes_per_min: Some(0),
    };
    let set = store
        .set_key_rates(b.id, rates, Actor::Operator)
        .await
        .expect("set rates")
        .expect("b");
    assert_eq!(set.rates, rates);
    let found = store
        .find_key(&apikey::hash(&key_b))
        .await
        .expect("find")
        .expect("b");
    assert_eq!(found.rates, rates);
    assert!(
        store
            .set_key_rates(KeyId::new(), rates, Actor::Operator)
            .await
            .expect("set rates")
            .is_none()
    );
    let b_log = store.list_audit(&other, page(None)).await.expect("audit");
    let b_actions: Vec<AuditAction> = b_log.iter().map(|e| e.action).collect();
    assert_eq!(
        b_actions,
        vec![AuditAction::KeyRatesSet, AuditAction::KeyCreated]
    );
    assert_eq!(b_log[0].detail["reads_per_min"], 5);
    assert_eq!(b_log[1].target, b.id.to_string());
}

/// The first key is made once, and only while there is no key; usage times only move
/// forward.
pub async fn first_key_is_made_once_and_usage_only_moves_forward(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
) {
    let (_, first) = new_key("default", 3, None, &clock);
    let (_, second) = new_key("default", 4, None, &clock);
    let made = store
        .create_first_key(first.clone())
        .await
        .expect("first key");
    assert_eq!(made.map(|k| k.id), Some(first.id));
    assert!(
        store
            .create_first_key(second)
            .await
            .expect("second try")
            .is_none(),
        "a key exists: no second first key"
    );
    assert_eq!(store.list_keys(None).await.expect("list").len(), 1);

    let later = clock.now();
    clock.advance(Duration::from_secs(10));
    let latest = clock.now();
    store
        .touch_keys(&[(first.id, latest)])
        .await
        .expect("touch");
    store.touch_keys(&[(first.id, later)]).await.expect("touch");
    store.touch_keys(&[]).await.expect("touch nothing");
    let listed = store.list_keys(None).await.expect("list");
    assert_eq!(
        listed[0].last_used_at,
        Some(latest),
        "an earlier time loses"
    );
}
