-- Per-organisation settings an operator may change: its request rate limit (requests per
-- second and burst; NULL for the server's default) and its interoperability profile ('strict'
-- or 'tolerant'; NULL for tolerant).
ALTER TABLE organizations ADD COLUMN rate_limit BIGINT;
ALTER TABLE organizations ADD COLUMN rate_burst BIGINT;
ALTER TABLE organizations ADD COLUMN interop_profile TEXT
    CHECK (interop_profile IN ('strict', 'tolerant'));
