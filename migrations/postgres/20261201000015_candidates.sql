-- Candidates (issue 15): an iteration that draws several answers keeps all of them, each
-- with its actor call and its run, as a JSON array; the chosen one is also the attempt's
-- `code`, `actor` and `execution`. NULL for an iteration with one answer.
ALTER TABLE attempts ADD COLUMN candidates JSONB;
