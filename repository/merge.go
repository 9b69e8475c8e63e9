package repository

import (
	"context"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
)

// MergeHouseholds merges the duplicate household into the survivor in one
// transaction (MergeHouseholds): every row that belongs to the duplicate
// moves to the survivor, the duplicate is kept soft-deleted with
// merged_into set, and both households get a history entry saying what
// moved. check applies the merge's rules to the two households as locked.
// Both must be in the caller's towns; merged ones are read so that check
// can refuse them by name.
//
// What moves, and how rows that would collide are kept:
//   - members, all of them; a live member of the duplicate with the ID
//     number of a live member of the survivor is the same person: moved
//     too, but soft-deleted, and the duplicate's cases about them now name
//     the survivor's member, so no record is lost and no person counted
//     twice;
//   - cases (their names and numbers stay; the contact that opened one is
//     named under the survivor), status changes, contacts,
//     assistance, the household's own history, recruitment invitations;
//   - campaign targets: where both were targets of a campaign, the
//     survivor's row stays, taking the duplicate's first visit if it had
//     none, and the duplicate's row goes; campaign visits move, and where
//     both had a first visit in a campaign the duplicate's counts as a
//     follow-up.
func (s *Store) MergeHouseholds(ctx context.Context, survivorID, survivorEtag, duplicateID, duplicateEtag string,
	check func(survivor, duplicate *Household) error) (*Household, error) {
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		sv, dp, err := s.lockPair(ctx, tx, survivorID, duplicateID)
		if err != nil {
			return err
		}
		for _, c := range []struct {
			h    *Household
			etag string
		}{{sv, survivorEtag}, {dp, duplicateEtag}} {
			if c.etag != "" && ParseEtag(c.etag) != c.h.Revision {
				return ErrEtagMismatch
			}
		}
		if err := check(sv, dp); err != nil {
			return err
		}
		m := merger{s: s, ctx: ctx, tx: tx, from: dp.ID, to: sv.ID}
		if err := m.run(); err != nil {
			return err
		}
		return m.finish(sv, dp)
	})
	if err != nil {
		return nil, err
	}
	return s.GetHousehold(ctx, survivorID, false)
}

// lockPair reads and locks two households of the caller's towns, live or
// merged, in the order of their ids so two merges cannot deadlock.
func (s *Store) lockPair(ctx context.Context, tx *gorm.DB, a, b string) (*Household, *Household, error) {
	var rows []Household
	q := inScope(ctx, tx.Where("id IN ? AND (delete_time IS NULL OR merged_into <> '')", []string{a, b}), "town_code")
	if err := s.forUpdate(q).Order("id").Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	byID := map[string]*Household{}
	for i := range rows {
		if err := rows[i].open(s.cipher); err != nil {
			return nil, nil, err
		}
		byID[rows[i].ID] = &rows[i]
	}
	if byID[a] == nil || byID[b] == nil {
		return nil, nil, ErrNotFound
	}
	return byID[a], byID[b], nil
}

// merger moves one household's rows to another inside tx, counting what
// moved for the history, and collecting the feed's changes.
type merger struct {
	s        *Store
	ctx      context.Context
	tx       *gorm.DB
	from, to string
	moved    List[string]
	changes  []change
}

func (m *merger) count(kind string, n int64) {
	if n > 0 {
		m.moved = append(m.moved, kind+":"+itoa(n))
	}
}

// move re-parents every row of table that belongs to the duplicate.
func (m *merger) move(table, kind string) error {
	res := m.tx.Table(table).Where("household_id = ?", m.from).Update("household_id", m.to)
	m.count(kind, res.RowsAffected)
	return res.Error
}

func (m *merger) run() error {
	steps := []func() error{m.members, m.cases, m.sourceContacts, m.campaigns}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	for _, t := range []struct{ table, kind string }{
		{"status_changes", "status_changes"}, {"contacts", "contacts"}, {"assistance", "assistance"},
		{"household_history", "history"}, {"recruitment_invitations", "invitations"},
	} {
		if err := m.move(t.table, t.kind); err != nil {
			return err
		}
	}
	return nil
}

// members folds the duplicate's members who are already the survivor's
// (same ID number, both live) and moves them all, each with a new etag and
// a feed event under its new name.
func (m *merger) members() error {
	var dups []Member
	if err := m.tx.Select("id", "id_number_index", "revision", "delete_time").
		Where("household_id = ?", m.from).Order("id").Find(&dups).Error; err != nil {
		return err
	}
	now := m.s.clock()
	for _, d := range dups {
		if d.DeleteTime != nil || d.IDNumberIndex == "" {
			continue
		}
		var same []Member
		if err := m.tx.Select("id").Where("household_id = ? AND id_number_index = ? AND delete_time IS NULL", m.to, d.IDNumberIndex).
			Limit(1).Find(&same).Error; err != nil {
			return err
		}
		if len(same) == 0 {
			continue
		}
		if err := m.tx.Model(&Member{}).Where("id = ?", d.ID).Update("delete_time", now).Error; err != nil {
			return err
		}
		if err := m.tx.Model(&Case{}).Where("household_id = ? AND subject_id = ?", m.from, d.ID).
			Update("subject_id", same[0].ID).Error; err != nil {
			return err
		}
		m.count("members_folded", 1)
	}
	res := m.tx.Model(&Member{}).Where("household_id = ?", m.from).
		Updates(map[string]any{"household_id": m.to, "revision": gorm.Expr("revision + 1"), "update_time": now})
	if res.Error != nil {
		return res.Error
	}
	m.count("members", res.RowsAffected)
	for _, d := range dups {
		m.changes = append(m.changes, change{resource: names.Member{HouseholdID: m.to, ID: d.ID}.String(),
			etag: Etag(d.Revision + 1), fields: []string{"household"}})
	}
	return nil
}

// cases moves the duplicate's cases, open and closed, each with a history
// entry; their town is the survivor's already (a merge is within a town).
func (m *merger) cases() error {
	var cases []Case
	if err := m.s.forUpdate(m.tx.Select("id", "revision", "status").Where("household_id = ?", m.from)).
		Order("id").Find(&cases).Error; err != nil {
		return err
	}
	if len(cases) == 0 {
		return nil
	}
	now := m.s.clock()
	if err := m.tx.Model(&Case{}).Where("household_id = ?", m.from).
		Updates(map[string]any{"household_id": m.to, "revision": gorm.Expr("revision + 1"), "update_time": now}).Error; err != nil {
		return err
	}
	actor, fields := actorOf(m.ctx), List[string]{"household"}
	hists := make([]*HistoryEntry, len(cases))
	for i, c := range cases {
		hists[i] = &HistoryEntry{CaseID: c.ID, Time: now, Actor: actor, Method: "MergeHouseholds",
			FromStatus: c.Status, ToStatus: c.Status, ChangedFields: fields,
			Reason: "household " + names.Household{ID: m.from}.String() + " was merged into " + names.Household{ID: m.to}.String()}
		m.changes = append(m.changes, change{resource: c.resource(), etag: Etag(c.Revision + 1), fields: fields})
	}
	m.count("cases", int64(len(cases)))
	return m.tx.CreateInBatches(hists, insertBatch).Error
}

// sourceContacts renames the contacts that opened cases: a contact's name
// holds its household's, and the contacts move to the survivor.
func (m *merger) sourceContacts() error {
	from, to := names.Household{ID: m.from}.String()+"/", names.Household{ID: m.to}.String()+"/"
	return m.tx.Model(&Case{}).Where("source_contact LIKE ?", from+"%").
		Update("source_contact", gorm.Expr("REPLACE(source_contact, ?, ?)", from, to)).Error
}

// campaigns moves targets and visits without breaking one target and one
// first visit per household and campaign.
func (m *merger) campaigns() error {
	both := m.tx.Session(&gorm.Session{NewDB: true}).Table("campaign_targets t").Select("t.campaign_id").Where("t.household_id = ?", m.to)
	// The survivor takes the duplicate's first visit where it had none.
	if err := m.tx.Exec(`UPDATE campaign_targets SET visit_id = (
			SELECT d.visit_id FROM campaign_targets d WHERE d.campaign_id = campaign_targets.campaign_id AND d.household_id = ?)
		WHERE household_id = ? AND visit_id = '' AND EXISTS (
			SELECT 1 FROM campaign_targets d WHERE d.campaign_id = campaign_targets.campaign_id AND d.household_id = ? AND d.visit_id <> '')`,
		m.from, m.to, m.from).Error; err != nil {
		return err
	}
	if err := m.tx.Where("household_id = ? AND campaign_id IN (?)", m.from, both).Delete(&CampaignTarget{}).Error; err != nil {
		return err
	}
	if err := m.move("campaign_targets", "campaign_targets"); err != nil {
		return err
	}
	firsts := m.tx.Session(&gorm.Session{NewDB: true}).Table("campaign_visits v").Select("v.campaign_id").
		Where("v.household_id = ? AND v.follow_up = ?", m.to, false)
	if err := m.tx.Model(&CampaignVisit{}).Where("household_id = ? AND follow_up = ? AND campaign_id IN (?)", m.from, false, firsts).
		Update("follow_up", true).Error; err != nil {
		return err
	}
	return m.move("campaign_visits", "campaign_visits")
}

// finish marks the duplicate merged, gives both households a new etag and
// a history entry, recomputes the survivor's contact due date (its
// contacts may have grown), and records every change.
func (m *merger) finish(sv, dp *Household) error {
	now := m.s.clock()
	if err := m.tx.Model(&Household{}).Where("id = ?", dp.ID).Updates(map[string]any{
		"merged_into": sv.ID, "delete_time": now, "revision": dp.Revision + 1, "update_time": now,
	}).Error; err != nil {
		return err
	}
	if err := m.tx.Model(&Household{}).Where("id = ?", sv.ID).
		Updates(map[string]any{"revision": sv.Revision + 1, "update_time": now}).Error; err != nil {
		return err
	}
	if err := m.s.setContactDue(m.tx, sv); err != nil {
		return err
	}
	for _, e := range []*HouseholdHistory{
		{HouseholdID: sv.ID, Action: domain.MergedFrom, OtherHousehold: dp.resource()},
		{HouseholdID: dp.ID, Action: domain.MergedInto, OtherHousehold: sv.resource()},
	} {
		e.Method, e.FromTownCode, e.ToTownCode, e.Moved = "MergeHouseholds", dp.TownCode, sv.TownCode, m.moved
		if err := m.s.addHistory(m.ctx, e); err != nil {
			return err
		}
	}
	households := []change{
		{resource: sv.resource(), etag: Etag(sv.Revision + 1), fields: []string{"merged_from"}},
		{resource: dp.resource(), etag: Etag(dp.Revision + 1), fields: []string{"merged_into", "delete_time"}},
	}
	return m.s.recordChanges(m.ctx, m.tx, append(households, m.changes...))
}
