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

CREATE INDEX attempts_tenant_started ON attempts (tenant_id, started_at);
