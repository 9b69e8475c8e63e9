-- +goose Up
-- The change feed: one row per change, written in the change's transaction.
-- event_head hands out positions; its row lock is held until commit, so
-- positions follow commit order and a rolled-back change leaves no gap.
CREATE TABLE events (
    position       BIGINT PRIMARY KEY,
    time           TIMESTAMPTZ NOT NULL,
    type           TEXT NOT NULL,
    resource       TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    etag           TEXT NOT NULL DEFAULT '',
    changed_fields TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_time ON events (time);

-- pruned_through: events at or before it have been removed by retention.
CREATE TABLE event_head (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    position       BIGINT NOT NULL,
    pruned_through BIGINT NOT NULL
);
INSERT INTO event_head (id, position, pruned_through) VALUES (1, 0, 0);

-- +goose Down
DROP TABLE event_head;
DROP TABLE events;
