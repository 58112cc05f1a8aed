-- Groups (RFC 7643 §4.2) and their memberships (SQLite). Keep in step with migrations/postgres:
-- the same tables, columns, keys and index names. SQLite reads the search document's JSON text
-- directly, so it has no parsed copy of it.

CREATE TABLE groups (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    deleted_at INTEGER,
    document TEXT NOT NULL,
    search TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX groups_org_id_display_name_key_key ON groups (org_id, display_name_key)
    WHERE deleted_at IS NULL;
CREATE INDEX groups_org_id_external_id_idx ON groups (org_id, external_id);
CREATE INDEX groups_org_id_created_at_id_idx ON groups (org_id, created_at, id);

CREATE TABLE group_members (
    org_id INTEGER NOT NULL,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    -- The member's `display` as the client gave it when adding it (RFC 7643 §2.4: immutable);
    -- without one, reads show the member's own name.
    display TEXT,
    PRIMARY KEY (org_id, group_id, member_id),
    FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_org_id_member_id_idx ON group_members (org_id, member_id);
CREATE INDEX group_members_org_id_group_id_nested_idx ON group_members (org_id, group_id, member_id)
    WHERE member_type = 'Group';
