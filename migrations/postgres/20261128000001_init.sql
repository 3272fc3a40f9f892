-- hone's schema on Postgres. Times are unix milliseconds (BIGINT) as on SQLite, so both
-- backends sort and compare them the same way.
-- Every table carries tenant_id so that authentication scopes queries without a schema change.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

INSERT INTO tenants (id, name, created_at) VALUES ('default', 'default', 0);

CREATE TABLE jobs (
    id                  UUID PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    status              TEXT NOT NULL
                        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority            INTEGER NOT NULL DEFAULT 0,
    language            TEXT NOT NULL,
    spec                JSONB NOT NULL,
    metadata            JSONB NOT NULL DEFAULT '{}',
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    iterations          INTEGER NOT NULL DEFAULT 0,
    outcome             JSONB,
    prompt_tokens       BIGINT NOT NULL DEFAULT 0,
    completion_tokens   BIGINT NOT NULL DEFAULT 0,
    total_tokens        BIGINT NOT NULL DEFAULT 0,
    last_seq            BIGINT NOT NULL DEFAULT 0,
    cancel_requested    BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner         TEXT,
    lease_expires_at    BIGINT,
    available_at        BIGINT NOT NULL,
    requeues            INTEGER NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    started_at          BIGINT,
    finished_at         BIGINT,
    updated_at          BIGINT NOT NULL
);

CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_list ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_list_status ON jobs (tenant_id, status, id DESC);
CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE status IN ('queued', 'running');

CREATE TABLE attempts (
    job_id       UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    iteration    INTEGER NOT NULL CHECK (iteration > 0),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    status       TEXT NOT NULL CHECK (status IN ('running', 'accepted', 'failed', 'cancelled')),
    code         TEXT,
    actor        JSONB,
    execution    JSONB,
    critique     JSONB,
    critic       JSONB,
    feedback     JSONB,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (job_id, iteration)
);

CREATE TABLE events (
    job_id      UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL CHECK (seq > 0),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    type        TEXT NOT NULL,
    data        JSONB NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE INDEX events_tenant ON events (tenant_id, created_at);
