-- +goose Up
-- An API key carrying a people's role works only once a second admin has
-- approved it (when the server allows such keys at all).
ALTER TABLE api_keys ADD COLUMN needs_approval BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_keys ADD COLUMN approver TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN approve_time DATETIME NULL;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN approve_time;
ALTER TABLE api_keys DROP COLUMN approver;
ALTER TABLE api_keys DROP COLUMN needs_approval;
