-- How many times a worker stopped working on a job without giving it back (it crashed, was
-- killed, or lost the database long enough for its lease to expire): counted when another
-- claim takes the job over. Past the engine's limit the job fails instead of looping.
ALTER TABLE jobs ADD COLUMN lease_losses BIGINT NOT NULL DEFAULT 0;
