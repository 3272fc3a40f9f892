-- Cost (issue 15). A job's usage gains the cached (read and written) and reasoning tokens
-- and its cost, in picodollars (10^-12 USD: integers add up exactly). A tenant may have a
-- daily spend quota beside its token quota (NULL: none), and `tenant_usage` counts each
-- tenant's spend a UTC day beside its tokens: the trigger of migration 9 now adds both
-- increases, in the step's own statement.
ALTER TABLE jobs
    ADD COLUMN cache_read_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN cost_pusd BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN max_cost_pusd_per_day BIGINT;
ALTER TABLE tenant_usage ADD COLUMN cost_pusd BIGINT NOT NULL DEFAULT 0;

DROP TRIGGER jobs_count_tokens ON jobs;
DROP FUNCTION hone_count_tokens();

CREATE FUNCTION hone_count_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_usage (tenant_id, day, tokens, cost_pusd)
    VALUES (NEW.tenant_id, NEW.updated_at / 86400000, NEW.total_tokens - OLD.total_tokens,
            NEW.cost_pusd - OLD.cost_pusd)
    ON CONFLICT (tenant_id, day) DO UPDATE
        SET tokens = tenant_usage.tokens + EXCLUDED.tokens,
            cost_pusd = tenant_usage.cost_pusd + EXCLUDED.cost_pusd;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_count_usage AFTER UPDATE OF total_tokens, cost_pusd ON jobs
    FOR EACH ROW WHEN (NEW.total_tokens > OLD.total_tokens OR NEW.cost_pusd > OLD.cost_pusd)
    EXECUTE FUNCTION hone_count_usage();
