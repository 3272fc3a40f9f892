-- Stats (issue 12): what `GET /v1/stats` aggregates over attempts, kept as plain columns
-- generated from the stored JSON when a step is written, so an aggregate over a month of
-- attempts reads small columns instead of unpacking every execution's JSON (with its
-- program output) again.
ALTER TABLE attempts
    ADD COLUMN run_status TEXT GENERATED ALWAYS AS (execution ->> 'status') STORED,
    ADD COLUMN error_type TEXT
        GENERATED ALWAYS AS (execution #>> '{traceback,error_type}') STORED,
    ADD COLUMN actor_model TEXT GENERATED ALWAYS AS (actor ->> 'model') STORED,
    ADD COLUMN actor_prompt_tokens BIGINT
        GENERATED ALWAYS AS ((actor #>> '{usage,prompt_tokens}')::bigint) STORED,
    ADD COLUMN actor_completion_tokens BIGINT
        GENERATED ALWAYS AS ((actor #>> '{usage,completion_tokens}')::bigint) STORED,
    ADD COLUMN critic_model TEXT GENERATED ALWAYS AS (critic ->> 'model') STORED,
    ADD COLUMN critic_prompt_tokens BIGINT
        GENERATED ALWAYS AS ((critic #>> '{usage,prompt_tokens}')::bigint) STORED,
    ADD COLUMN critic_completion_tokens BIGINT
        GENERATED ALWAYS AS ((critic #>> '{usage,completion_tokens}')::bigint) STORED;

-- A job's first run passed its tests: set when attempt 1's execution is stored, so the
-- repair lift is read from the jobs alone, without joining a month of attempts.
ALTER TABLE jobs ADD COLUMN first_passed BOOLEAN;

CREATE FUNCTION hone_first_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jobs SET first_passed = (NEW.run_status = 'passed') WHERE id = NEW.job_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER attempts_first_run AFTER UPDATE OF execution ON attempts
    FOR EACH ROW WHEN (NEW.iteration = 1 AND NEW.execution IS NOT NULL
                       AND OLD.execution IS NULL)
    EXECUTE FUNCTION hone_first_run();

-- Covering indexes: each stats figure is an index-only scan of the window, never a read
-- of the wide rows (specs, program output).
DROP INDEX jobs_created;
CREATE INDEX jobs_stats ON jobs (tenant_id, created_at)
    INCLUDE (status, reason, iterations, total_tokens, started_at, finished_at, model,
             language, first_passed);
CREATE INDEX attempts_stats ON attempts (tenant_id, started_at)
    INCLUDE (run_status, error_type, actor_model, actor_prompt_tokens,
             actor_completion_tokens, critic_model, critic_prompt_tokens,
             critic_completion_tokens);
