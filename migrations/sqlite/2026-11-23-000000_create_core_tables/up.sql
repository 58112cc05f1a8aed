-- Core tables of the SCIM store (SQLite). Keep in step with migrations/postgres: the same tables,
-- columns, keys and index names; differences are only where SQLite needs them (rowid keys).
--
-- Timestamps are INTEGER microseconds since the Unix epoch (UTC), as on PostgreSQL.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- Unique keys are separate indexes here, not table constraints, so they keep the PostgreSQL
-- names (SQLite would call a table constraint's index sqlite_autoindex_…).
CREATE UNIQUE INDEX organizations_name_key ON organizations (name);

CREATE TABLE tokens (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX tokens_org_id_name_key ON tokens (org_id, name);
-- Deliberately not unique and not led by org_id: authentication looks a token up by its public
-- id before it knows the organisation.
CREATE INDEX tokens_id_idx ON tokens (id);

CREATE TABLE users (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id TEXT,
    active BOOLEAN NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    session_version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    deleted_at INTEGER,
    document TEXT NOT NULL,
    search TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX users_org_id_user_name_key_key ON users (org_id, user_name_key)
    WHERE deleted_at IS NULL;
CREATE INDEX users_org_id_external_id_idx ON users (org_id, external_id);
CREATE INDEX users_org_id_created_at_id_idx ON users (org_id, created_at, id);

CREATE TABLE user_emails (
    org_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    value_key TEXT NOT NULL,
    type TEXT,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (org_id, user_id, position),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);
CREATE INDEX user_emails_org_id_value_key_idx ON user_emails (org_id, value_key);

-- SQLite cannot auto-increment a composite key, so the outbox is keyed by its rowid alias `seq`
-- alone (AUTOINCREMENT: a seq is never reused, even after the newest event is deleted); the
-- (org_id, seq) index serves the per-organisation reads. Citus concerns PostgreSQL only.
CREATE TABLE events (
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
CREATE INDEX events_org_id_seq_idx ON events (org_id, seq);
