-- A job's `job.queued` event is written by the job's INSERT itself, so submitting a job is one
-- statement (its own transaction) instead of BEGIN, two INSERTs and COMMIT.
CREATE TRIGGER jobs_queued AFTER INSERT ON jobs
BEGIN
    INSERT INTO events (job_id, seq, tenant_id, type, data, created_at)
    VALUES (NEW.id, 1, NEW.tenant_id, 'job.queued', '{"status": "queued"}', NEW.created_at);
END;
