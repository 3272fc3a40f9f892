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

CREATE INDEX attempts_tenant_started ON attempts (tenant_id, started_at);
