-- API keys (issue 11). Only the key's SHA-256 is stored, with a short prefix for listings;
-- the key itself is shown once, at creation. A tenant exists once a key names it.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
