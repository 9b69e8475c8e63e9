package repository

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
)

// DetailsScrubber returns a case's details of kind with every piece of
// free text taken out, leaving the enumerations, numbers and dates the
// statistics read. The store keeps details as text it does not parse; the
// scrubber is whoever knows their schema (the service, through the protos).
type DetailsScrubber func(kind domain.Kind, details string) (string, error)

// Erasure counts the rows one erasure changed, by what they are. No
// personal data: counts only, for the run's report and its audit entry.
type Erasure struct {
	Households  int
	Members     int
	Cases       int
	Notes       int
	Attachments int
	// LedgerRows are the household's contacts, assistance, visits and
	// status changes whose free text was erased.
	LedgerRows int
	Referrals  int
	// AttachmentIDs name the erased attachments; their bytes are the
	// attachment store's, which the caller deletes (the key is the id).
	AttachmentIDs []string
}

// Add adds o's counts to e's.
func (e *Erasure) Add(o Erasure) {
	e.Households += o.Households
	e.Members += o.Members
	e.Cases += o.Cases
	e.Notes += o.Notes
	e.Attachments += o.Attachments
	e.LedgerRows += o.LedgerRows
	e.Referrals += o.Referrals
	e.AttachmentIDs = append(e.AttachmentIDs, o.AttachmentIDs...)
}

// ErasableHouseholds lists up to limit households deleted before cutoff
// whose personal data is not erased yet, those deleted first first. A
// merged-away household is one of them: its rows were moved to the
// survivor, the shell left behind keeps only what the merge did not move.
func (s *Store) ErasableHouseholds(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.erasableHouseholds(ctx, cutoff).Order("delete_time, id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// CountErasableHouseholds is how many households ErasableHouseholds would
// list without a limit: what a dry run reports.
func (s *Store) CountErasableHouseholds(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.erasableHouseholds(ctx, cutoff).Count(&n).Error
	return n, err
}

func (s *Store) erasableHouseholds(ctx context.Context, cutoff time.Time) *gorm.DB {
	return s.conn(ctx).Model(&Household{}).
		Where("delete_time IS NOT NULL AND erase_time IS NULL AND delete_time < ?", cutoff.UTC())
}

// Columns holding a person's identity or free text, set to "" on erasure.
// What stays is what statistics and the audit trail need: ids, town,
// category, status, post type and the like, and the dates.
var (
	erasedHouseholdColumns = []string{"servicemember_name", "servicemember_id_number", "servicemember_id_index",
		"unit", "address", "phone", "hardship_note", "honour", "approval_number", "approval_unit",
		"preferential_certificate_number", "transfer_reason", "name_birth_index", "name_phone_index"}
	erasedMemberColumns = []string{"display_name", "id_number", "id_number_index", "phone",
		"name_birth_index", "name_phone_index"}
)

// EraseHouseholds erases, in one transaction, the personal data of the
// households ids that are deleted and not yet erased (others are passed
// by, so a run that overlaps another erases each once), of their members
// and of their cases: names, ID, phone and certificate numbers, blind
// indexes, addresses, free text in cases' details, outcomes, notes,
// history reasons, ledgers and referrals, and attachments' names. Members'
// birth dates keep their year only. The rows stay, as anonymous shells,
// so that counts by town, kind and period, the case facts and the audit
// chain still hold. Each changed household, member and case gets an audit
// entry and a feed event naming the fields, as every change does, so a
// webhook receiver learns to erase its copy too.
//
// drop deletes the erased attachments' bytes from the attachment store
// (the database's own store is emptied here, in the transaction). It runs
// before the commit, so a store that fails rolls the erasure back and the
// next run tries again; it must take a missing blob as deleted.
func (s *Store) EraseHouseholds(ctx context.Context, ids []string, scrub DetailsScrubber,
	drop func(ctx context.Context, attachmentIDs []string) error) (Erasure, error) {
	var out Erasure
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		now := s.clock()
		var hs []Household
		if err := s.forUpdate(tx.Where("id IN ? AND delete_time IS NOT NULL AND erase_time IS NULL", ids)).
			Order("id").Find(&hs).Error; err != nil {
			return err
		}
		if len(hs) == 0 {
			return nil
		}
		hids := make([]string, len(hs))
		var changes []change
		for i, h := range hs {
			hids[i] = h.ID
			upd := blank(erasedHouseholdColumns)
			upd["erase_time"], upd["update_time"], upd["revision"] = now, now, h.Revision+1
			if err := tx.Model(&Household{}).Where("id = ?", h.ID).Updates(upd).Error; err != nil {
				return err
			}
			changes = append(changes, change{resource: names.Household{ID: h.ID}.String(), etag: Etag(h.Revision + 1),
				fields: append([]string{"erase_time"}, erasedHouseholdColumns...)})
		}
		out.Households = len(hs)

		var ms []Member
		if err := tx.Where("household_id IN ?", hids).Order("id").Find(&ms).Error; err != nil {
			return err
		}
		for _, m := range ms {
			if m.EraseTime != nil {
				continue // erased on its own before
			}
			c, err := eraseMember(tx, m, now)
			if err != nil {
				return err
			}
			changes = append(changes, c)
			out.Members++
		}

		if err := s.eraseLedger(tx, hids, &out); err != nil {
			return err
		}
		return s.eraseCasesOf(ctx, tx, func() *gorm.DB { return tx.Model(&Case{}).Where("household_id IN ?", hids) },
			scrub, drop, now, &out, changes)
	})
	if err != nil {
		return Erasure{}, err
	}
	return out, nil
}

// eraseMember blanks one member's identity, keeps the year of its birth,
// and returns the change to record.
func eraseMember(tx *gorm.DB, m Member, now time.Time) (change, error) {
	upd := blank(erasedMemberColumns)
	upd["birth_date"] = time.Date(m.BirthDate.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	upd["erase_time"], upd["update_time"], upd["revision"] = now, now, m.Revision+1
	if err := tx.Model(&Member{}).Where("id = ?", m.ID).Updates(upd).Error; err != nil {
		return change{}, err
	}
	return change{resource: m.resource(), etag: Etag(m.Revision + 1),
		fields: append([]string{"birth_date", "erase_time"}, erasedMemberColumns...)}, nil
}

// ErasableMembers lists up to limit members deleted before cutoff, from
// households that are not deleted themselves (those are erased whole), not
// yet erased, those deleted first first.
func (s *Store) ErasableMembers(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.erasableMembers(ctx, cutoff).Order("members.delete_time, members.id").Limit(limit).Pluck("members.id", &ids).Error
	return ids, err
}

// CountErasableMembers is how many members ErasableMembers would list
// without a limit.
func (s *Store) CountErasableMembers(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.erasableMembers(ctx, cutoff).Count(&n).Error
	return n, err
}

func (s *Store) erasableMembers(ctx context.Context, cutoff time.Time) *gorm.DB {
	return s.conn(ctx).Model(&Member{}).
		Where("members.delete_time IS NOT NULL AND members.erase_time IS NULL AND members.delete_time < ?", cutoff.UTC()).
		Where("NOT EXISTS (SELECT 1 FROM households h WHERE h.id = members.household_id AND h.delete_time IS NOT NULL)")
}

// EraseMembers is EraseHouseholds for members deleted on their own from a
// household that lives on: the member's identity and the cases of which
// it is the subject (their details, outcomes, notes, referrals and
// attachments) are erased; the household's ledger, which is the
// household's, stays.
func (s *Store) EraseMembers(ctx context.Context, ids []string, scrub DetailsScrubber,
	drop func(ctx context.Context, attachmentIDs []string) error) (Erasure, error) {
	var out Erasure
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		now := s.clock()
		var ms []Member
		if err := s.forUpdate(tx.Where("id IN ? AND delete_time IS NOT NULL AND erase_time IS NULL", ids)).
			Order("id").Find(&ms).Error; err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		mids := make([]string, len(ms))
		var changes []change
		for i, m := range ms {
			mids[i] = m.ID
			c, err := eraseMember(tx, m, now)
			if err != nil {
				return err
			}
			changes = append(changes, c)
		}
		out.Members = len(ms)
		return s.eraseCasesOf(ctx, tx, func() *gorm.DB { return tx.Model(&Case{}).Where("subject_id IN ?", mids) },
			scrub, drop, now, &out, changes)
	})
	if err != nil {
		return Erasure{}, err
	}
	return out, nil
}

// eraseCasesOf ends an erasure, for households and members alike: the
// cases cases selects and what hangs off them erased, the attachments'
// bytes dropped from their store, and every change recorded.
func (s *Store) eraseCasesOf(ctx context.Context, tx *gorm.DB, cases func() *gorm.DB, scrub DetailsScrubber,
	drop func(ctx context.Context, attachmentIDs []string) error, now time.Time, out *Erasure, changes []change) error {
	n, err := s.eraseCases(cases(), scrub, now, &changes)
	if err != nil {
		return err
	}
	out.Cases = n
	if err := s.eraseCaseChildren(tx, cases().Select("id"), out); err != nil {
		return err
	}
	if drop != nil && len(out.AttachmentIDs) > 0 {
		if err := drop(ctx, out.AttachmentIDs); err != nil {
			return err
		}
	}
	return s.recordChanges(ctx, tx, changes)
}

func blank(cols []string) map[string]any {
	m := make(map[string]any, len(cols)+3)
	for _, c := range cols {
		m[c] = ""
	}
	return m
}

// eraseCases scrubs the cases q selects: details through scrub, outcome
// summaries (the current one and those set aside), reasons, the
// objection's and the eligibility decision's notes.
func (s *Store) eraseCases(q *gorm.DB, scrub DetailsScrubber, now time.Time, changes *[]change) (int, error) {
	var cs []Case
	if err := q.Order("id").Find(&cs).Error; err != nil {
		return 0, err
	}
	tx := q.Session(&gorm.Session{NewDB: true})
	for i := range cs {
		c := &cs[i]
		details, err := scrub(c.Kind, c.Details)
		if err != nil {
			return 0, err
		}
		c.Details, c.OutcomeSummary, c.StatusReason, c.HoldReason = details, "", "", ""
		if o := c.Objection.V; o != nil {
			o.Note = ""
		}
		for j := range c.OutcomeHistory.V {
			c.OutcomeHistory.V[j].Summary, c.OutcomeHistory.V[j].ReopenReason = "", ""
		}
		if d := c.Eligibility.V; d != nil {
			d.Note = ""
		}
		c.Revision++
		c.UpdateTime = now
		cols := []string{"details", "outcome_summary", "status_reason", "hold_reason", "objection",
			"outcome_history", "eligibility", "revision", "update_time"}
		if err := tx.Model(c).Select(cols).Updates(c).Error; err != nil {
			return 0, err
		}
		*changes = append(*changes, change{resource: c.resource(), etag: Etag(c.Revision), fields: cols[:7]})
	}
	return len(cs), nil
}

// eraseCaseChildren erases what hangs off the cases (a subquery of their
// ids): notes'
// bodies, history reasons, referrals' sealed request and reply and the
// agency's reference, attachments' sealed names and descriptions and
// their hashes (which would confirm a guessed file). The attachments' ids
// go back to the caller, whose store holds their bytes.
func (s *Store) eraseCaseChildren(tx *gorm.DB, cases *gorm.DB, out *Erasure) error {
	res := tx.Model(&Note{}).Where("case_id IN (?)", cases).Update("body", "")
	if res.Error != nil {
		return res.Error
	}
	out.Notes = int(res.RowsAffected)
	if err := tx.Model(&HistoryEntry{}).Where("case_id IN (?) AND reason <> ''", cases).Update("reason", "").Error; err != nil {
		return err
	}
	res = tx.Model(&Referral{}).Where("case_id IN (?)", cases).
		Updates(map[string]any{"request_sealed": "", "reply_sealed": "", "agency_reference": ""})
	if res.Error != nil {
		return res.Error
	}
	out.Referrals = int(res.RowsAffected)
	if err := tx.Model(&Attachment{}).Where("case_id IN (?)", cases).Order("id").Pluck("id", &out.AttachmentIDs).Error; err != nil {
		return err
	}
	if len(out.AttachmentIDs) > 0 {
		if err := tx.Model(&Attachment{}).Where("id IN ?", out.AttachmentIDs).
			Updates(map[string]any{"file_name": "", "description": "", "sha256": ""}).Error; err != nil {
			return err
		}
		// The database's own attachment store: its bytes go with the rows.
		if err := tx.Where("blob_key IN ?", out.AttachmentIDs).Delete(&blobPart{}).Error; err != nil {
			return err
		}
	}
	out.Attachments = len(out.AttachmentIDs)
	return nil
}

// eraseLedger erases the free text of the households' ledgers: what a
// contact raised and its follow-ups, assistance notes, visit notes, a
// campaign's reason for a gap, status-change notes and the reasons of the
// household's own history (transfers, merges).
func (s *Store) eraseLedger(tx *gorm.DB, hids []string, out *Erasure) error {
	for _, u := range []struct {
		table string
		set   map[string]any
	}{
		{"contacts", map[string]any{"raised": "", "follow_ups": "", "raised_sealed": "", "follow_ups_sealed": ""}},
		{"assistance", map[string]any{"note": "", "note_sealed": ""}},
		{"campaign_visits", map[string]any{"notes": "", "notes_sealed": ""}},
		{"status_changes", map[string]any{"note": ""}},
	} {
		res := tx.Table(u.table).Where("household_id IN ?", hids).Updates(u.set)
		if res.Error != nil {
			return res.Error
		}
		out.LedgerRows += int(res.RowsAffected)
	}
	if err := tx.Table("campaign_targets").Where("household_id IN ? AND gap_reason <> ''", hids).Update("gap_reason", "").Error; err != nil {
		return err
	}
	return tx.Table("household_history").Where("household_id IN ? AND reason <> ''", hids).Update("reason", "").Error
}
