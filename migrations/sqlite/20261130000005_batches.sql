-- Batch submissions under an Idempotency-Key (POST /v1/jobs/batch): the key, the request's
-- fingerprint and the ids of the jobs it stored, in order, so a retry gets the same answer.
-- Batch keys are their own namespace, apart from single submissions' keys on jobs.
CREATE TABLE batches (
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    idempotency_key     TEXT NOT NULL,
    request_fingerprint TEXT NOT NULL,
    job_ids             TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
