-- Keys that sign session tokens (JWTs), shared by every replica. The private half is sealed
-- under the master key. A key is used from `activates_at` on; the unique slot makes two
-- replicas that schedule the same rotation at once agree on one key.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    public_x       TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    activates_at   BIGINT NOT NULL UNIQUE
);
