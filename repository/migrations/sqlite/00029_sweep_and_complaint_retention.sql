-- +goose Up
-- The orphan sweep (issue 14 follow-up) deletes the attachment store's
-- blobs that no attachment row names once they are older than a grace
-- period, so the database's own store records when each part was written.
-- SQLite adds a column only with a constant default: the parts already
-- stored count as old. That is safe because the embedded database has one
-- server, which migrates before it serves, so no upload is in flight: a
-- blob stored before this migration with no row is an orphan already.
ALTER TABLE attachment_blob_parts ADD COLUMN put_time DATETIME NOT NULL DEFAULT '1970-01-01 00:00:00+00:00';
-- Closed complaints join the retention schedule (issue 15 follow-up): the
-- complainant's name, phone and account are erased a period after the
-- complaint was upheld or dismissed; erase_time says when, so a run passes
-- an erased complaint by.
ALTER TABLE complaints ADD COLUMN erase_time DATETIME NULL;
CREATE INDEX complaints_erasable ON complaints (update_time) WHERE erase_time IS NULL;

-- +goose Down
DROP INDEX complaints_erasable;
ALTER TABLE complaints DROP COLUMN erase_time;
ALTER TABLE attachment_blob_parts DROP COLUMN put_time;
