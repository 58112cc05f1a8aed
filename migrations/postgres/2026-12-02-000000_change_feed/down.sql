DROP TABLE webhooks;
DROP TABLE admin_tokens;
ALTER TABLE organizations DROP COLUMN events_pruned_through;
ALTER TABLE organizations DROP COLUMN scim_managed;
DELETE FROM events WHERE kind IN ('member_added', 'member_removed');
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check
    CHECK (kind IN ('created', 'updated', 'deactivated', 'reactivated', 'deleted'));
ALTER TABLE events DROP COLUMN data;
