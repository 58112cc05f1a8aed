-- The attribute–value index (SQLite). Keep in step with migrations/postgres, which explains the
-- table. SQLite compares text bytewise (BINARY) by default, the order PostgreSQL gets from
-- COLLATE "C"; WITHOUT ROWID makes the key the table itself, so a lookup reads one B-tree.

CREATE TABLE resource_values (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    attr TEXT NOT NULL,
    value TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (org_id, resource_type, attr, value, resource_id)
) WITHOUT ROWID;

CREATE TABLE value_index_state (
    resource_type TEXT PRIMARY KEY,
    attributes TEXT NOT NULL
);

DROP TABLE user_emails;

CREATE INDEX users_org_id_last_modified_idx ON users (org_id, last_modified);
CREATE INDEX groups_org_id_last_modified_idx ON groups (org_id, last_modified);
CREATE INDEX users_org_id_inactive_idx ON users (org_id) WHERE NOT active AND deleted_at IS NULL;
-- A member's groups (`members.value eq`, a user's `groups`) read from the index alone.
DROP INDEX group_members_org_id_member_id_idx;
CREATE INDEX group_members_org_id_member_id_idx ON group_members (org_id, member_id, group_id);
