-- +goose Up
-- AIP-155 request ids: the first answer to each (principal, request id),
-- written in the transaction of the change it answers, so a retry finds it
-- exactly when the change happened. The answer is sealed like other
-- personal data: it may hold a case's details.
-- The key's columns are written without a space: the gorm SQLite driver
-- reads a table's primary key back from this text, and only that way.
CREATE TABLE request_ids (
    principal    TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    method       TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    create_time  DATETIME NOT NULL,
    expire_time  DATETIME NOT NULL,
    PRIMARY KEY (principal,request_id)
);
CREATE INDEX request_ids_expire_time ON request_ids (expire_time);

-- +goose Down
DROP TABLE request_ids;
