-- +goose Up
-- Issue 11, the case side: the rules that decided a case (policy_basis,
-- comma-joined rule ids), its clocks, the outcomes a reopening set aside,
-- the supervisor's eligibility decision and an objection (each JSON text,
-- '' for none), and the reason codes of a withdrawal, a rejection and a
-- termination ('' for none).
ALTER TABLE cases ADD COLUMN policy_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN clocks TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN outcome_history TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN eligibility TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN withdrawal_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN rejection_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN termination_ground TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN objection TEXT NOT NULL DEFAULT '';
-- due_time is now the earliest running clock's due, and empty when none
-- runs. Rows from before clocks existed keep the due time they were given
-- while the county still owes an answer, except legal aid past its
-- decision: the old due time was the 7-day decision's, which an accepted
-- case has met, so in-progress litigation stops showing as overdue. A case
-- already answered owes nothing. Nothing else changes; those rows show no
-- clocks until they are next submitted.
UPDATE cases SET due_time = NULL WHERE status IN ('DRAFT', 'RESOLVED', 'CLOSED', 'REJECTED', 'WITHDRAWN');
UPDATE cases SET due_time = NULL WHERE kind = 'LEGAL_AID' AND status IN ('ACCEPTED', 'IN_PROGRESS');

-- +goose Down
-- The cleared due times are not restored: they were no answer owed.
ALTER TABLE cases DROP COLUMN objection;
ALTER TABLE cases DROP COLUMN termination_ground;
ALTER TABLE cases DROP COLUMN rejection_reason;
ALTER TABLE cases DROP COLUMN withdrawal_reason;
ALTER TABLE cases DROP COLUMN eligibility;
ALTER TABLE cases DROP COLUMN outcome_history;
ALTER TABLE cases DROP COLUMN clocks;
ALTER TABLE cases DROP COLUMN policy_basis;
