-- Resources of the types an operator declares (`--schemas-dir`, docs/schemas.md), every type in
-- one table (PostgreSQL), so a new type needs no migration of its own. A row has the shape of a
-- group's, plus its type. `name` and `name_key` hold the type's unique attribute, if it
-- declares one (the first singular string attribute of its core schema with `uniqueness:
-- server`), and are NULL otherwise, so they constrain nothing. Ids are the server's UUIDs, so
-- the key needs no type; every statement names the type all the same.

CREATE TABLE resources (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    name TEXT,
    name_key TEXT,
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
CREATE UNIQUE INDEX resources_org_id_type_name_key_key
    ON resources (org_id, resource_type, name_key) WHERE deleted_at IS NULL;
CREATE INDEX resources_org_id_type_external_id_idx ON resources (org_id, resource_type, external_id);
CREATE INDEX resources_org_id_type_created_at_id_idx
    ON resources (org_id, resource_type, created_at, id);
CREATE INDEX resources_org_id_type_last_modified_idx
    ON resources (org_id, resource_type, last_modified);

-- Values a declaration makes unique per organisation (`uniqueness: server` on an attribute
-- beyond a type's own unique attribute, e.g. on an extension of User): one row per (resource,
-- attribute), its primary key the guard. `value` is the search document's form of the value
-- (folded where the attribute is case-insensitive), or `#sha256:` and its digest when longer
-- than 256 bytes, so the key stays short.
CREATE TABLE unique_values (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    attr TEXT NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (org_id, resource_type, attr, value)
);
CREATE INDEX unique_values_org_id_resource_id_idx ON unique_values (org_id, resource_id);
