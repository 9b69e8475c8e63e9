-- +goose Up
-- Issue 13, part 5: long-running operations (AIP-151), run on the job queue
-- (river, whose own tables rivermigrate creates beside these). An
-- operation keeps a snapshot of who started it (roles, towns, credential;
-- never a secret) so the job runs with the caller's rights, not the
-- server's. The request is sealed (an import holds ID numbers) and dropped
-- when the operation ends; the file it produces is sealed too, in a table
-- of its own so that lists never read it, and deleted at expire_time.
CREATE TABLE operations (
    id                 TEXT NOT NULL PRIMARY KEY,
    kind               TEXT NOT NULL,
    method             TEXT NOT NULL,
    creator            TEXT NOT NULL,
    creator_kind       TEXT NOT NULL,
    creator_roles      TEXT NOT NULL,
    creator_towns      TEXT NOT NULL,
    creator_credential TEXT NOT NULL,
    creator_key_id     TEXT NOT NULL DEFAULT '',
    request            TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL,
    cancel_requested   BOOLEAN NOT NULL DEFAULT FALSE,
    rows_read          BIGINT NOT NULL DEFAULT 0,
    rows_written       BIGINT NOT NULL DEFAULT 0,
    rows_refused       BIGINT NOT NULL DEFAULT 0,
    rows_unchanged     BIGINT NOT NULL DEFAULT 0,
    rows_total         BIGINT NOT NULL DEFAULT 0,
    response           BYTEA NOT NULL DEFAULT '',
    error              BYTEA NOT NULL DEFAULT '',
    file_name          TEXT NOT NULL DEFAULT '',
    content_type       TEXT NOT NULL DEFAULT '',
    file_size          BIGINT NOT NULL DEFAULT 0,
    file_sha256        TEXT NOT NULL DEFAULT '',
    file_expired       BOOLEAN NOT NULL DEFAULT FALSE,
    expire_time        TIMESTAMPTZ,
    job_id             BIGINT NOT NULL DEFAULT 0,
    runs               INTEGER NOT NULL DEFAULT 0,
    create_time        TIMESTAMPTZ NOT NULL,
    update_time        TIMESTAMPTZ NOT NULL,
    end_time           TIMESTAMPTZ
);
CREATE INDEX operations_creator ON operations (creator, create_time, id);
CREATE INDEX operations_create ON operations (create_time, id);
CREATE INDEX operations_state ON operations (state);
CREATE INDEX operations_expire ON operations (expire_time);

CREATE TABLE operation_files (
    operation_id TEXT NOT NULL PRIMARY KEY REFERENCES operations (id) ON DELETE CASCADE,
    content      TEXT NOT NULL
);

-- +goose Down
DROP TABLE operation_files;
DROP TABLE operations;
