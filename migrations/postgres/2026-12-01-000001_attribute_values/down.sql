DROP INDEX group_members_org_id_member_id_idx;
CREATE INDEX group_members_org_id_member_id_idx ON group_members (org_id, member_id);
DROP INDEX users_org_id_inactive_idx;
DROP INDEX groups_org_id_last_modified_idx;
DROP INDEX users_org_id_last_modified_idx;
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
CREATE INDEX user_emails_org_id_value_key_idx ON user_emails (org_id, value_key);
DROP TABLE value_index_state;
DROP TABLE resource_values;
