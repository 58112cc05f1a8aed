-- Filters that no dedicated column serves read the search document with JSON operators.
-- Keeping it parsed, next to its text, spares a cast of every row on every such query.
-- SQLite reads JSON text directly and needs no counterpart.
ALTER TABLE users ADD COLUMN search_jsonb JSONB GENERATED ALWAYS AS (CAST(search AS jsonb)) STORED;
