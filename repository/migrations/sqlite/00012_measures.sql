-- +goose Up
-- Issue 13, part 3: the preferential-measures ledger (惠军措施台账). The
-- organisations that signed a support agreement (the contact phone sealed
-- at rest like every phone), their measures with the state the ledger's
-- entry and exit moves, each measure's state history, its periodic reviews
-- and the public's complaints (the complainant's phone sealed too).
-- Categories and towns are comma-joined lists ('' for all). reviewed_time
-- is the last review's date, or the creation before any: the review-overdue
-- filter compares it with the review period.
CREATE TABLE organizations (
    id                    TEXT NOT NULL PRIMARY KEY,
    display_name          TEXT NOT NULL,
    credit_code           TEXT NOT NULL,
    contact_name          TEXT NOT NULL DEFAULT '',
    contact_phone         TEXT NOT NULL DEFAULT '',
    agreement_sign_date   DATE NOT NULL,
    agreement_expiry_date DATE NOT NULL,
    revision              INTEGER NOT NULL,
    create_time           DATETIME NOT NULL,
    update_time           DATETIME NOT NULL
);
CREATE UNIQUE INDEX organizations_credit_code ON organizations (credit_code);
CREATE INDEX organizations_create ON organizations (create_time, id);
CREATE INDEX organizations_expiry ON organizations (agreement_expiry_date);

CREATE TABLE measures (
    id                     TEXT NOT NULL PRIMARY KEY,
    organization_id        TEXT NOT NULL REFERENCES organizations (id),
    title                  TEXT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    kind                   TEXT NOT NULL,
    state                  TEXT NOT NULL,
    state_reason           TEXT NOT NULL DEFAULT '',
    beneficiary_categories TEXT NOT NULL DEFAULT '',
    town_codes             TEXT NOT NULL DEFAULT '',
    valid_from             DATE NULL,
    valid_until            DATE NULL,
    last_review_date       DATE NULL,
    reviewed_time          DATETIME NOT NULL,
    revision               INTEGER NOT NULL,
    create_time            DATETIME NOT NULL,
    update_time            DATETIME NOT NULL
);
CREATE INDEX measures_create ON measures (create_time, id);
CREATE INDEX measures_organization ON measures (organization_id, create_time, id);
CREATE INDEX measures_state ON measures (state, reviewed_time);

CREATE TABLE measure_history (
    id         TEXT NOT NULL PRIMARY KEY,
    measure_id TEXT NOT NULL REFERENCES measures (id),
    time       DATETIME NOT NULL,
    actor      TEXT NOT NULL,
    method     TEXT NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX measure_history_measure ON measure_history (measure_id, time, id);

CREATE TABLE measure_reviews (
    id          TEXT NOT NULL PRIMARY KEY,
    organization_id TEXT NOT NULL,
    measure_id  TEXT NOT NULL REFERENCES measures (id),
    review_date DATE NOT NULL,
    reviewer    TEXT NOT NULL,
    honoured    BOOLEAN NOT NULL,
    findings    TEXT NOT NULL DEFAULT '',
    create_time DATETIME NOT NULL
);
CREATE INDEX measure_reviews_measure ON measure_reviews (measure_id, create_time, id);

CREATE TABLE complaints (
    id                TEXT NOT NULL PRIMARY KEY,
    organization_id   TEXT NOT NULL,
    measure_id        TEXT NOT NULL REFERENCES measures (id),
    complainant_name  TEXT NOT NULL,
    complainant_phone TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL,
    state             TEXT NOT NULL,
    resolution        TEXT NOT NULL DEFAULT '',
    measure_suspended BOOLEAN NOT NULL DEFAULT FALSE,
    revision          INTEGER NOT NULL,
    create_time       DATETIME NOT NULL,
    update_time       DATETIME NOT NULL
);
CREATE INDEX complaints_measure ON complaints (measure_id, create_time, id);

-- +goose Down
DROP TABLE complaints;
DROP TABLE measure_reviews;
DROP TABLE measure_history;
DROP TABLE measures;
DROP TABLE organizations;
