-- What admins did, and through what: the dashboard (actor `admin`), the backend API (actor
-- `secret_key`), or attempts refused before anyone was known (`anonymous`). Never a secret:
-- the action, the id it was about, where it came from and how it ended.
CREATE TABLE audit_log (
    id     TEXT PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    client TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    status BIGINT NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
