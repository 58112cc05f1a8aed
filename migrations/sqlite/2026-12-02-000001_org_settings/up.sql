-- See the PostgreSQL migration of the same name.
ALTER TABLE organizations ADD COLUMN rate_limit INTEGER;
ALTER TABLE organizations ADD COLUMN rate_burst INTEGER;
ALTER TABLE organizations ADD COLUMN interop_profile TEXT
    CHECK (interop_profile IN ('strict', 'tolerant'));
