-- Webhooks: the job's target and event filter, the tenants' signing secrets, the outbox that
-- a trigger fills in the same transaction as the event, and the log of every delivery try.

ALTER TABLE jobs ADD COLUMN webhook_url TEXT;
-- The filter expanded to event types, comma-separated with a comma at both ends
-- (",job.succeeded,job.failed,job.cancelled,"), so the trigger matches with instr().
ALTER TABLE jobs ADD COLUMN webhook_events TEXT;

CREATE TABLE webhook_secrets (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    secret      TEXT NOT NULL PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    -- NULL: the current secret. Otherwise a rotated-out secret that still signs until then.
    expires_at  INTEGER
);

CREATE UNIQUE INDEX webhook_secrets_current ON webhook_secrets (tenant_id)
    WHERE expires_at IS NULL;

CREATE TABLE webhook_outbox (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id            TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    event_type        TEXT NOT NULL,
    url               TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'delivered', 'failed', 'gone', 'refused')),
    tries             INTEGER NOT NULL DEFAULT 0,
    next_try_at       INTEGER,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    -- The signed body, fixed at the first try so every retry sends the same bytes.
    payload           TEXT,
    created_at        INTEGER NOT NULL,
    UNIQUE (job_id, seq)
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (next_try_at) WHERE state = 'pending';

CREATE TABLE webhook_deliveries (
    outbox_id     INTEGER NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    try           INTEGER NOT NULL CHECK (try > 0),
    job_id        TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    attempted_at  INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    next_try_at   INTEGER,
    PRIMARY KEY (outbox_id, try)
);

CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, outbox_id, try);

CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
BEGIN
    INSERT INTO webhook_outbox (job_id, seq, tenant_id, event_type, url, next_try_at, created_at)
    SELECT NEW.job_id, NEW.seq, NEW.tenant_id, NEW.type, j.webhook_url, NEW.created_at,
           NEW.created_at
    FROM jobs j
    WHERE j.id = NEW.job_id AND j.webhook_url IS NOT NULL
      AND instr(j.webhook_events, ',' || NEW.type || ',') > 0;
END;
