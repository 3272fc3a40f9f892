-- Cost (issue 15). A job's usage gains the cached (read and written) and reasoning tokens
-- and its cost, in picodollars (10^-12 USD: integers add up exactly). A tenant may have a
-- daily spend quota beside its token quota (NULL: none), and `tenant_usage` counts each
-- tenant's spend a UTC day beside its tokens: the trigger of migration 9 is replaced by one
-- that adds both increases, in the step's own transaction.
ALTER TABLE jobs ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN cost_pusd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN max_cost_pusd_per_day INTEGER;
ALTER TABLE tenant_usage ADD COLUMN cost_pusd INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER jobs_count_tokens;
CREATE TRIGGER jobs_count_usage AFTER UPDATE OF total_tokens, cost_pusd ON jobs
    FOR EACH ROW WHEN NEW.total_tokens > OLD.total_tokens OR NEW.cost_pusd > OLD.cost_pusd
BEGIN
    INSERT INTO tenant_usage (tenant_id, day, tokens, cost_pusd)
    VALUES (NEW.tenant_id, NEW.updated_at / 86400000, NEW.total_tokens - OLD.total_tokens,
            NEW.cost_pusd - OLD.cost_pusd)
    ON CONFLICT (tenant_id, day) DO UPDATE
        SET tokens = tokens + excluded.tokens, cost_pusd = cost_pusd + excluded.cost_pusd;
END;
