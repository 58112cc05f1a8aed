DROP TABLE webhooks;
DROP TABLE admin_tokens;
ALTER TABLE organizations DROP COLUMN events_pruned_through;
ALTER TABLE organizations DROP COLUMN scim_managed;
CREATE TABLE events_old (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('created', 'updated', 'deactivated', 'reactivated', 'deleted')),
    token_id TEXT,
    attributes TEXT NOT NULL,
    occurred_at INTEGER NOT NULL
);
INSERT INTO events_old (seq, org_id, resource_type, resource_id, kind, token_id, attributes,
                        occurred_at)
    SELECT seq, org_id, resource_type, resource_id, kind, token_id, attributes, occurred_at
    FROM events WHERE kind NOT IN ('member_added', 'member_removed');
DELETE FROM sqlite_sequence WHERE name = 'events_old';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'events_old', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_old RENAME TO events;
CREATE INDEX events_org_id_seq_idx ON events (org_id, seq);
