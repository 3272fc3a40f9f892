-- Postgres's integers become 64-bit in this version; SQLite's always were. Kept so both
-- databases carry the same migration versions.
SELECT 1;
