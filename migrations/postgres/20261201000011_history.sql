-- History queries (issue 12): tags, labels, model and outcome filters, full-text search over
-- the task, re-runs, and the indexes that keep a filtered page and a prune fast on a million
-- jobs.
--
-- `model` (the actor's) and `reason` (the outcome's) are generated from the stored JSON, so
-- no writer has to remember them. A job's tags and metadata entries get a row each in
-- `job_tags` and `job_labels`, written by the jobs INSERT trigger: an indexed lookup for
-- `tag=` and `metadata.KEY=` instead of a scan of every spec. A re-run (`retry_of`) marks
-- its original's `retried_as` in the same statement.
ALTER TABLE jobs
    ADD COLUMN model TEXT GENERATED ALWAYS AS (spec -> 'actor' ->> 'model') STORED,
    ADD COLUMN reason TEXT GENERATED ALWAYS AS (outcome ->> 'reason') STORED,
    ADD COLUMN retry_of UUID,
    ADD COLUMN retried_as UUID;

CREATE INDEX jobs_list_model ON jobs (tenant_id, model, id DESC);
CREATE INDEX jobs_list_reason ON jobs (tenant_id, reason, id DESC) WHERE reason IS NOT NULL;
CREATE INDEX jobs_created ON jobs (tenant_id, created_at);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;
CREATE INDEX jobs_search ON jobs USING GIN (to_tsvector('english', spec ->> 'task'));

CREATE TABLE job_tags (
    tenant_id  TEXT NOT NULL,
    tag        TEXT NOT NULL,
    job_id     UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, tag, job_id)
);
CREATE INDEX job_tags_job ON job_tags (job_id);

CREATE TABLE job_labels (
    tenant_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    job_id     UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, key, value, job_id)
);
CREATE INDEX job_labels_job ON job_labels (job_id);

INSERT INTO job_labels (tenant_id, key, value, job_id)
SELECT j.tenant_id, m.key, m.value, j.id FROM jobs j, jsonb_each_text(j.metadata) m;

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
    PERFORM pg_notify('hone_jobs', '');
    RETURN NULL;
END;
$$;
