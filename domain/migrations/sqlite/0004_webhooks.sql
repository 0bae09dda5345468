-- Webhooks: endpoints an app registered, the outbox of events, and one delivery per event and
-- endpoint. An event and its deliveries are written in the transaction of the change they
-- report, so none is lost; workers on any replica claim due deliveries with a short lease.
CREATE TABLE webhook_endpoints (
    id            TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    -- The subscribed event types, each between spaces (" user.created session.created "),
    -- so one LIKE matches a type in either engine.
    events        TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    enabled       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    -- The delivered body: {"type", "timestamp", "data"}.
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    -- Also the `webhook-id` header: stable across the attempts of one event to one endpoint.
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    last_status_code BIGINT,
    last_error       TEXT,
    next_attempt_at  BIGINT,
    -- A worker that claimed the delivery (`claim`, its mark) holds it until `locked_until`.
    claim            TEXT,
    locked_until     BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (endpoint_id, created_at);
