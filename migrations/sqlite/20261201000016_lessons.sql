-- Lessons (issue 16): what a repaired job learned (the failure, the review, the fix), one
-- per job, found again for a later job of the same tenant and language by FTS5 ranking
-- (bm25, porter stemming) over the task and the lesson. An attempt records the jobs whose
-- lessons it was shown.
CREATE TABLE lessons (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    language    TEXT NOT NULL,
    task        TEXT NOT NULL,
    lesson      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE VIRTUAL TABLE lessons_fts USING fts5 (
    task, lesson, content = 'lessons', content_rowid = 'id', tokenize = 'porter unicode61'
);
CREATE TRIGGER lessons_indexed AFTER INSERT ON lessons
BEGIN
    INSERT INTO lessons_fts (rowid, task, lesson) VALUES (NEW.id, NEW.task, NEW.lesson);
END;
CREATE TRIGGER lessons_unindexed AFTER DELETE ON lessons
BEGIN
    INSERT INTO lessons_fts (lessons_fts, rowid, task, lesson)
    VALUES ('delete', OLD.id, OLD.task, OLD.lesson);
END;

ALTER TABLE attempts ADD COLUMN lessons TEXT;
