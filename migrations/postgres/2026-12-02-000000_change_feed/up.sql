-- The change feed and its consumers.
--
-- Events say more than "updated": group membership changes get kinds of their own, and `data`
-- carries what a kind needs beyond the attribute names (JSON: a deactivation's new
-- `sessionVersion`, the member ids a membership event added or removed).
ALTER TABLE events ADD COLUMN data TEXT;
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN (
    'created', 'updated', 'deactivated', 'reactivated', 'deleted',
    'member_added', 'member_removed'));

-- NULL until the organisation's first SCIM write sets it true; an operator's explicit true or
-- false stays. The host application reads it to switch off its own JIT provisioning.
ALTER TABLE organizations ADD COLUMN scim_managed BOOLEAN;
-- The highest seq retention has deleted: a consumer resuming from below it missed events.
ALTER TABLE organizations ADD COLUMN events_pruned_through BIGINT NOT NULL DEFAULT 0;

-- Credentials for /admin: not SCIM tokens. Global like `organizations`, since a token may
-- cover every organisation (`org_ids` NULL) or several (a JSON array of organisation ids).
CREATE TABLE admin_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    org_ids TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

-- Webhooks and their delivery state. `delivered_seq` is the last event the receiver
-- acknowledged; the lease (`lease_owner`, `lease_until`) is held by the one worker delivering.
-- The signing secret is kept as it is needed to sign, not hashed.
CREATE TABLE webhooks (
    org_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    event_kinds TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until BIGINT,
    created_at BIGINT NOT NULL,
    delivered_seq BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    last_error TEXT,
    last_attempt_at BIGINT,
    last_delivered_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    PRIMARY KEY (org_id, id)
);
