-- +goose Up
-- Issue 13, part 4: targeted recruitment events for accompanying spouses.
-- An event serves several towns (recruitment_event_towns, which the town
-- scope reads); its employers and their positions are JSON text, since they
-- are only ever read and written with the event. Invitations and
-- applications carry the town of the spouse's case, so a town's caseworkers
-- see only their own spouses.
CREATE TABLE recruitment_events (
    id          TEXT NOT NULL PRIMARY KEY,
    title       TEXT NOT NULL,
    event_date  DATE NOT NULL,
    event_year  INTEGER NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    organiser   TEXT NOT NULL DEFAULT '',
    town_codes  TEXT NOT NULL,
    employers   TEXT NOT NULL,
    creator     TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    create_time DATETIME NOT NULL,
    update_time DATETIME NOT NULL
);
CREATE INDEX recruitment_events_create ON recruitment_events (create_time, id);
CREATE INDEX recruitment_events_year ON recruitment_events (event_year);

CREATE TABLE recruitment_event_towns (
    event_id  TEXT NOT NULL REFERENCES recruitment_events (id),
    town_code TEXT NOT NULL
);
CREATE UNIQUE INDEX recruitment_event_towns_event_town ON recruitment_event_towns (event_id, town_code);
CREATE INDEX recruitment_event_towns_town ON recruitment_event_towns (town_code, event_id);

CREATE TABLE recruitment_invitations (
    id           TEXT NOT NULL PRIMARY KEY,
    event_id     TEXT NOT NULL REFERENCES recruitment_events (id),
    case_id      TEXT NOT NULL REFERENCES cases (id),
    household_id TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    town_code    TEXT NOT NULL,
    inviter      TEXT NOT NULL,
    create_time  DATETIME NOT NULL
);
-- A spouse's case is invited once per event: re-inviting adds only new ones.
CREATE UNIQUE INDEX recruitment_invitations_event_case ON recruitment_invitations (event_id, case_id);
CREATE INDEX recruitment_invitations_event_create ON recruitment_invitations (event_id, create_time, id);

-- stage is the furthest status reached, kept when an application is
-- declined, so the figures count what happened before.
CREATE TABLE recruitment_applications (
    id             TEXT NOT NULL PRIMARY KEY,
    event_id       TEXT NOT NULL REFERENCES recruitment_events (id),
    invitation_id  TEXT NOT NULL REFERENCES recruitment_invitations (id),
    case_id        TEXT NOT NULL,
    position_id    TEXT NOT NULL,
    status         TEXT NOT NULL,
    stage          TEXT NOT NULL,
    town_code      TEXT NOT NULL,
    placement_date DATE,
    revision       BIGINT NOT NULL,
    create_time    DATETIME NOT NULL,
    update_time    DATETIME NOT NULL
);
-- One application per invited spouse and position.
CREATE UNIQUE INDEX recruitment_applications_position ON recruitment_applications (event_id, invitation_id, position_id);
CREATE INDEX recruitment_applications_event_create ON recruitment_applications (event_id, create_time, id);

-- +goose Down
DROP TABLE recruitment_applications;
DROP TABLE recruitment_invitations;
DROP TABLE recruitment_event_towns;
DROP TABLE recruitment_events;
