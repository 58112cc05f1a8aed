-- OAuth 2.0 client credentials (RFC 6749 §4.4): clients of an organisation, their secrets (several
-- at once, so rotation has no gap), the access tokens issued to them (hashed: SHA-256 of a
-- 256-bit random secret), and the `jti` of client assertions seen (RFC 7523 §3, replay).
CREATE TABLE oauth_clients (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The client's public keys for private_key_jwt, a JWK set (RFC 7517 §5); NULL if none.
    jwks TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (org_id, id),
    CONSTRAINT oauth_clients_org_id_name_key UNIQUE (org_id, name)
);
-- Not led by org_id: the token endpoint finds a client by its id before it knows the
-- organisation, as authentication does for tokens.
CREATE INDEX oauth_clients_id_idx ON oauth_clients (id);

CREATE TABLE oauth_client_secrets (
    org_id BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (org_id, client_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES oauth_clients (org_id, id) ON DELETE CASCADE
);
-- The secret's id is the lookup key of the presented secret, before the organisation is known.
CREATE INDEX oauth_client_secrets_id_idx ON oauth_client_secrets (id);

CREATE TABLE oauth_access_tokens (
    org_id BIGINT NOT NULL,
    token_hash TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, client_id) REFERENCES oauth_clients (org_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_access_tokens_org_id_client_id_idx ON oauth_access_tokens (org_id, client_id);

CREATE TABLE oauth_assertion_ids (
    org_id BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, client_id, jti)
);
