-- +goose Up
-- Issue 15: the tables of the shared rate limit (see the PostgreSQL
-- migration). One SQLite file has one server, whose limits are kept in its
-- memory; the tables are here so that both schemas stay alike and the
-- store's conformance tests run on both.
CREATE TABLE rate_buckets (
    key      TEXT PRIMARY KEY,
    tat      INTEGER NOT NULL,
    admitted BOOLEAN NOT NULL
);

CREATE TABLE lookup_streaks (
    key      TEXT PRIMARY KEY,
    misses   INTEGER NOT NULL,
    until_ns INTEGER NOT NULL,
    last_ns  INTEGER NOT NULL
);

-- +goose Down
DROP TABLE lookup_streaks;
DROP TABLE rate_buckets;
