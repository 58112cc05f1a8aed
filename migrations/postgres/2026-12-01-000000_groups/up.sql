-- Groups (RFC 7643 §4.2) and their memberships (PostgreSQL).
--
-- A group's row has the same shape as a user's, less what only users have (`active`,
-- `session_version`): the resource-generic store reads both through one descriptor. Members are
-- never part of the stored document: they live in `group_members`, one row per (group, member),
-- so adding or removing one member costs the same in a group of 100 as in one of 100,000.

CREATE TABLE groups (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    deleted_at BIGINT,
    document TEXT NOT NULL,
    search TEXT NOT NULL,
    search_jsonb JSONB GENERATED ALWAYS AS (CAST(search AS jsonb)) STORED,
    PRIMARY KEY (org_id, id)
);
-- displayName is unique per organisation, case-insensitively (Entra ID requires it); partial, so
-- a tombstoned group's name is free at once.
CREATE UNIQUE INDEX groups_org_id_display_name_key_key ON groups (org_id, display_name_key)
    WHERE deleted_at IS NULL;
CREATE INDEX groups_org_id_external_id_idx ON groups (org_id, external_id);
CREATE INDEX groups_org_id_created_at_id_idx ON groups (org_id, created_at, id);

-- A member is a live user or group of the same organisation. It has no foreign key to either
-- (it may be one or the other): the store removes a resource's memberships in the transaction
-- that deletes it.
CREATE TABLE group_members (
    org_id BIGINT NOT NULL,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    -- The member's `display` as the client gave it when adding it (RFC 7643 §2.4: immutable);
    -- without one, reads show the member's own name.
    display TEXT,
    PRIMARY KEY (org_id, group_id, member_id),
    FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id) ON DELETE CASCADE
);
-- A user's groups (its `groups` attribute, `groups.value eq` filters, deleting a user).
CREATE INDEX group_members_org_id_member_id_idx ON group_members (org_id, member_id);
-- Nested groups alone, so walking the group graph (cycle checks, indirect membership) never
-- reads the user members of a large group.
CREATE INDEX group_members_org_id_group_id_nested_idx ON group_members (org_id, group_id, member_id)
    WHERE member_type = 'Group';
