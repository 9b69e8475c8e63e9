-- +goose Up
-- The audit chain becomes keyed: each entry's hash is an HMAC under an audit
-- key held in the keyring, outside the database, named here. Entries from
-- before keep '' (a plain SHA-256) and still verify.
ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_log DROP COLUMN key_id;
