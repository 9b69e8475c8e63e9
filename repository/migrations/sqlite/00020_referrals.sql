-- +goose Up
-- Issue 14: referrals of cases to partner agencies, and alerts of
-- deadlines. Calendar dates are YYYY-MM-DD text, as in the ledger, so that
-- they compare as dates and mean the same day on both databases. A
-- referral's request and reply are sealed at rest.
CREATE TABLE agencies (
    id           TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL,
    case_types   TEXT NOT NULL DEFAULT '',
    active       BOOLEAN NOT NULL,
    revision     INTEGER NOT NULL,
    create_time  DATETIME NOT NULL,
    update_time  DATETIME NOT NULL
);
-- The county bodies issue 14 names; an admin edits or adds to them.
INSERT INTO agencies (id, display_name, case_types, active, revision, create_time, update_time) VALUES
    ('rsj', '人社局', 'EMPLOYMENT_PLACEMENT', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('xjw', '县教委', 'SCHOOL_ENROLLMENT', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('ybj', '医保局', 'ELDER_MEDICAL_HELP', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('wjw', '卫健委', 'ELDER_MEDICAL_HELP', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('sfj-flyz', '司法局法律援助中心', 'LEGAL_AID', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('rwb', '人武部', '', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

CREATE TABLE referrals (
    id                 TEXT NOT NULL PRIMARY KEY,
    case_id            TEXT NOT NULL REFERENCES cases (id),
    agency_id          TEXT NOT NULL REFERENCES agencies (id),
    sent_date          TEXT NOT NULL,
    request_sealed     TEXT NOT NULL,
    agency_reference   TEXT NOT NULL DEFAULT '',
    reply_sealed       TEXT NOT NULL DEFAULT '',
    reply_date         TEXT NULL,
    follow_up_due_date TEXT NOT NULL,
    creator            TEXT NOT NULL,
    revision           INTEGER NOT NULL,
    create_time        DATETIME NOT NULL,
    update_time        DATETIME NOT NULL,
    delete_time        DATETIME NULL
);
CREATE INDEX referrals_case ON referrals (case_id, sent_date, id);
-- The alert scan's range: live referrals awaiting a reply, by due date.
CREATE INDEX referrals_awaiting ON referrals (follow_up_due_date) WHERE reply_date IS NULL AND delete_time IS NULL;
CREATE INDEX referrals_agency ON referrals (agency_id, sent_date);

-- One alert per case (or referral), kind and deadline: the unique key is
-- what makes a second scan, or a second server's, raise nothing.
CREATE TABLE alerts (
    id               TEXT NOT NULL PRIMARY KEY,
    kind             TEXT NOT NULL,
    case_id          TEXT NOT NULL REFERENCES cases (id),
    referral_id      TEXT NOT NULL DEFAULT '',
    due_time         DATETIME NOT NULL,
    raise_time       DATETIME NOT NULL,
    acknowledged_by  TEXT NOT NULL DEFAULT '',
    acknowledge_time DATETIME NULL,
    revision         INTEGER NOT NULL
);
CREATE UNIQUE INDEX alerts_once ON alerts (case_id, referral_id, kind, due_time);
CREATE INDEX alerts_due ON alerts (due_time, id);

-- +goose Down
DROP TABLE alerts;
DROP TABLE referrals;
DROP TABLE agencies;
