-- +goose Up
-- Webhooks: HTTPS endpoints that receive the change feed, and the state of
-- their deliveries. The secret is sealed like other sensitive values.
-- lease_owner and lease_until say which server delivers the webhook: a
-- conditional UPDATE takes the lease, so servers sharing the database never
-- deliver one webhook at the same time.
CREATE TABLE webhooks (
    id                   TEXT NOT NULL PRIMARY KEY,
    display_name         TEXT NOT NULL DEFAULT '',
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    resource_types       TEXT NOT NULL DEFAULT '',
    event_types          TEXT NOT NULL DEFAULT '',
    delivered_position   INTEGER NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_time    DATETIME NULL,
    last_success_time    DATETIME NULL,
    last_failure_time    DATETIME NULL,
    last_error           TEXT NOT NULL DEFAULT '',
    lease_owner          TEXT NOT NULL DEFAULT '',
    lease_until          DATETIME NULL,
    revision             INTEGER NOT NULL,
    create_time          DATETIME NOT NULL
);
CREATE INDEX webhooks_create ON webhooks (create_time, id);

-- One row per delivery attempt; the dispatcher keeps only the newest ones
-- of each webhook.
CREATE TABLE webhook_deliveries (
    id          TEXT NOT NULL PRIMARY KEY,
    webhook_id  TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    event_type  TEXT NOT NULL DEFAULT '',
    resource    TEXT NOT NULL DEFAULT '',
    attempt     INTEGER NOT NULL,
    time        DATETIME NOT NULL,
    http_status INTEGER NOT NULL DEFAULT 0,
    success     BOOLEAN NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_webhook_time ON webhook_deliveries (webhook_id, time DESC, id DESC);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
