-- +goose Up
-- The ledgers' free text (what a family raised, follow-ups, assistance
-- notes, visit notes, complaints and their resolutions) is sealed at rest
-- like ID and phone numbers. Sealing needs the keyring, which SQL has not:
-- the text moves to new columns here, the old ones are emptied and no
-- longer read or written, and the server's reseal (run by `serve` before
-- it serves, and by `casework keys rotate`) seals what was moved. The old
-- columns are dropped by a later migration, once no older server reads them.
ALTER TABLE contacts ADD COLUMN raised_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN follow_ups_sealed TEXT NOT NULL DEFAULT '';
UPDATE contacts SET raised_sealed = raised, follow_ups_sealed = follow_ups, raised = '', follow_ups = '';

ALTER TABLE assistance ADD COLUMN note_sealed TEXT NOT NULL DEFAULT '';
UPDATE assistance SET note_sealed = note, note = '';

ALTER TABLE campaign_visits ADD COLUMN notes_sealed TEXT NOT NULL DEFAULT '';
UPDATE campaign_visits SET notes_sealed = notes, notes = '';

ALTER TABLE complaints ADD COLUMN description_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE complaints ADD COLUMN resolution_sealed TEXT NOT NULL DEFAULT '';
UPDATE complaints SET description_sealed = description, resolution_sealed = resolution, description = '', resolution = '';

-- +goose Down
-- Values sealed since the Up go back sealed: an older server shows them as
-- sealed text. Run it only on a database the reseal has not reached.
UPDATE contacts SET raised = raised_sealed, follow_ups = follow_ups_sealed;
ALTER TABLE contacts DROP COLUMN raised_sealed;
ALTER TABLE contacts DROP COLUMN follow_ups_sealed;
UPDATE assistance SET note = note_sealed;
ALTER TABLE assistance DROP COLUMN note_sealed;
UPDATE campaign_visits SET notes = notes_sealed;
ALTER TABLE campaign_visits DROP COLUMN notes_sealed;
UPDATE complaints SET description = description_sealed, resolution = resolution_sealed;
ALTER TABLE complaints DROP COLUMN description_sealed;
ALTER TABLE complaints DROP COLUMN resolution_sealed;
