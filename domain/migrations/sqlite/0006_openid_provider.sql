-- Latchkey as an OpenID Provider.
--
-- Signing keys now come in more than one algorithm (EdDSA for session tokens, RS256 for ID
-- tokens, the algorithm every relying party supports): each algorithm has its own rotation
-- schedule, so the unique activation slot is per algorithm, and the public half is kept as the
-- JWK members it publishes. SQLite cannot change a constraint in place: the table is rebuilt.
CREATE TABLE signing_keys_by_alg (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    activates_at   BIGINT NOT NULL,
    UNIQUE (alg, activates_at)
);
INSERT INTO signing_keys_by_alg (kid, alg, public_jwk, private_sealed, created_at, activates_at)
    SELECT kid, alg, '{"kty":"OKP","crv":"Ed25519","x":"' || public_x || '"}', private_sealed, created_at, activates_at
    FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_by_alg RENAME TO signing_keys;

-- Apps that sign people in through Latchkey with OpenID Connect. A confidential app's secret is
-- kept as its SHA-256 (it is 256 random bits: nothing to stretch); a public app has none.
CREATE TABLE oauth_applications (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    client_id          TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT,
    public             BIGINT NOT NULL,
    redirect_uris      TEXT NOT NULL,
    skip_consent       BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- What a person allowed an app to see, so they are asked once.
CREATE TABLE oauth_consents (
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    granted_at     BIGINT NOT NULL,
    PRIMARY KEY (user_id, application_id)
);

-- One authorization of an app by a person, from a Latchkey session: the family every code and
-- token it leads to belongs to. Revoking it (a reused code or refresh token, the revocation
-- endpoint) ends them all at once.
CREATE TABLE oauth_grants (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT NOT NULL,
    scope          TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX oauth_grants_by_session ON oauth_grants (session_id);

-- Authorization codes: single use, short-lived, kept as hashes.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX oauth_codes_by_grant ON oauth_codes (grant_id);

-- Access and refresh tokens, kept as hashes. A refresh token is used once (`used_at`): its
-- successor is issued with the same grant.
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
