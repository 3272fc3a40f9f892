-- Pages of whole specs within a byte budget (issue 31): each job's spec size in bytes, set
-- when the job is stored, so a page's budget is decided from small integers instead of
-- reading every spec. Jobs stored before this migration are measured once here.
ALTER TABLE jobs ADD COLUMN spec_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET spec_bytes = length(CAST(spec AS BLOB));
-- SQLite keeps a row's columns in order, so reading spec_bytes from the table would walk
-- past each spec's overflow pages: the page index carries it instead (the same index, one
-- column wider, so no new index to keep up on every insert).
DROP INDEX jobs_list;
CREATE INDEX jobs_list ON jobs (tenant_id, id DESC, spec_bytes);
