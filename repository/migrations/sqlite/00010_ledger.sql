-- +goose Up
-- Issue 13, part 1: the household ledger. Contacts and hardship assistance
-- belong to a household; the contact policy is one row; every household
-- carries the day it is next due a contact, kept by the store on every
-- write that moves it, so that the overdue list is an index range.
-- Calendar dates are kept as YYYY-MM-DD text on both databases.
CREATE TABLE contacts (
    id           TEXT NOT NULL PRIMARY KEY,
    household_id TEXT NOT NULL REFERENCES households (id),
    contact_date TEXT NOT NULL,
    channel      TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    raised       TEXT NOT NULL DEFAULT '',
    follow_ups   TEXT NOT NULL DEFAULT '',
    revision     INTEGER NOT NULL,
    create_time  DATETIME NOT NULL,
    update_time  DATETIME NOT NULL
);
CREATE INDEX contacts_household_date ON contacts (household_id, contact_date, id);

-- A case opened by a contact's follow-up names the contact.
ALTER TABLE cases ADD COLUMN source_contact TEXT NOT NULL DEFAULT '';

CREATE TABLE assistance (
    id              TEXT NOT NULL PRIMARY KEY,
    household_id    TEXT NOT NULL REFERENCES households (id),
    kind            TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen > 0),
    assistance_date TEXT NOT NULL,
    source_of_funds TEXT NOT NULL,
    approver        TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    recorded_by     TEXT NOT NULL,
    create_time     DATETIME NOT NULL
);
CREATE INDEX assistance_household_date ON assistance (household_id, assistance_date, id);

CREATE TABLE contact_policy (
    id                           INTEGER NOT NULL PRIMARY KEY,
    border_mission_interval_days INTEGER NOT NULL,
    hardship_interval_days       INTEGER NOT NULL,
    revision                     INTEGER NOT NULL,
    update_time                  DATETIME NOT NULL
);
INSERT INTO contact_policy (id, border_mission_interval_days, hardship_interval_days, revision, update_time)
VALUES (1, 90, 30, 1, CURRENT_TIMESTAMP);

-- YYYY-MM-DD, NULL when no class of the policy applies.
ALTER TABLE households ADD COLUMN next_contact_due TEXT NULL;
CREATE INDEX households_next_contact_due ON households (next_contact_due, id);
-- No household has a contact yet: each is due from the day it was
-- registered (China time) by the default policy's shortest interval.
UPDATE households SET next_contact_due = date(create_time, '+8 hours', CASE WHEN hardship THEN '+30 days' ELSE '+90 days' END)
WHERE hardship OR post_type IN ('BORDER_COASTAL_DEFENCE', 'MISSION_UNIT');

-- +goose Down
DROP INDEX households_next_contact_due;
ALTER TABLE households DROP COLUMN next_contact_due;
DROP TABLE contact_policy;
DROP TABLE assistance;
DROP TABLE contacts;
ALTER TABLE cases DROP COLUMN source_contact;
