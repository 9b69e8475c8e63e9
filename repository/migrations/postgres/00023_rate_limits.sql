-- +goose Up
-- Issue 15: the per-principal rate limit, the lookup budget and the streaks
-- of missed lookups, shared by every replica (internal/ratelimit). One row a
-- bucket: its GCRA theoretical arrival time in nanoseconds since the epoch,
-- and whether the last take was admitted (the take's one statement answers
-- it). UNLOGGED: written on every call, and losing the rows in a crash or a
-- failover only refills everyone's bucket. The fill factor leaves room on
-- each page for the updates to stay heap-only.
CREATE UNLOGGED TABLE rate_buckets (
    key      TEXT PRIMARY KEY,
    tat      BIGINT NOT NULL,
    admitted BOOLEAN NOT NULL
) WITH (fillfactor = 50);

-- A principal's lookups that found nothing in a row, and until when the
-- streak bars further lookups (nanoseconds since the epoch).
CREATE UNLOGGED TABLE lookup_streaks (
    key      TEXT PRIMARY KEY,
    misses   INTEGER NOT NULL,
    until_ns BIGINT NOT NULL,
    last_ns  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE lookup_streaks;
DROP TABLE rate_buckets;
