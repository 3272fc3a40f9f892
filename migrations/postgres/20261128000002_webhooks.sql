-- Webhooks: the job's target and event filter, the tenants' signing secrets, the outbox that
-- a trigger fills in the same transaction as the event, and the log of every delivery try.
-- The same trigger sends NOTIFY hone_events '<job id> <seq>' so that SSE clients of any API
-- process and the webhook dispatchers of any worker hear of the event at commit.

ALTER TABLE jobs ADD COLUMN webhook_url TEXT;
-- The filter expanded to event types, comma-separated with a comma at both ends
-- (',job.succeeded,job.failed,job.cancelled,').
ALTER TABLE jobs ADD COLUMN webhook_events TEXT;

CREATE TABLE webhook_secrets (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    secret      TEXT NOT NULL PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    -- NULL: the current secret. Otherwise a rotated-out secret that still signs until then.
    expires_at  BIGINT
);

CREATE UNIQUE INDEX webhook_secrets_current ON webhook_secrets (tenant_id)
    WHERE expires_at IS NULL;

CREATE TABLE webhook_outbox (
    id                BIGSERIAL PRIMARY KEY,
    job_id            UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq               BIGINT NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    event_type        TEXT NOT NULL,
    url               TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'delivered', 'failed', 'gone', 'refused')),
    tries             INTEGER NOT NULL DEFAULT 0,
    next_try_at       BIGINT,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    -- The signed body, fixed at the first try so every retry sends the same bytes.
    payload           TEXT,
    created_at        BIGINT NOT NULL,
    UNIQUE (job_id, seq)
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (next_try_at) WHERE state = 'pending';

CREATE TABLE webhook_deliveries (
    outbox_id     BIGINT NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    try           INTEGER NOT NULL CHECK (try > 0),
    job_id        UUID NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    attempted_at  BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    next_try_at   BIGINT,
    PRIMARY KEY (outbox_id, try)
);

CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, outbox_id, try);

CREATE FUNCTION hone_event_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_outbox (job_id, seq, tenant_id, event_type, url, next_try_at, created_at)
    SELECT NEW.job_id, NEW.seq, NEW.tenant_id, NEW.type, j.webhook_url, NEW.created_at,
           NEW.created_at
    FROM jobs j
    WHERE j.id = NEW.job_id AND j.webhook_url IS NOT NULL
      AND strpos(j.webhook_events, ',' || NEW.type || ',') > 0;
    PERFORM pg_notify('hone_events', NEW.job_id::text || ' ' || NEW.seq::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_appended AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION hone_event_appended();
