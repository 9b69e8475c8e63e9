-- +goose Up
-- Issue 11: what the law distinguishes about a household (军人抚恤优待条例
-- Art 2) instead of a single category, and the history of its changes.
-- docs/migrations.md explains the mapping of existing rows; nothing is
-- dropped: category stays, and is derived from the status from now on.
ALTER TABLE households ADD COLUMN servicemember_status TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN disability_grade INTEGER NOT NULL DEFAULT 0;
ALTER TABLE households ADD COLUMN decorated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE households ADD COLUMN honour TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN hardship_grade INTEGER NOT NULL DEFAULT 0;
ALTER TABLE households ADD COLUMN approval_number TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN approval_date DATE NULL;
ALTER TABLE households ADD COLUMN approval_unit TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN settled_at_home BOOLEAN NOT NULL DEFAULT FALSE;
-- Sealed at rest like the ID and phone numbers.
ALTER TABLE households ADD COLUMN preferential_certificate_number TEXT NOT NULL DEFAULT '';

ALTER TABLE members ADD COLUMN cannot_live_independently BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE members ADD COLUMN id_number_converted BOOLEAN NOT NULL DEFAULT FALSE;

-- The status a category (and, for active duty, the rank) meant; the same
-- mapping as domain.StatusFromCategory. OTHER_ENTITLED, and active duty
-- without an officer, NCO or conscript rank, say no status: those rows keep
-- '' and their category until a caseworker records the status.
UPDATE households SET servicemember_status = CASE
    WHEN category = 'VETERAN' THEN 'VETERAN'
    WHEN category = 'MARTYR_FAMILY' THEN 'MARTYR'
    WHEN category IN ('ACTIVE_DUTY_FAMILY', 'MERITORIOUS') AND rank_category = 'OFFICER' THEN 'ACTIVE_OFFICER'
    WHEN category IN ('ACTIVE_DUTY_FAMILY', 'MERITORIOUS') AND rank_category = 'NCO' THEN 'ACTIVE_NCO'
    WHEN category IN ('ACTIVE_DUTY_FAMILY', 'MERITORIOUS') AND rank_category = 'CONSCRIPT' THEN 'ACTIVE_CONSCRIPT'
    ELSE '' END;
UPDATE households SET decorated = TRUE WHERE category = 'MERITORIOUS';
CREATE INDEX households_status_create ON households (servicemember_status, create_time, id);

CREATE TABLE status_changes (
    id                    TEXT NOT NULL PRIMARY KEY,
    household_id          TEXT NOT NULL REFERENCES households (id),
    kind                  TEXT NOT NULL,
    effective_date        DATE NOT NULL,
    from_status           TEXT NOT NULL DEFAULT '',
    to_status             TEXT NOT NULL DEFAULT '',
    from_post_type        TEXT NOT NULL DEFAULT '',
    to_post_type          TEXT NOT NULL DEFAULT '',
    from_disability_grade INTEGER NOT NULL DEFAULT 0,
    to_disability_grade   INTEGER NOT NULL DEFAULT 0,
    note                  TEXT NOT NULL DEFAULT '',
    recorder              TEXT NOT NULL,
    record_time           DATETIME NOT NULL
);
CREATE INDEX status_changes_household ON status_changes (household_id, record_time, id);

-- +goose Down
DROP TABLE status_changes;
DROP INDEX households_status_create;
ALTER TABLE members DROP COLUMN id_number_converted;
ALTER TABLE members DROP COLUMN cannot_live_independently;
ALTER TABLE households DROP COLUMN preferential_certificate_number;
ALTER TABLE households DROP COLUMN settled_at_home;
ALTER TABLE households DROP COLUMN approval_unit;
ALTER TABLE households DROP COLUMN approval_date;
ALTER TABLE households DROP COLUMN approval_number;
ALTER TABLE households DROP COLUMN hardship_grade;
ALTER TABLE households DROP COLUMN honour;
ALTER TABLE households DROP COLUMN decorated;
ALTER TABLE households DROP COLUMN disability_grade;
ALTER TABLE households DROP COLUMN servicemember_status;
