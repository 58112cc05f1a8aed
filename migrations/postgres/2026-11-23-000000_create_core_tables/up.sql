-- Core tables of the SCIM store (PostgreSQL).
--
-- Every table but `organizations` is keyed by organisation first: primary keys and unique indexes
-- lead with org_id, so the schema can be distributed by org_id (Citus, with `organizations` as a
-- reference table) without a rewrite. Timestamps are BIGINT microseconds since the Unix epoch
-- (UTC), the same representation as on SQLite, so date filters and sorts are the same SQL.
-- `document` and `search` are TEXT on both backends; dialect.rs casts `search` to jsonb where a
-- query needs JSON operators.

CREATE TABLE organizations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT organizations_name_key UNIQUE (name)
);

CREATE TABLE tokens (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT,
    PRIMARY KEY (org_id, id),
    CONSTRAINT tokens_org_id_name_key UNIQUE (org_id, name)
);
-- Deliberately not unique and not led by org_id: authentication looks a token up by its public
-- id before it knows the organisation.
CREATE INDEX tokens_id_idx ON tokens (id);

CREATE TABLE users (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id TEXT,
    active BOOLEAN NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    session_version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    deleted_at BIGINT,
    document TEXT NOT NULL,
    search TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
-- Partial: a tombstoned user's userName is free at once, and two concurrent creates of the same
-- key cannot both commit.
CREATE UNIQUE INDEX users_org_id_user_name_key_key ON users (org_id, user_name_key)
    WHERE deleted_at IS NULL;
CREATE INDEX users_org_id_external_id_idx ON users (org_id, external_id);
-- The default listing order.
CREATE INDEX users_org_id_created_at_id_idx ON users (org_id, created_at, id);

CREATE TABLE user_emails (
    org_id BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    value_key TEXT NOT NULL,
    type TEXT,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (org_id, user_id, position),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);
-- Backs the `emails.value eq "…"` lookups identity providers make before every create.
CREATE INDEX user_emails_org_id_value_key_idx ON user_emails (org_id, value_key);

-- The outbox and audit trail, written in the same transaction as each change.
CREATE TABLE events (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('created', 'updated', 'deactivated', 'reactivated', 'deleted')),
    token_id TEXT,
    attributes TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
