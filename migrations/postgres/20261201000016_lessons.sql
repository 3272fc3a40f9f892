-- Lessons (issue 16): what a repaired job learned (the failure, the review, the fix), one
-- per job, found again for a later job of the same tenant and language by full-text ranking
-- over the task and the lesson. An attempt records the jobs whose lessons it was shown.
CREATE TABLE lessons (
    job_id      UUID PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    language    TEXT NOT NULL,
    task        TEXT NOT NULL,
    lesson      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX lessons_search ON lessons
    USING GIN (to_tsvector('english', task || ' ' || lesson));
CREATE INDEX lessons_tenant ON lessons (tenant_id, language, created_at);

ALTER TABLE attempts ADD COLUMN lessons JSONB;
