-- +goose Up
-- Issue 14, holds: the hold in force on a case (start and end both set
-- exactly while it is held; the reason and holder kept beside them) and,
-- over the case's life, the time spent on holds that ended and how many
-- there were. The partial index is what the hold-end sweep reads.
ALTER TABLE cases ADD COLUMN hold_start_time TIMESTAMPTZ NULL;
ALTER TABLE cases ADD COLUMN hold_end_time TIMESTAMPTZ NULL;
ALTER TABLE cases ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN hold_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN held_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN hold_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_hold_end ON cases (hold_end_time, id) WHERE hold_end_time IS NOT NULL;

-- +goose Down
DROP INDEX cases_hold_end;
ALTER TABLE cases DROP COLUMN hold_count;
ALTER TABLE cases DROP COLUMN held_seconds;
ALTER TABLE cases DROP COLUMN hold_holder;
ALTER TABLE cases DROP COLUMN hold_reason;
ALTER TABLE cases DROP COLUMN hold_end_time;
ALTER TABLE cases DROP COLUMN hold_start_time;
