-- Per-key rate overrides (issue 11): requests a minute for the key's reads and writes budgets;
-- NULL keeps the server's default (HONE_RATE_READS_PER_MIN, HONE_RATE_WRITES_PER_MIN), 0 turns
-- the budget off for the key. Set by the operator (`hone keys create|set-rate`), never by a
-- tenant's own admin key.
ALTER TABLE api_keys ADD COLUMN reads_per_min BIGINT;
ALTER TABLE api_keys ADD COLUMN writes_per_min BIGINT;
