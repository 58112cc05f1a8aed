DROP TABLE events;
DROP TABLE user_emails;
DROP TABLE users;
DROP TABLE tokens;
DROP TABLE organizations;
