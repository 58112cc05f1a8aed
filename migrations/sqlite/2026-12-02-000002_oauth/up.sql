-- OAuth 2.0 client credentials; see the PostgreSQL migration of the same name.
CREATE TABLE oauth_clients (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The client's public keys for private_key_jwt, a JWK set (RFC 7517 §5); NULL if none.
    jwks TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX oauth_clients_org_id_name_key ON oauth_clients (org_id, name);
-- Not led by org_id: the token endpoint finds a client by its id before it knows the
-- organisation, as authentication does for tokens.
CREATE INDEX oauth_clients_id_idx ON oauth_clients (id);

CREATE TABLE oauth_client_secrets (
    org_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (org_id, client_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES oauth_clients (org_id, id) ON DELETE CASCADE
);
-- The secret's id is the lookup key of the presented secret, before the organisation is known.
CREATE INDEX oauth_client_secrets_id_idx ON oauth_client_secrets (id);

CREATE TABLE oauth_access_tokens (
    org_id INTEGER NOT NULL,
    token_hash TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, client_id) REFERENCES oauth_clients (org_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_access_tokens_org_id_client_id_idx ON oauth_access_tokens (org_id, client_id);

CREATE TABLE oauth_assertion_ids (
    org_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, client_id, jti)
);
