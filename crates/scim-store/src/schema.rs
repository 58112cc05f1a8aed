//! diesel's view of the tables in `migrations/` (the same on both backends). Written to match
//! what `diesel print-schema` gives for the PostgreSQL migrations; the schema invariant tests
//! check the migrations themselves.

diesel::table! {
    organizations (id) {
        id -> BigInt,
        name -> Text,
        created_at -> BigInt,
        cursor_key -> Nullable<Text>,
        scim_managed -> Nullable<Bool>,
        events_pruned_through -> BigInt,
        rate_limit -> Nullable<BigInt>,
        rate_burst -> Nullable<BigInt>,
        interop_profile -> Nullable<Text>,
    }
}

diesel::table! {
    tokens (org_id, id) {
        org_id -> BigInt,
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    users (org_id, id) {
        org_id -> BigInt,
        id -> Text,
        user_name -> Text,
        user_name_key -> Text,
        external_id -> Nullable<Text>,
        active -> Bool,
        version -> BigInt,
        session_version -> BigInt,
        created_at -> BigInt,
        last_modified -> BigInt,
        deleted_at -> Nullable<BigInt>,
        document -> Text,
        search -> Text,
    }
}

diesel::table! {
    events (org_id, seq) {
        org_id -> BigInt,
        seq -> BigInt,
        resource_type -> Text,
        resource_id -> Text,
        kind -> Text,
        token_id -> Nullable<Text>,
        attributes -> Text,
        occurred_at -> BigInt,
        data -> Nullable<Text>,
    }
}

diesel::table! {
    admin_tokens (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        org_ids -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhooks (org_id, id) {
        org_id -> BigInt,
        id -> Text,
        url -> Text,
        event_kinds -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<BigInt>,
        created_at -> BigInt,
        delivered_seq -> BigInt,
        failures -> BigInt,
        next_attempt_at -> BigInt,
        paused -> Bool,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<BigInt>,
        last_delivered_at -> Nullable<BigInt>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_clients (org_id, id) {
        org_id -> BigInt,
        id -> Text,
        name -> Text,
        jwks -> Nullable<Text>,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_client_secrets (org_id, client_id, id) {
        org_id -> BigInt,
        client_id -> Text,
        id -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_access_tokens (org_id, token_hash) {
        org_id -> BigInt,
        token_hash -> Text,
        client_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    oauth_assertion_ids (org_id, client_id, jti) {
        org_id -> BigInt,
        client_id -> Text,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(tokens -> organizations (org_id));
diesel::joinable!(users -> organizations (org_id));
diesel::joinable!(events -> organizations (org_id));
diesel::joinable!(webhooks -> organizations (org_id));

diesel::allow_tables_to_appear_in_same_query!(organizations, tokens, users, events, webhooks);
