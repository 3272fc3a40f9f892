-- History queries (issue 12): tags, labels, model and outcome filters, full-text search over
-- the task, re-runs, and the indexes that keep a filtered page and a prune fast on a million
-- jobs.
--
-- `model` (the actor's) and `reason` (the outcome's) are generated from the stored JSON, so
-- no writer has to remember them. A job's tags and metadata entries get a row each in
-- `job_tags` and `job_labels`, written by INSERT triggers. The task is indexed by FTS5
-- (porter stemming, like Postgres's `english` configuration), keyed by `job_search`'s
-- INTEGER PRIMARY KEY, which unlike a plain table's rowid survives a VACUUM. A re-run
-- (`retry_of`) marks its original's `retried_as` in the same statement.
ALTER TABLE jobs ADD COLUMN model TEXT
    GENERATED ALWAYS AS (json_extract(spec, '$.actor.model')) VIRTUAL;
ALTER TABLE jobs ADD COLUMN reason TEXT
    GENERATED ALWAYS AS (json_extract(outcome, '$.reason')) VIRTUAL;
ALTER TABLE jobs ADD COLUMN retry_of TEXT;
ALTER TABLE jobs ADD COLUMN retried_as TEXT;

CREATE INDEX jobs_list_model ON jobs (tenant_id, model, id DESC);
CREATE INDEX jobs_list_reason ON jobs (tenant_id, reason, id DESC) WHERE reason IS NOT NULL;
CREATE INDEX jobs_created ON jobs (tenant_id, created_at);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;

CREATE TABLE job_tags (
    tenant_id  TEXT NOT NULL,
    tag        TEXT NOT NULL,
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, tag, job_id)
) WITHOUT ROWID;
CREATE INDEX job_tags_job ON job_tags (job_id);

CREATE TABLE job_labels (
    tenant_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, key, value, job_id)
) WITHOUT ROWID;
CREATE INDEX job_labels_job ON job_labels (job_id);

CREATE TABLE job_search (
    id      INTEGER PRIMARY KEY,
    job_id  TEXT NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE
);
CREATE VIRTUAL TABLE jobs_fts USING fts5 (
    task, content = '', contentless_delete = 1, tokenize = 'porter unicode61'
);

INSERT INTO job_labels (tenant_id, key, value, job_id)
SELECT j.tenant_id, m.key, m.value, j.id FROM jobs j, json_each(j.metadata) m;
INSERT INTO job_search (job_id) SELECT id FROM jobs;
INSERT INTO jobs_fts (rowid, task)
SELECT s.id, json_extract(j.spec, '$.task') FROM job_search s JOIN jobs j ON j.id = s.job_id;

CREATE TRIGGER jobs_indexed AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_tags (tenant_id, tag, job_id)
    SELECT NEW.tenant_id, value, NEW.id FROM json_each(NEW.spec, '$.tags');
    INSERT INTO job_labels (tenant_id, key, value, job_id)
    SELECT NEW.tenant_id, key, value, NEW.id FROM json_each(NEW.metadata);
    INSERT INTO job_search (job_id) VALUES (NEW.id);
    INSERT INTO jobs_fts (rowid, task)
    SELECT id, json_extract(NEW.spec, '$.task') FROM job_search WHERE job_id = NEW.id;
END;

CREATE TRIGGER jobs_retried AFTER INSERT ON jobs WHEN NEW.retry_of IS NOT NULL
BEGIN
    UPDATE jobs SET retried_as = NEW.id WHERE id = NEW.retry_of AND tenant_id = NEW.tenant_id;
END;

CREATE TRIGGER jobs_unindexed BEFORE DELETE ON jobs
BEGIN
    DELETE FROM jobs_fts WHERE rowid = (SELECT id FROM job_search WHERE job_id = OLD.id);
END;
