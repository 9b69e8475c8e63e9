-- +goose Up
-- ID and phone numbers become sealed (encrypted) values; equality and
-- uniqueness move to keyed blind indexes. Existing plaintext rows are sealed
-- and indexed by the server at start (the same pass `keys rotate` runs).
ALTER TABLE households ADD COLUMN servicemember_id_index TEXT NOT NULL DEFAULT '';
DROP INDEX households_live_servicemember;
CREATE UNIQUE INDEX households_live_servicemember_index ON households (servicemember_id_index)
    WHERE delete_time IS NULL AND servicemember_id_index <> '';

ALTER TABLE members ADD COLUMN id_number_index TEXT NOT NULL DEFAULT '';
DROP INDEX members_live_id_number;
DROP INDEX members_id_number;
CREATE UNIQUE INDEX members_live_id_number_index ON members (household_id, id_number_index)
    WHERE id_number_index <> '' AND delete_time IS NULL;
CREATE INDEX members_id_number_index ON members (id_number_index)
    WHERE id_number_index <> '' AND delete_time IS NULL;

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    roles       TEXT NOT NULL,
    towns       TEXT NOT NULL DEFAULT '',
    secret_hash TEXT NOT NULL,
    expire_time TIMESTAMPTZ NOT NULL,
    revoke_time TIMESTAMPTZ NULL,
    create_time TIMESTAMPTZ NOT NULL,
    creator     TEXT NOT NULL
);
CREATE UNIQUE INDEX api_keys_live_account ON api_keys (account) WHERE revoke_time IS NULL;
CREATE INDEX api_keys_create ON api_keys (create_time, id);

-- The audit log is append-only and hash-chained; audit_head holds the last
-- link, and updating it serialises writers so the chain never forks.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    time        TIMESTAMPTZ NOT NULL,
    principal   TEXT NOT NULL,
    roles       TEXT NOT NULL,
    credential  TEXT NOT NULL,
    method      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    action      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    fields      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_principal ON audit_log (principal, seq);
CREATE INDEX audit_log_resource ON audit_log (resource, seq);
CREATE INDEX audit_log_method ON audit_log (method, seq);
CREATE INDEX audit_log_time ON audit_log (time, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP TRIGGER audit_log_no_update ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE api_keys;
DROP INDEX members_id_number_index;
DROP INDEX members_live_id_number_index;
ALTER TABLE members DROP COLUMN id_number_index;
CREATE UNIQUE INDEX members_live_id_number ON members (household_id, id_number) WHERE id_number <> '' AND delete_time IS NULL;
CREATE INDEX members_id_number ON members (id_number) WHERE id_number <> '' AND delete_time IS NULL;
DROP INDEX households_live_servicemember_index;
ALTER TABLE households DROP COLUMN servicemember_id_index;
CREATE UNIQUE INDEX households_live_servicemember ON households (servicemember_id_number) WHERE delete_time IS NULL;
