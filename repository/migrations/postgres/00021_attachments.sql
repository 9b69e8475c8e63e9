-- +goose Up
-- Issue 14: documents attached to cases. A row describes the file (its
-- name and description sealed: they may name a person or an illness); the
-- bytes live in the attachment store (--attachment-store), sealed there,
-- under the row's id. A row is written only after its bytes are stored,
-- so a row always has its blob; a blob whose row did not commit is deleted
-- by the upload that wrote it. Deleting is soft: the row keeps its
-- delete_time, and the blob stays for the record.
CREATE TABLE attachments (
    id                    TEXT NOT NULL PRIMARY KEY,
    case_id               TEXT NOT NULL REFERENCES cases (id),
    file_name             TEXT NOT NULL,
    declared_content_type TEXT NOT NULL,
    content_type          TEXT NOT NULL,
    size_bytes            BIGINT NOT NULL,
    sha256                TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    uploader              TEXT NOT NULL,
    revision              BIGINT NOT NULL,
    create_time           TIMESTAMPTZ NOT NULL,
    delete_time           TIMESTAMPTZ
);
CREATE INDEX attachments_case ON attachments (case_id, create_time, id);

-- The database attachment store (--attachment-store=postgres): each blob
-- in parts of at most 1 MiB, so neither side holds a whole file.
CREATE TABLE attachment_blob_parts (
    blob_key TEXT NOT NULL,
    part     INTEGER NOT NULL,
    data     BYTEA NOT NULL,
    PRIMARY KEY (blob_key,part)
);

-- +goose Down
DROP TABLE attachment_blob_parts;
DROP TABLE attachments;
