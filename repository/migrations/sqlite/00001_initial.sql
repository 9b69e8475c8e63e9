-- +goose Up
CREATE TABLE households (
    id                      TEXT NOT NULL PRIMARY KEY,
    servicemember_name      TEXT NOT NULL,
    servicemember_id_number TEXT NOT NULL,
    service_branch          TEXT NOT NULL DEFAULT '',
    rank_category           TEXT NOT NULL DEFAULT '',
    post_type               TEXT NOT NULL,
    unit                    TEXT NOT NULL DEFAULT '',
    category                TEXT NOT NULL,
    town_code               TEXT NOT NULL,
    address                 TEXT NOT NULL DEFAULT '',
    phone                   TEXT NOT NULL DEFAULT '',
    hardship                BOOLEAN NOT NULL DEFAULT FALSE,
    hardship_note           TEXT NOT NULL DEFAULT '',
    revision                INTEGER NOT NULL,
    create_time             DATETIME NOT NULL,
    update_time             DATETIME NOT NULL,
    delete_time             DATETIME NULL
);
-- One live household per servicemember; deleted ones keep their rows.
CREATE UNIQUE INDEX households_live_servicemember ON households (servicemember_id_number) WHERE delete_time IS NULL;
CREATE INDEX households_create ON households (create_time, id);
CREATE INDEX households_town_create ON households (town_code, create_time, id);

CREATE TABLE members (
    id           TEXT NOT NULL PRIMARY KEY,
    household_id TEXT NOT NULL REFERENCES households (id),
    relation     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    id_number    TEXT NOT NULL DEFAULT '',
    birth_date   DATE NOT NULL,
    phone        TEXT NOT NULL DEFAULT '',
    accompanying BOOLEAN NOT NULL DEFAULT FALSE,
    revision     INTEGER NOT NULL,
    create_time  DATETIME NOT NULL,
    update_time  DATETIME NOT NULL,
    delete_time  DATETIME NULL
);
CREATE INDEX members_household_create ON members (household_id, create_time, id);
CREATE UNIQUE INDEX members_live_id_number ON members (household_id, id_number) WHERE id_number <> '' AND delete_time IS NULL;
CREATE INDEX members_id_number ON members (id_number) WHERE id_number <> '' AND delete_time IS NULL;

CREATE TABLE cases (
    id               TEXT NOT NULL PRIMARY KEY,
    case_number      TEXT NOT NULL UNIQUE,
    household_id     TEXT NOT NULL REFERENCES households (id),
    subject_id       TEXT NOT NULL REFERENCES members (id),
    kind             TEXT NOT NULL,
    details          TEXT NOT NULL,
    placement_year   INTEGER NULL,
    status           TEXT NOT NULL,
    assignee         TEXT NOT NULL DEFAULT '',
    town_code        TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    priority_reasons TEXT NOT NULL DEFAULT '',
    due_time         DATETIME NULL,
    outcome_result   TEXT NOT NULL DEFAULT '',
    outcome_summary  TEXT NOT NULL DEFAULT '',
    status_reason    TEXT NOT NULL DEFAULT '',
    creator          TEXT NOT NULL DEFAULT '',
    revision         INTEGER NOT NULL,
    create_time      DATETIME NOT NULL,
    update_time      DATETIME NOT NULL,
    submit_time      DATETIME NULL,
    resolve_time     DATETIME NULL
);
CREATE INDEX cases_create ON cases (create_time, id);
CREATE INDEX cases_due ON cases (due_time, id);
CREATE INDEX cases_town_status_kind_create ON cases (town_code, status, kind, create_time, id);
CREATE INDEX cases_status_due ON cases (status, due_time);
CREATE INDEX cases_household ON cases (household_id, create_time, id);
CREATE INDEX cases_subject ON cases (subject_id);
CREATE INDEX cases_assignee ON cases (assignee, create_time, id);

CREATE TABLE case_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id        TEXT NOT NULL REFERENCES cases (id),
    time           DATETIME NOT NULL,
    actor          TEXT NOT NULL,
    method         TEXT NOT NULL,
    from_status    TEXT NOT NULL DEFAULT '',
    to_status      TEXT NOT NULL DEFAULT '',
    changed_fields TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_history_case ON case_history (case_id, id);

CREATE TABLE case_notes (
    id          TEXT NOT NULL PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases (id),
    body        TEXT NOT NULL,
    author      TEXT NOT NULL,
    create_time DATETIME NOT NULL
);
CREATE INDEX case_notes_case_create ON case_notes (case_id, create_time, id);

-- The last case number handed out per year. Incremented inside the case's own
-- transaction, so numbers are gap-free and unique with many writers.
CREATE TABLE case_number_sequences (
    year       INTEGER NOT NULL PRIMARY KEY,
    last_value INTEGER NOT NULL
);

-- +goose Down
DROP TABLE case_number_sequences;
DROP TABLE case_notes;
DROP TABLE case_history;
DROP TABLE cases;
DROP TABLE members;
DROP TABLE households;
