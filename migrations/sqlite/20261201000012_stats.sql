-- Stats (issue 12): what `GET /v1/stats` aggregates over attempts, as columns generated
-- from the stored JSON (virtual here: SQLite can only add those to an existing table), so
-- the shared SQL reads them by name on both databases.
ALTER TABLE attempts ADD COLUMN run_status TEXT
    GENERATED ALWAYS AS (json_extract(execution, '$.status')) VIRTUAL;
ALTER TABLE attempts ADD COLUMN error_type TEXT
    GENERATED ALWAYS AS (json_extract(execution, '$.traceback.error_type')) VIRTUAL;
ALTER TABLE attempts ADD COLUMN actor_model TEXT
    GENERATED ALWAYS AS (json_extract(actor, '$.model')) VIRTUAL;
ALTER TABLE attempts ADD COLUMN actor_prompt_tokens INTEGER
    GENERATED ALWAYS AS (json_extract(actor, '$.usage.prompt_tokens')) VIRTUAL;
ALTER TABLE attempts ADD COLUMN actor_completion_tokens INTEGER
    GENERATED ALWAYS AS (json_extract(actor, '$.usage.completion_tokens')) VIRTUAL;
ALTER TABLE attempts ADD COLUMN critic_model TEXT
    GENERATED ALWAYS AS (json_extract(critic, '$.model')) VIRTUAL;
ALTER TABLE attempts ADD COLUMN critic_prompt_tokens INTEGER
    GENERATED ALWAYS AS (json_extract(critic, '$.usage.prompt_tokens')) VIRTUAL;
ALTER TABLE attempts ADD COLUMN critic_completion_tokens INTEGER
    GENERATED ALWAYS AS (json_extract(critic, '$.usage.completion_tokens')) VIRTUAL;

-- A job's first run passed its tests: set when attempt 1's execution is stored, so the
-- repair lift is read from the jobs alone, without joining a month of attempts.
ALTER TABLE jobs ADD COLUMN first_passed INTEGER;

CREATE TRIGGER attempts_first_run AFTER UPDATE OF execution ON attempts
    FOR EACH ROW WHEN NEW.iteration = 1 AND NEW.execution IS NOT NULL
                      AND OLD.execution IS NULL
BEGIN
    UPDATE jobs SET first_passed = (NEW.run_status = 'passed') WHERE id = NEW.job_id;
END;

-- Covering indexes: each stats figure is read from an index, never from the wide rows
-- (specs, program output).
DROP INDEX jobs_created;
CREATE INDEX jobs_stats ON jobs (tenant_id, created_at, status, reason, iterations,
    total_tokens, started_at, finished_at, model, language, first_passed);
CREATE INDEX attempts_stats ON attempts (tenant_id, started_at, run_status, error_type,
    actor_model, actor_prompt_tokens, actor_completion_tokens, critic_model,
    critic_prompt_tokens, critic_completion_tokens);
