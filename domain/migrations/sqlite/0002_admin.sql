-- The dashboard: admin sessions, failed admin sign-ins (for the lockout), instance settings.

CREATE TABLE admin_sessions (
    id             TEXT PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);

-- One row per failed admin sign-in; counted per client address over a window, then pruned.
CREATE TABLE admin_sign_in_failures (
    id     TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX admin_sign_in_failures_client ON admin_sign_in_failures (client, at);

-- Instance settings the admin changes at run time (allowed origins, after-sign-in URLs, keys).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
