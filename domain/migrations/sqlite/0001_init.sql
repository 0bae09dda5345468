-- Latchkey's schema. Kept to SQL that SQLite and PostgreSQL both run (see ../postgres).
-- Times are Unix milliseconds (BIGINT); booleans are BIGINT 0/1 so both engines decode alike.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT,
    name            TEXT,
    image_url       TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_sign_in_at BIGINT
);
CREATE INDEX users_email ON users (email);

-- A user's identity at a provider; the Notion user id is unique.
CREATE TABLE external_accounts (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    email            TEXT,
    email_verified   BIGINT NOT NULL DEFAULT 0,
    name             TEXT,
    avatar_url       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (provider, provider_user_id)
);
CREATE INDEX external_accounts_user ON external_accounts (user_id);

-- One Notion authorization (one workspace), keyed by Notion's bot_id. Tokens are sealed.
CREATE TABLE workspace_grants (
    bot_id               TEXT PRIMARY KEY,
    external_account_id  TEXT NOT NULL REFERENCES external_accounts (id) ON DELETE CASCADE,
    connection_id        TEXT NOT NULL,
    workspace_id         TEXT NOT NULL,
    workspace_name       TEXT,
    workspace_icon       TEXT,
    access_token_sealed  TEXT NOT NULL,
    refresh_token_sealed TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX workspace_grants_account ON workspace_grants (external_account_id);

-- Sessions are found by the SHA-256 of their token; the token itself is never stored.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    user_agent     TEXT,
    created_at     BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- SSO connections; one per provider. The client secret is sealed.
CREATE TABLE connections (
    id                     TEXT PRIMARY KEY,
    provider               TEXT NOT NULL UNIQUE,
    enabled                BIGINT NOT NULL,
    use_custom_credentials BIGINT NOT NULL,
    client_id              TEXT,
    client_secret_sealed   TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

-- Sign-ins in progress: the hash of the OAuth state, bound to the hash of the browser's flow
-- cookie. Deleted when the callback uses it (single use) or when it expires.
CREATE TABLE sign_in_flows (
    state_hash    TEXT PRIMARY KEY,
    browser_hash  TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    intent        TEXT NOT NULL,
    redirect_url  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sign_in_flows_expiry ON sign_in_flows (expires_at);
