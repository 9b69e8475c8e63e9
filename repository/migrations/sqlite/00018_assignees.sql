-- +goose Up
-- The assignee directory: the staff cases are assigned to and the towns each
-- may work in. assignee_towns repeats town_codes one row per town so the
-- town scope of a read is an indexed EXISTS, as for campaigns.
CREATE TABLE assignees (
    id           TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL,
    town_codes   TEXT NOT NULL DEFAULT '',
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    revision     INTEGER NOT NULL,
    create_time  DATETIME NOT NULL,
    update_time  DATETIME NOT NULL
);
CREATE TABLE assignee_towns (
    assignee_id TEXT NOT NULL REFERENCES assignees (id),
    town_code   TEXT NOT NULL,
    PRIMARY KEY (assignee_id,town_code)
);
CREATE INDEX assignee_towns_town ON assignee_towns (town_code, assignee_id);

-- The workload view counts one assignee's open cases by status and kind,
-- and their overdue ones, within the caller's towns: every column it reads
-- is in this index, so it never touches the table.
CREATE INDEX cases_assignee_status ON cases (assignee, status, kind, town_code, due_time);

-- One open case of a kind per member (OPEN_CASE_PER_KIND). The service
-- checks first to name the open case; this index is what makes two
-- concurrent opens unable to both commit. The statuses are those of
-- domain.Status.Open.
CREATE UNIQUE INDEX cases_one_open_per_kind ON cases (subject_id, kind)
    WHERE status IN ('DRAFT', 'SUBMITTED', 'AWAITING_MATERIALS', 'ACCEPTED', 'IN_PROGRESS');

-- +goose Down
DROP INDEX cases_one_open_per_kind;
DROP INDEX cases_assignee_status;
DROP TABLE assignee_towns;
DROP TABLE assignees;
