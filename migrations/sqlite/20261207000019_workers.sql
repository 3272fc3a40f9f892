-- The workers that are alive and what each serves (issue 32): each worker writes its row
-- every few seconds, so the API can tell a queued job no live worker serves.
CREATE TABLE workers (
    id         TEXT PRIMARY KEY,
    languages  TEXT NOT NULL,
    providers  TEXT NOT NULL,
    seen_at    INTEGER NOT NULL
);
