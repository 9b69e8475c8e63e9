-- +goose Up
-- Issue 14: transfers between towns, fuzzy duplicates and merges.

-- A pending transfer lives on the household: the scope of every read of
-- households includes those whose transfer_to_town is one of the caller's
-- towns, so the receiving town sees the household while it decides.
-- transfer_reason is sealed at rest like the ledger's free text.
ALTER TABLE households ADD COLUMN transfer_to_town TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN transfer_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN transfer_requester TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN transfer_time TIMESTAMPTZ NULL;
CREATE INDEX households_transfer_to ON households (transfer_to_town) WHERE transfer_to_town <> '';
-- The survivor's id, once the household was merged into it.
ALTER TABLE households ADD COLUMN merged_into TEXT NOT NULL DEFAULT '';

-- Keyed blind indexes of a person's name with their birth date, and with a
-- phone, for the fuzzy duplicate check: names are compared as the index of
-- both, never in plaintext SQL, and phones stay sealed. Existing rows get
-- theirs from the reseal pass every server runs before serving (a missing
-- index counts as stale there), since only the server holds the index key.
ALTER TABLE households ADD COLUMN name_birth_index TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN name_phone_index TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN name_birth_index TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN name_phone_index TEXT NOT NULL DEFAULT '';
CREATE INDEX households_name_birth ON households (name_birth_index) WHERE delete_time IS NULL;
CREATE INDEX households_name_phone ON households (name_phone_index) WHERE delete_time IS NULL AND name_phone_index <> '';
CREATE INDEX members_name_birth ON members (name_birth_index) WHERE delete_time IS NULL;
CREATE INDEX members_name_phone ON members (name_phone_index) WHERE delete_time IS NULL AND name_phone_index <> '';

-- A household's own history: transfers and merges. reason is sealed.
CREATE TABLE household_history (
    id              TEXT NOT NULL PRIMARY KEY,
    household_id    TEXT NOT NULL REFERENCES households (id),
    time            TIMESTAMPTZ NOT NULL,
    actor           TEXT NOT NULL,
    method          TEXT NOT NULL,
    action          TEXT NOT NULL,
    from_town_code  TEXT NOT NULL DEFAULT '',
    to_town_code    TEXT NOT NULL DEFAULT '',
    other_household TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    moved           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX household_history_household ON household_history (household_id, time, id);

-- +goose Down
DROP TABLE household_history;
DROP INDEX members_name_phone;
DROP INDEX members_name_birth;
DROP INDEX households_name_phone;
DROP INDEX households_name_birth;
ALTER TABLE members DROP COLUMN name_phone_index;
ALTER TABLE members DROP COLUMN name_birth_index;
ALTER TABLE households DROP COLUMN name_phone_index;
ALTER TABLE households DROP COLUMN name_birth_index;
ALTER TABLE households DROP COLUMN merged_into;
DROP INDEX households_transfer_to;
ALTER TABLE households DROP COLUMN transfer_time;
ALTER TABLE households DROP COLUMN transfer_requester;
ALTER TABLE households DROP COLUMN transfer_reason;
ALTER TABLE households DROP COLUMN transfer_to_town;
