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

-- One open case of a kind per member (OPEN_CASE_PER_KIND) is kept by the
-- store under the member's row lock, not by a unique index: registers
-- imported before the rule may hold such pairs, and an index would refuse
-- the migration; the rule holds for every case opened from now on.

-- +goose Down
DROP INDEX cases_assignee_status;
DROP TABLE assignee_towns;
DROP TABLE assignees;
