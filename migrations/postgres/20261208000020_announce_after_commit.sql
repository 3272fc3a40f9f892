-- Announcements leave the writing transaction (issue 27). Postgres serialises the commits of
-- every transaction that sends a `NOTIFY`, which halved single-submission throughput; the
-- store now sends its notifications right after the commit, many callers' at once in one
-- statement (`hone-store-sql`, backend/notifier.rs). The triggers keep writing the rows
-- (the `job.queued` event, tags, labels, re-run marks, webhook outbox rows) and no longer
-- notify.
CREATE OR REPLACE FUNCTION hone_jobs_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (job_id, seq, tenant_id, type, data, created_at)
    SELECT id, 1, tenant_id, 'job.queued', '{"status": "queued"}', created_at FROM new_jobs;
    INSERT INTO job_tags (tenant_id, tag, job_id)
    SELECT j.tenant_id, t.tag, j.id
    FROM new_jobs j, jsonb_array_elements_text(j.spec -> 'tags') AS t (tag)
    WHERE jsonb_typeof(j.spec -> 'tags') = 'array';
    INSERT INTO job_labels (tenant_id, key, value, job_id)
    SELECT j.tenant_id, m.key, m.value, j.id
    FROM new_jobs j, jsonb_each_text(j.metadata) AS m
    WHERE j.metadata <> '{}'::jsonb;
    UPDATE jobs j SET retried_as = n.id
    FROM new_jobs n
    WHERE n.retry_of IS NOT NULL AND j.id = n.retry_of AND j.tenant_id = n.tenant_id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION hone_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_outbox (job_id, seq, tenant_id, event_type, url, next_try_at, created_at)
    SELECT e.job_id, e.seq, e.tenant_id, e.type, j.webhook_url, e.created_at, e.created_at
    FROM new_events e JOIN jobs j ON j.id = e.job_id
    WHERE j.webhook_url IS NOT NULL
      AND strpos(j.webhook_events, ',' || e.type || ',') > 0;
    RETURN NULL;
END;
$$;
