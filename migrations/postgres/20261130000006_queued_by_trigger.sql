-- A job's `job.queued` event is written by the job's INSERT itself, so submitting a job is one
-- statement (one round trip, its own transaction) instead of BEGIN, two INSERTs, NOTIFY and
-- COMMIT. Statement-level triggers with transition tables: a batch INSERT of a thousand jobs
-- appends their events, outbox rows and notifications in one pass, not row by row.

CREATE FUNCTION hone_jobs_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (job_id, seq, tenant_id, type, data, created_at)
    SELECT id, 1, tenant_id, 'job.queued', '{"status": "queued"}', created_at FROM new_jobs;
    PERFORM pg_notify('hone_jobs', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_queued AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION hone_jobs_queued();

-- The events trigger, per statement: the webhook outbox rows of all new events in one
-- INSERT, then one notification per event for the live hubs.
DROP TRIGGER events_appended ON events;
DROP FUNCTION hone_event_appended();

CREATE FUNCTION hone_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_outbox (job_id, seq, tenant_id, event_type, url, next_try_at, created_at)
    SELECT e.job_id, e.seq, e.tenant_id, e.type, j.webhook_url, e.created_at, e.created_at
    FROM new_events e JOIN jobs j ON j.id = e.job_id
    WHERE j.webhook_url IS NOT NULL
      AND strpos(j.webhook_events, ',' || e.type || ',') > 0;
    PERFORM pg_notify('hone_events', job_id::text || ' ' || seq::text)
    FROM new_events ORDER BY job_id, seq;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_appended AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION hone_events_appended();
