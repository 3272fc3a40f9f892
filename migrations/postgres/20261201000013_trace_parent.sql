-- OpenTelemetry (issue 12): the W3C `traceparent` a job was submitted with, so the worker
-- that runs it (in any process, at any later time) parents the job's spans on the caller's
-- trace.
ALTER TABLE jobs ADD COLUMN trace_parent TEXT;
