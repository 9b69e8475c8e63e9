-- +goose Up
-- The statistics (ReportService) count what happened to cases in a period:
-- a case ending (resolved, rejected, withdrawn, terminated), a legal-aid
-- decision, a placement found eligible. Each is written here, once, in the
-- transaction of the change, with the town, kind and outcome it had then;
-- nothing updates or deletes a fact, so a case reopened or moved later
-- leaves a closed period's figures as they were (REOPEN_KEEPS_OUTCOME).
CREATE TABLE case_facts (
    id             BIGSERIAL PRIMARY KEY,
    case_id        TEXT NOT NULL REFERENCES cases (id),
    fact           TEXT NOT NULL,
    fact_time      TIMESTAMPTZ NOT NULL,
    town_code      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT '',
    result         TEXT NOT NULL DEFAULT '',
    days           INTEGER NOT NULL DEFAULT 0,
    placement_year INTEGER NOT NULL DEFAULT 0,
    school_stage   TEXT NOT NULL DEFAULT '',
    priority_basis TEXT NOT NULL DEFAULT '',
    met            BOOLEAN NOT NULL DEFAULT FALSE
);
-- Every figure of a period is a range of one kind of fact, grouped; the
-- columns it groups by follow, so the range is read from the index alone.
CREATE INDEX case_facts_period ON case_facts (fact, fact_time, town_code, kind, status, result, days, school_stage, priority_basis, met);
CREATE INDEX case_facts_case ON case_facts (case_id);
-- The placement rate: a year's eligible placements and their resolutions.
CREATE INDEX case_facts_placement ON case_facts (placement_year, fact_time, fact, status, result, town_code, case_id) WHERE placement_year <> 0;

-- Cases ended before this migration: their current ending, at the time it
-- was given. Outcomes a reopening had already set aside, and legal-aid
-- decisions, are not recovered (see docs/migrations.md).
INSERT INTO case_facts (case_id, fact, fact_time, town_code, kind, status, result, days, school_stage, priority_basis, placement_year)
SELECT id, 'ENDED', COALESCE(resolve_time, update_time), town_code, kind,
       CASE WHEN status = 'CLOSED' THEN 'RESOLVED' ELSE status END, outcome_result,
       CASE WHEN status IN ('RESOLVED', 'CLOSED')
            THEN ((COALESCE(resolve_time, update_time) AT TIME ZONE 'Asia/Shanghai')::date
                  - (COALESCE(submit_time, create_time) AT TIME ZONE 'Asia/Shanghai')::date)
            ELSE 0 END,
       CASE WHEN kind = 'SCHOOL_ENROLLMENT' THEN COALESCE(details::jsonb->>'school_stage', '') ELSE '' END,
       CASE WHEN kind = 'SCHOOL_ENROLLMENT' THEN COALESCE(details::jsonb->>'priority_basis', '') ELSE '' END,
       CASE WHEN kind <> 'EMPLOYMENT_PLACEMENT' OR status NOT IN ('RESOLVED', 'CLOSED') OR placement_year IS NULL
                 OR eligibility NOT LIKE '{%' THEN 0
            WHEN (eligibility::jsonb->>'eligible')::boolean THEN placement_year ELSE 0 END
FROM cases WHERE status IN ('RESOLVED', 'CLOSED', 'REJECTED', 'WITHDRAWN', 'TERMINATED');
INSERT INTO case_facts (case_id, fact, fact_time, town_code, kind, placement_year)
SELECT id, 'ELIGIBLE', (eligibility::jsonb->>'decide_time')::timestamptz, town_code, kind, placement_year
FROM cases WHERE kind = 'EMPLOYMENT_PLACEMENT' AND placement_year IS NOT NULL
  AND CASE WHEN eligibility LIKE '{%' THEN (eligibility::jsonb->>'eligible')::boolean ELSE FALSE END;


-- +goose Down
DROP TABLE case_facts;
