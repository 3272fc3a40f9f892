-- Pages of whole specs within a byte budget (issue 31): each job's spec size in bytes, set
-- when the job is stored, so a page's budget is decided from small integers instead of
-- reading every spec. Jobs stored before this migration are measured once here.
ALTER TABLE jobs ADD COLUMN spec_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE jobs SET spec_bytes = octet_length(spec::text);
