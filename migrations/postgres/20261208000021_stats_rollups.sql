-- Stats without scanning the month (issue 27): hourly rollups per tenant, folded by a
-- compactor, so `GET /v1/stats` reads the rollups of the window's whole hours and only the
-- jobs and attempts not folded yet.
--
-- A job is folded once it has ended: a finished job never changes again (its attempts
-- neither), so its figures can be added to its hour's rows for good. A job that ends (or is
-- stored already ended) is queued for folding in `stats_fold` by a trigger, in the
-- transaction of its end; the compactor (`Retention::fold_stats`) moves a batch of them
-- from the queue into the rollups in one transaction. So at any snapshot each job is in
-- exactly one place: open (queued or running), waiting in `stats_fold`, or in the rollups.
-- Retention subtracts what it deletes (`prune_batch`).
--
-- Keys hold '' where the figure is NULL (no reason yet, no critic, no error), as primary
-- keys cannot hold NULL; the reads map '' back to nothing. `stats_series` counts jobs by
-- status per UTC hour (the series). The other tables hold every figure twice: per UTC hour
-- (`width` 3600000) and per UTC day (86400000), `at` the start (unix ms) of the hour or
-- day of the job's creation (jobs, tags, durations) or of the attempt's start (attempts,
-- critique issues); a month is read as its whole days plus the hours at its ends.
CREATE TABLE stats_fold (
    job_id     UUID PRIMARY KEY,
    tenant_id  TEXT NOT NULL
);
CREATE INDEX stats_fold_tenant ON stats_fold (tenant_id);

CREATE TABLE stats_series (
    tenant_id  TEXT NOT NULL,
    hour       BIGINT NOT NULL,
    status     TEXT NOT NULL,
    n          BIGINT NOT NULL,
    tokens     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, status)
);

CREATE TABLE stats_jobs (
    tenant_id     TEXT NOT NULL,
    width         BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    iterations    BIGINT NOT NULL,
    model         TEXT NOT NULL,
    language      TEXT NOT NULL,
    n             BIGINT NOT NULL,
    tokens        BIGINT NOT NULL,
    first_passed  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, width, at, status, reason, iterations, model, language)
);

CREATE TABLE stats_tags (
    tenant_id  TEXT NOT NULL,
    width      BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    tag        TEXT NOT NULL,
    status     TEXT NOT NULL,
    n          BIGINT NOT NULL,
    tokens     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, width, at, tag, status)
);

CREATE TABLE stats_attempts (
    tenant_id     TEXT NOT NULL,
    width         BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    actor_model   TEXT NOT NULL,
    critic_model  TEXT NOT NULL,
    error_type    TEXT NOT NULL,
    n             BIGINT NOT NULL,
    ap            BIGINT NOT NULL,
    ac            BIGINT NOT NULL,
    cp            BIGINT NOT NULL,
    cc            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, width, at, actor_model, critic_model, error_type)
);

CREATE TABLE stats_issues (
    tenant_id  TEXT NOT NULL,
    width      BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    severity   TEXT NOT NULL,
    category   TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, width, at, severity, category)
);

-- Durations (`kind` 'd': first claim to end) and queue waits ('w': submission to first
-- claim) of started jobs, as a histogram: `bin` is the value's logarithmic bin (32 to an
-- octave, exact below 64 ms), `lo` the smallest value seen in it.
CREATE TABLE stats_times (
    tenant_id  TEXT NOT NULL,
    width      BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    bin        BIGINT NOT NULL,
    lo         BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, width, at, kind, bin)
);

CREATE FUNCTION hone_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_fold (job_id, tenant_id) VALUES (NEW.id, NEW.tenant_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_ended AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled')
                       AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION hone_job_ended();

-- A job stored already ended (imports, the history benchmark): queued at its INSERT. A
-- submission (queued) pays only the trigger's condition.
CREATE TRIGGER jobs_stored_ended AFTER INSERT ON jobs
    FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION hone_job_ended();

INSERT INTO stats_fold (job_id, tenant_id)
SELECT id, tenant_id FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled');
