-- +goose Up
-- The audit chain becomes keyed: each entry's hash is an HMAC under an audit
-- key held in the keyring, outside the database, named here. Entries from
-- before keep '' (a plain SHA-256) and still verify.
ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- From now on every entry is keyed, and an unkeyed one after a keyed one
-- breaks the chain for good. A server of the previous version still running
-- would write exactly that, so its entries (and with them its changes) are
-- refused instead. This guards against a mistake, not an attacker, who can
-- drop it: `casework audit verify` is what catches an attacker.
-- +goose StatementBegin
CREATE TRIGGER audit_log_keyed BEFORE INSERT ON audit_log WHEN NEW.key_id = ''
BEGIN
    SELECT RAISE(ABORT, 'audit_log: unkeyed entry refused (is a server of an older version still running?)');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_keyed;
ALTER TABLE audit_log DROP COLUMN key_id;
