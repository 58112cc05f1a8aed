-- Resources of the types an operator declares (SQLite). Keep in step with migrations/postgres:
-- the same columns, keys and index names, without the parsed copy of the search document.

CREATE TABLE resources (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    name TEXT,
    name_key TEXT,
    external_id TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    deleted_at INTEGER,
    document TEXT NOT NULL,
    search TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX resources_org_id_type_name_key_key
    ON resources (org_id, resource_type, name_key) WHERE deleted_at IS NULL;
CREATE INDEX resources_org_id_type_external_id_idx ON resources (org_id, resource_type, external_id);
CREATE INDEX resources_org_id_type_created_at_id_idx
    ON resources (org_id, resource_type, created_at, id);
CREATE INDEX resources_org_id_type_last_modified_idx
    ON resources (org_id, resource_type, last_modified);

-- Values a declaration makes unique per organisation (see migrations/postgres).
CREATE TABLE unique_values (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    attr TEXT NOT NULL,
    value TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (org_id, resource_type, attr, value)
);
CREATE INDEX unique_values_org_id_resource_id_idx ON unique_values (org_id, resource_id);
