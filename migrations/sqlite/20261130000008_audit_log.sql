-- The audit log (issue 11): who changed a tenant's keys or webhook secrets, when, and what.
-- Each row is written in the transaction of the change it records. Ids are UUID v7 text, so
-- they sort by time and page like job ids.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL
);

CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC);
