ALTER TABLE organizations DROP COLUMN interop_profile;
ALTER TABLE organizations DROP COLUMN rate_burst;
ALTER TABLE organizations DROP COLUMN rate_limit;
