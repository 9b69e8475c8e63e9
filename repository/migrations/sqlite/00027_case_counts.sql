-- +goose Up
-- The statistics' counts per China calendar month (Asia/Shanghai, UTC+8
-- with no daylight saving; month is year * 100 + month), kept by the store
-- in the transaction of each fact (repository/facts.go), so that a year,
-- quarter or month reads a few thousand rows instead of every fact of the
-- period. They are sums of case_facts and nothing else: the storage suite
-- holds them to the facts, and the statements below rebuild them from the
-- facts at any time.

-- Endings (town × kind × status × result, with a school enrolment's stage
-- and basis) and legal-aid decisions (met or not).
CREATE TABLE case_month_counts (
    month          INTEGER NOT NULL,
    town_code      TEXT NOT NULL,
    fact           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    result         TEXT NOT NULL,
    school_stage   TEXT NOT NULL,
    priority_basis TEXT NOT NULL,
    met            BOOLEAN NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (month, town_code, fact, kind, status, result, school_stage, priority_basis, met)
) WITHOUT ROWID;
-- Resolutions by days to resolve: a histogram, so the median and the 90th
-- percentile stay exact, in rows of their own so the rows above stay few.
CREATE TABLE case_month_days (
    month     INTEGER NOT NULL,
    town_code TEXT NOT NULL,
    days      INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (month, town_code, days)
) WITHOUT ROWID;
-- The placement rate counts cases, not facts: a case decided eligible twice,
-- or placed, reopened and placed again, counts once in its placement year,
-- in the month of its first such fact. town_code '' holds the county's
-- count (a case's first fact anywhere); a town's rows its first fact there.
CREATE TABLE placement_month_counts (
    placement_year INTEGER NOT NULL,
    fact           TEXT NOT NULL,
    town_code      TEXT NOT NULL,
    month          INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (placement_year, fact, town_code, month)
) WITHOUT ROWID;

-- rebuild:begin
INSERT INTO case_month_counts (month, town_code, fact, kind, status, result, school_stage, priority_basis, met, n)
SELECT CAST(strftime('%Y%m', fact_time, '+8 hours') AS INTEGER) AS m,
       town_code, fact, kind, status, result, school_stage, priority_basis, met, COUNT(*)
FROM case_facts WHERE fact IN ('ENDED', 'DECIDED')
GROUP BY m, town_code, fact, kind, status, result, school_stage, priority_basis, met;
INSERT INTO case_month_days (month, town_code, days, n)
SELECT CAST(strftime('%Y%m', fact_time, '+8 hours') AS INTEGER) AS m, town_code, days, COUNT(*)
FROM case_facts WHERE fact = 'ENDED' AND status = 'RESOLVED'
GROUP BY m, town_code, days;
INSERT INTO placement_month_counts (placement_year, fact, town_code, month, n)
SELECT placement_year, what, town, CAST(strftime('%Y%m', first, '+8 hours') AS INTEGER) AS m, COUNT(*)
FROM (SELECT case_id, placement_year, what, town, MIN(julianday(fact_time)) AS first
      FROM (SELECT case_id, placement_year, fact_time, town_code AS town,
                   CASE WHEN fact = 'ELIGIBLE' THEN 'ELIGIBLE' ELSE 'PLACED' END AS what
            FROM case_facts
            WHERE placement_year <> 0
              AND (fact = 'ELIGIBLE' OR (fact = 'ENDED' AND status = 'RESOLVED' AND result = 'ACHIEVED'))
            UNION ALL
            SELECT case_id, placement_year, fact_time, '',
                   CASE WHEN fact = 'ELIGIBLE' THEN 'ELIGIBLE' ELSE 'PLACED' END
            FROM case_facts
            WHERE placement_year <> 0
              AND (fact = 'ELIGIBLE' OR (fact = 'ENDED' AND status = 'RESOLVED' AND result = 'ACHIEVED')))
      GROUP BY case_id, placement_year, what, town)
GROUP BY placement_year, what, town, m;
-- rebuild:end

-- +goose Down
DROP TABLE placement_month_counts;
DROP TABLE case_month_days;
DROP TABLE case_month_counts;
