DROP TABLE oauth_assertion_ids;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_client_secrets;
DROP TABLE oauth_clients;
