-- The attribute–value index (PostgreSQL): one row per (resource, indexed attribute, distinct
-- value), so every filter predicate an index can answer — `eq` on a string or boolean, `sw` as a
-- prefix range, ranges on dates — finds its few candidate resources through one B-tree, however
-- the filter spells the attribute (`emails.value eq`, `emails[type eq "work" and value eq]`, …).
-- Which attributes are kept is data, per resource type (`ResourceKind::indexed`); the store
-- fills the table on every write and rebuilds a type's rows when that list changes
-- (`value_index_state`). It replaces `user_emails`, which served `emails.value eq` alone.
--
-- `value` is the search document's form (case-folded where the attribute is case-insensitive,
-- dateTimes in their sortable form), cut to 1,024 bytes; byte order (COLLATE "C") makes a prefix
-- a contiguous range and matches SQLite's BINARY order. The key leads with org_id and holds the
-- resource id, so a lookup is an index-only range scan within one organisation.

CREATE TABLE resource_values (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    attr TEXT NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (org_id, resource_type, attr, value, resource_id)
);

-- Which attributes each resource type's rows were built for.
CREATE TABLE value_index_state (
    resource_type TEXT PRIMARY KEY,
    attributes TEXT NOT NULL
);

DROP TABLE user_emails;

-- Incremental syncs ask `meta.lastModified gt …`.
CREATE INDEX users_org_id_last_modified_idx ON users (org_id, last_modified);
CREATE INDEX groups_org_id_last_modified_idx ON groups (org_id, last_modified);
-- `active eq false`: the deactivated users, usually few; `active eq true` is most of the table
-- and is better read in listing order than through any index.
CREATE INDEX users_org_id_inactive_idx ON users (org_id) WHERE NOT active AND deleted_at IS NULL;
-- A member's groups (`members.value eq`, a user's `groups`) read from the index alone.
DROP INDEX group_members_org_id_member_id_idx;
CREATE INDEX group_members_org_id_member_id_idx ON group_members (org_id, member_id, group_id);
