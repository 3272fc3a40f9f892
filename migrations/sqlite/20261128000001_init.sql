-- hone's schema on SQLite. Times are unix milliseconds; JSON columns are TEXT.
-- Every table carries tenant_id so that authentication scopes queries without a schema change.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

INSERT INTO tenants (id, name, created_at) VALUES ('default', 'default', 0);

CREATE TABLE jobs (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    status              TEXT NOT NULL
                        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority            INTEGER NOT NULL DEFAULT 0,
    language            TEXT NOT NULL,
    spec                TEXT NOT NULL,
    metadata            TEXT NOT NULL DEFAULT '{}',
    idempotency_key     TEXT,
    request_fingerprint TEXT,
    iterations          INTEGER NOT NULL DEFAULT 0,
    outcome             TEXT,
    prompt_tokens       INTEGER NOT NULL DEFAULT 0,
    completion_tokens   INTEGER NOT NULL DEFAULT 0,
    total_tokens        INTEGER NOT NULL DEFAULT 0,
    last_seq            INTEGER NOT NULL DEFAULT 0,
    cancel_requested    INTEGER NOT NULL DEFAULT 0,
    lease_owner         TEXT,
    lease_expires_at    INTEGER,
    available_at        INTEGER NOT NULL,
    requeues            INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    started_at          INTEGER,
    finished_at         INTEGER,
    updated_at          INTEGER NOT NULL
);

CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_list ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_list_status ON jobs (tenant_id, status, id DESC);
CREATE INDEX jobs_claim ON jobs (status, priority DESC, id);

CREATE TABLE attempts (
    job_id       TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    iteration    INTEGER NOT NULL CHECK (iteration > 0),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    status       TEXT NOT NULL CHECK (status IN ('running', 'accepted', 'failed', 'cancelled')),
    code         TEXT,
    actor        TEXT,
    execution    TEXT,
    critique     TEXT,
    critic       TEXT,
    feedback     TEXT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    PRIMARY KEY (job_id, iteration)
);

CREATE TABLE events (
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq > 0),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE INDEX events_tenant ON events (tenant_id, created_at);
