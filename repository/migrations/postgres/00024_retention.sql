-- +goose Up
-- Issue 15: the retention schedule (PIPL Arts 19 and 47). A household
-- deleted longer than the schedule's period has its personal data erased
-- and is kept as an anonymous shell (id, town, kind, dates) for the
-- statistics and the audit trail; erase_time says when, so a second run
-- passes it by and an erased shell cannot be undeleted.
ALTER TABLE households ADD COLUMN erase_time TIMESTAMPTZ NULL;
-- The retention run's one query: deleted households not yet erased, oldest
-- deletion first.
CREATE INDEX households_erasable ON households (delete_time) WHERE delete_time IS NOT NULL AND erase_time IS NULL;
-- A member deleted from a live household is erased the same way, on its own.
ALTER TABLE members ADD COLUMN erase_time TIMESTAMPTZ NULL;
CREATE INDEX members_erasable ON members (delete_time) WHERE delete_time IS NOT NULL AND erase_time IS NULL;

-- +goose Down
DROP INDEX members_erasable;
ALTER TABLE members DROP COLUMN erase_time;
DROP INDEX households_erasable;
ALTER TABLE households DROP COLUMN erase_time;
