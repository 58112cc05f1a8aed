-- The change feed and its consumers; see the PostgreSQL migration of the same name.
--
-- SQLite cannot change a CHECK constraint, so `events` is rebuilt. Its AUTOINCREMENT counter
-- is carried over, so no seq is ever drawn twice.
CREATE TABLE events_new (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('created', 'updated', 'deactivated', 'reactivated', 'deleted',
                        'member_added', 'member_removed')),
    token_id TEXT,
    attributes TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    data TEXT
);
INSERT INTO events_new (seq, org_id, resource_type, resource_id, kind, token_id, attributes,
                        occurred_at)
    SELECT seq, org_id, resource_type, resource_id, kind, token_id, attributes, occurred_at
    FROM events;
DELETE FROM sqlite_sequence WHERE name = 'events_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'events_new', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_org_id_seq_idx ON events (org_id, seq);

ALTER TABLE organizations ADD COLUMN scim_managed BOOLEAN;
ALTER TABLE organizations ADD COLUMN events_pruned_through INTEGER NOT NULL DEFAULT 0;

CREATE TABLE admin_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    org_ids TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE webhooks (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    event_kinds TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until INTEGER,
    created_at INTEGER NOT NULL,
    delivered_seq INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    last_error TEXT,
    last_attempt_at INTEGER,
    last_delivered_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    PRIMARY KEY (org_id, id)
);
