ALTER TABLE organizations DROP COLUMN cursor_key;
