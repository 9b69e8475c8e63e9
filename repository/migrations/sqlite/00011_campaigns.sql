-- +goose Up
-- Issue 13, part 2: festival-visit campaigns (走访慰问). A campaign's rule
-- is columns a reader can audit (post types and categories comma-joined,
-- the hardship flag), not code.
CREATE TABLE campaigns (
    id              TEXT NOT NULL PRIMARY KEY,
    display_name    TEXT NOT NULL,
    festival        TEXT NOT NULL,
    start_date      DATE NOT NULL,
    end_date        DATE NOT NULL,
    town_codes      TEXT NOT NULL DEFAULT '',
    rule_post_types TEXT NOT NULL DEFAULT '',
    rule_categories TEXT NOT NULL DEFAULT '',
    rule_hardship   BOOLEAN NOT NULL DEFAULT FALSE,
    state           TEXT NOT NULL,
    target_count    INTEGER NOT NULL DEFAULT 0,
    creator         TEXT NOT NULL,
    revision        INTEGER NOT NULL,
    create_time     DATETIME NOT NULL,
    update_time     DATETIME NOT NULL,
    open_time       DATETIME NULL,
    close_time      DATETIME NULL
);
CREATE INDEX campaigns_create ON campaigns (create_time, id);

-- The towns a campaign covers, one row each, so that the caller's scope is
-- a plain IN on an index.
-- (The composite keys are written without a space after the comma, as in
-- 00004: the SQLite migrator's reading of the DDL sees both columns then.)
CREATE TABLE campaign_towns (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    town_code   TEXT NOT NULL,
    PRIMARY KEY (campaign_id,town_code)
);
CREATE INDEX campaign_towns_town ON campaign_towns (town_code, campaign_id);

-- The frozen target list. visit_id is the first (not follow-up) visit, ''
-- until there is one. Coverage is one grouped scan of the index
-- (campaign_id, town_code, visit_id), which covers it while the campaign is
-- open; a town's unvisited households are a range of it in household order.
CREATE TABLE campaign_targets (
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    town_code    TEXT NOT NULL,
    source       TEXT NOT NULL,
    visit_id     TEXT NOT NULL DEFAULT '',
    gap_reason   TEXT NOT NULL DEFAULT '',
    add_time     DATETIME NOT NULL,
    PRIMARY KEY (campaign_id,household_id)
);
CREATE INDEX campaign_targets_town ON campaign_targets (campaign_id, town_code, visit_id, household_id);

CREATE TABLE campaign_visits (
    id           TEXT NOT NULL PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    town_code    TEXT NOT NULL,
    visit_date   DATE NOT NULL,
    visitors     TEXT NOT NULL DEFAULT '',
    form         TEXT NOT NULL,
    goods        TEXT NOT NULL DEFAULT '',
    money_fen    INTEGER NOT NULL DEFAULT 0,
    notes        TEXT NOT NULL DEFAULT '',
    follow_up    BOOLEAN NOT NULL DEFAULT FALSE,
    recorder     TEXT NOT NULL,
    create_time  DATETIME NOT NULL
);
CREATE INDEX campaign_visits_create ON campaign_visits (campaign_id, create_time, id);
-- One visit per household and campaign; follow-ups are the only others.
CREATE UNIQUE INDEX campaign_visits_first ON campaign_visits (campaign_id, household_id) WHERE follow_up = FALSE;

-- +goose Down
DROP TABLE campaign_visits;
DROP TABLE campaign_targets;
DROP TABLE campaign_towns;
DROP TABLE campaigns;
