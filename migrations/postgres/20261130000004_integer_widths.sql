-- Every integer is 64-bit, as on SQLite, so one query reads and binds `i64` on both
-- databases (the store's SQL is written once).
ALTER TABLE jobs
    ALTER COLUMN priority TYPE BIGINT,
    ALTER COLUMN iterations TYPE BIGINT,
    ALTER COLUMN requeues TYPE BIGINT;
ALTER TABLE attempts ALTER COLUMN iteration TYPE BIGINT;
ALTER TABLE webhook_outbox ALTER COLUMN tries TYPE BIGINT;
ALTER TABLE webhook_deliveries
    ALTER COLUMN try TYPE BIGINT,
    ALTER COLUMN status_code TYPE BIGINT;
