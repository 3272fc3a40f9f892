-- Quotas per tenant (issue 11), enforced by the database: at most `max_queued_jobs` queued
-- jobs, at most `max_tokens_per_day` model tokens a UTC day. NULL: no quota.
-- `tenant_usage` counts each tenant's tokens a day; a trigger adds every increase of a job's
-- `total_tokens` (the attempt steps' usage) to it, in the step's own transaction.
ALTER TABLE tenants ADD COLUMN max_queued_jobs INTEGER;
ALTER TABLE tenants ADD COLUMN max_tokens_per_day INTEGER;

CREATE TABLE tenant_usage (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    day        INTEGER NOT NULL,
    tokens     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE TRIGGER jobs_count_tokens AFTER UPDATE OF total_tokens ON jobs
    FOR EACH ROW WHEN NEW.total_tokens > OLD.total_tokens
BEGIN
    INSERT INTO tenant_usage (tenant_id, day, tokens)
    VALUES (NEW.tenant_id, NEW.updated_at / 86400000, NEW.total_tokens - OLD.total_tokens)
    ON CONFLICT (tenant_id, day) DO UPDATE SET tokens = tokens + excluded.tokens;
END;
