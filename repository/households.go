package repository

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// HouseholdFilter is the schema of ListHouseholds filters.
var HouseholdFilter = filter.Schema{
	"town_code": {Kind: filter.KindString, Check: townCode},
	"category":  {Kind: filter.KindEnum, Prefix: "HOUSEHOLD_CATEGORY_", Values: enumNames(domain.Categories())},
	"status":    {Kind: filter.KindEnum, Prefix: "SERVICEMEMBER_STATUS_", Values: enumNames(domain.ServiceStatuses())},
	"post_type": {Kind: filter.KindEnum, Prefix: "POST_TYPE_", Values: enumNames(domain.PostTypes())},
	"hardship":  {Kind: filter.KindBool},
	// The household ledger's contact policy (see ledger.go).
	"next_contact_due": {Kind: filter.KindString, Check: calendarDate, Ops: dateOps},
	"contact_overdue":  {Kind: filter.KindBool},
	// A transfer to another town waits for its decision.
	"in_transfer": {Kind: filter.KindBool},
}

var householdColumns = map[string]column{
	"town_code": plain("households.town_code", stringValue),
	"category":  plain("households.category", stringValue),
	"status":    plain("households.servicemember_status", stringValue),
	"post_type": plain("households.post_type", stringValue),
	"hardship":  plain("households.hardship", boolValue),
	// A household no class applies to has no due date and is never found
	// by a comparison with one.
	"next_contact_due": plain("households.next_contact_due", stringValue),
	"contact_overdue":  contactOverdue,
	"in_transfer":      inTransfer,
}

// inTransfer finds the households with a pending transfer (or, "= false",
// the others); a boolean field only takes "=".
func inTransfer(c filter.Condition, _ time.Time) (string, []any) {
	if c.Bool {
		return "households.transfer_to_town <> ''", nil
	}
	return "households.transfer_to_town = ''", nil
}

// HouseholdQuery asks for a page of households.
type HouseholdQuery struct {
	Filter      filter.Filter
	Order       Order // create_time only
	ShowDeleted bool
	Page        Page
}

const memberCountSQL = "(SELECT COUNT(*) FROM members m WHERE m.household_id = households.id AND m.delete_time IS NULL) AS member_count"

// households reads households in the caller's towns, and those whose
// pending transfer is to one of them: the receiving town sees a household
// while it decides. Writes and the household's members, cases and ledger
// keep the town alone (selectHousehold, liveHousehold).
func (s *Store) households(ctx context.Context) *gorm.DB {
	q := s.conn(ctx).Model(&Household{}).Select("households.*, " + memberCountSQL)
	return reachable(ctx, q, "households.")
}

const duplicateHousehold = "a live household for this servicemember"

// CreateHousehold inserts h in a town the caller may write. A live household
// with the same servicemember ID number is an ErrAlreadyExists.
func (s *Store) CreateHousehold(ctx context.Context, h *Household) error {
	if err := allows(ctx, h.TownCode); err != nil {
		return err
	}
	now := s.clock()
	h.Revision, h.CreateTime, h.UpdateTime, h.DeleteTime = 1, now, now, nil
	if err := h.seal(s.cipher); err != nil {
		return err
	}
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.newContactDues(tx, h); err != nil {
			return err
		}
		if err := tx.Omit("MemberCount").Create(h).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, h.resource(), Etag(h.Revision), []string{"created"})
	})
	err = s.householdConflict(ctx, err, h.ServicememberIDIndex)
	if openErr := h.open(s.cipher); err == nil {
		err = openErr
	}
	return err
}

// householdConflict says what a caller may learn when a household would
// duplicate a live one of the same servicemember (index): which record it
// is, if the caller may reach its town; otherwise only that something
// outside its towns is in the way.
func (s *Store) householdConflict(ctx context.Context, err error, index string) error {
	if !errors.Is(err, gorm.ErrDuplicatedKey) {
		return err
	}
	var existing []Household
	if qErr := s.conn(ctx).Model(&Household{}).Select("id", "town_code").
		Where("servicemember_id_index = ? AND delete_time IS NULL", index).Limit(1).Find(&existing).Error; qErr != nil {
		return qErr
	}
	if len(existing) == 1 && !scopeOf(ctx).Allows(existing[0].TownCode) {
		return ErrConflictOutOfScope
	}
	conflict := &ConflictError{What: duplicateHousehold}
	if len(existing) == 1 {
		conflict.Resource = names.Household{ID: existing[0].ID}.String()
	}
	return conflict
}

// CreateHouseholds inserts a batch of households, all or none, as one
// transaction with multi-row inserts and one move of each head row (see
// recordChanges), so a batch of a thousand costs a handful of round trips.
// Every item is checked before anything is written; the refused ones are
// named in a *domain.BatchError: outside the caller's towns, or for a
// servicemember who already has a live household, in the database or
// earlier in the batch. A nil item is one the caller has refused already:
// the others are still checked, so that every refused item can be named,
// and nothing is written.
func (s *Store) CreateHouseholds(ctx context.Context, hs []*Household) error {
	var refused domain.BatchError
	now := s.clock()
	first := map[string]int{} // blind index -> the item that has it
	complete := true
	for i, h := range hs {
		if h == nil {
			complete = false
			continue
		}
		if err := allows(ctx, h.TownCode); err != nil {
			refused.Add(i, err)
			continue
		}
		h.Revision, h.CreateTime, h.UpdateTime, h.DeleteTime = 1, now, now, nil
		if err := h.seal(s.cipher); err != nil {
			return err
		}
		if j, dup := first[h.ServicememberIDIndex]; dup {
			refused.Add(i, &ConflictError{What: duplicateHousehold + " (item " + itoa(int64(j)) + " of the batch)"})
			continue
		}
		first[h.ServicememberIDIndex] = i
	}
	defer func() {
		for _, h := range hs {
			if h != nil {
				_ = h.open(s.cipher) // the callers' plaintext back, whatever happened
			}
		}
	}()
	indexes := make([]string, 0, len(first))
	for idx := range first {
		indexes = append(indexes, idx)
	}
	scope := scopeOf(ctx)
	hidden := false
	for chunk := range slices.Chunk(indexes, 500) {
		var taken []Household
		if err := s.conn(ctx).Model(&Household{}).Select("servicemember_id_index", "town_code").
			Where("servicemember_id_index IN ? AND delete_time IS NULL", chunk).Find(&taken).Error; err != nil {
			return err
		}
		for _, t := range taken {
			if scope.Allows(t.TownCode) {
				refused.Add(first[t.ServicememberIDIndex], &ConflictError{What: duplicateHousehold})
			} else {
				hidden = true
			}
		}
	}
	if err := refused.OrNil(); err != nil || !complete {
		return err
	}
	// A duplicate the caller may not see fails the batch without naming
	// the item: naming it would tell a town's caseworker which of a
	// thousand ID numbers are registered anywhere in the county.
	if hidden {
		return ErrConflictOutOfScope
	}
	changes := make([]change, len(hs))
	for i, h := range hs {
		changes[i] = change{resource: h.resource(), etag: Etag(h.Revision), fields: []string{"created"}}
	}
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		// A servicemember registered by someone else since the check above
		// still meets the unique index: the batch fails as a whole.
		if err := s.newContactDues(tx, hs...); err != nil {
			return err
		}
		if err := tx.Omit("MemberCount").CreateInBatches(hs, insertBatch).Error; err != nil {
			return conflict(err, duplicateHousehold)
		}
		return s.recordChanges(ctx, tx, changes)
	})
}

// GetHousehold reads a household in the caller's towns; deleted ones only
// with showDeleted.
func (s *Store) GetHousehold(ctx context.Context, id string, showDeleted bool) (*Household, error) {
	q := s.households(ctx).Where("households.id = ?", id)
	if !showDeleted {
		q = q.Where("households.delete_time IS NULL")
	}
	var h Household
	if err := q.Take(&h).Error; err != nil {
		return nil, notFound(err)
	}
	return &h, h.open(s.cipher)
}

// inTown is ErrNotFound unless the live household is in the caller's
// towns: the gate of reads of what a household holds (members, ledger,
// status changes), which a town receiving a transfer may not read before
// it accepts.
func (s *Store) inTown(ctx context.Context, id string) error {
	var n int64
	q := inScope(ctx, s.conn(ctx).Model(&Household{}).Where("id = ? AND delete_time IS NULL", id), "town_code")
	if err := q.Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ListHouseholds returns a page of the caller's households and the cursor of
// the next.
func (s *Store) ListHouseholds(ctx context.Context, query HouseholdQuery) ([]Household, *Cursor, error) {
	q := s.households(ctx)
	if !query.ShowDeleted {
		q = q.Where("households.delete_time IS NULL")
	}
	q, err := applyFilter(q, query.Filter, HouseholdFilter, householdColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := query.Page.limit()
	byDue := query.Order.Column == "next_contact_due"
	if byDue {
		// The overdue list: the index (next_contact_due, id) serves its
		// filter and its order alike. A filter that leaves out households
		// with no due date lets the cursor be one row-value comparison, so
		// a deep page starts its index scan at the cursor too.
		q = keyset(q, "households", Order{Column: "next_contact_due", Desc: query.Order.Desc}, !dueRequired(query.Filter), query.Page.After)
	} else {
		q = keyset(q, "households", Order{Column: "create_time", Desc: query.Order.Desc}, false, query.Page.After)
	}
	var rows []Household
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(h Household) Cursor {
		if byDue {
			if h.NextContactDue == nil {
				return Cursor{ID: h.ID}
			}
			return dateCursor(*h.NextContactDue, h.ID)
		}
		t := h.CreateTime
		return Cursor{Time: &t, ID: h.ID}
	})
	return rows, next, nil
}

// dueRequired reports whether the filter matches only households with a
// due date: every comparison of next_contact_due is false for none, and so
// is contact_overdue = true.
func dueRequired(f filter.Filter) bool {
	for _, c := range f.Conditions {
		switch c.Field {
		case "next_contact_due":
			return true
		case "contact_overdue":
			if c.Bool == (c.Op == filter.OpEq) {
				return true
			}
		}
	}
	return false
}

// selectHousehold picks a household of the caller's towns for update.
func selectHousehold(ctx context.Context, id, state string) func(*gorm.DB) *gorm.DB {
	return func(tx *gorm.DB) *gorm.DB {
		return inScope(ctx, tx.Where("id = ? AND delete_time IS "+state, id), "town_code")
	}
}

// UpdateHousehold applies fn to the live household under the etag check. It
// may not move the household to a town the caller cannot see.
func (s *Store) UpdateHousehold(ctx context.Context, id, etag string, fn func(ctx context.Context, h *Household) error) (*Household, error) {
	var index string // the servicemember's, as written
	_, err := update(ctx, s, selectHousehold(ctx, id, "NULL"), etag, func(ctx context.Context, h *Household) error {
		from := h.TownCode
		if err := fn(ctx, h); err != nil {
			return err
		}
		index = s.cipher.Index(h.ServicememberIDNumber, indexIDNumber)
		if err := allows(ctx, h.TownCode); err != nil {
			return err
		}
		if h.TownCode != from {
			_, err := s.moveCases(ctx, s.conn(ctx), id, from, h.TownCode, caseMove{method: "UpdateHousehold",
				reason: "the household moved from town " + from + " to town " + h.TownCode})
			return err
		}
		return nil
	})
	if err != nil {
		return nil, s.householdConflict(ctx, err, index)
	}
	return s.GetHousehold(ctx, id, false)
}

// DeleteHousehold soft-deletes a live household. One with open cases is
// refused: those cases would otherwise be orphaned from every list.
func (s *Store) DeleteHousehold(ctx context.Context, id, etag string) (*Household, error) {
	_, err := update(ctx, s, selectHousehold(ctx, id, "NULL"), etag, func(ctx context.Context, h *Household) error {
		if err := h.TransferState().Writable(); err != nil {
			return err
		}
		var open int64
		if err := s.conn(ctx).Model(&Case{}).Where("household_id = ? AND status IN ?", id, openStatuses()).Count(&open).Error; err != nil {
			return err
		}
		if open > 0 {
			return errPrecondition("HOUSEHOLD_HAS_OPEN_CASES", names.Household{ID: id}.String(),
				"the household has open cases; close or withdraw them before deleting it")
		}
		now := s.clock()
		h.DeleteTime = &now
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetHousehold(ctx, id, true)
}

// UndeleteHousehold brings back a soft-deleted household, unless another live
// household has since been registered for the same servicemember.
func (s *Store) UndeleteHousehold(ctx context.Context, id, etag string) (*Household, error) {
	var index string
	_, err := update(ctx, s, selectHousehold(ctx, id, "NOT NULL"), etag, func(_ context.Context, h *Household) error {
		// A merged household stays merged: its rows are the survivor's.
		if err := h.TransferState().Writable(); err != nil {
			return err
		}
		// An erased shell has nobody's data left to bring back.
		if h.EraseTime != nil {
			return errPrecondition("HOUSEHOLD_ERASED", names.Household{ID: id}.String(),
				"the household's personal data was erased under the retention schedule; register it anew")
		}
		h.DeleteTime, index = nil, h.ServicememberIDIndex
		return nil
	})
	if err != nil {
		return nil, s.householdConflict(ctx, err, index)
	}
	return s.GetHousehold(ctx, id, false)
}

// LookupHousehold finds the live household whose servicemember, or one of
// whose live members, has the ID number, through the blind index: the
// plaintext number is never compared in SQL.
func (s *Store) LookupHousehold(ctx context.Context, idNumber string) (*Household, error) {
	idx := s.cipher.Index(idNumber, indexIDNumber)
	if idx == "" {
		return nil, ErrNotFound
	}
	var h Household
	err := s.households(ctx).
		Where("households.delete_time IS NULL").
		Where("households.servicemember_id_index = ? OR EXISTS (SELECT 1 FROM members m WHERE m.household_id = households.id AND m.id_number_index = ? AND m.delete_time IS NULL)", idx, idx).
		Order("households.create_time, households.id").
		Take(&h).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &h, h.open(s.cipher)
}

func openStatuses() []string {
	var out []string
	for _, st := range domain.Statuses() {
		if st.Open() {
			out = append(out, string(st))
		}
	}
	return out
}

// GetHouseholds reads the live households with these ids that are in the
// caller's towns, in one query; the caller sees which are missing.
func (s *Store) GetHouseholds(ctx context.Context, ids []string) ([]Household, error) {
	var rows []Household
	if err := s.households(ctx).Where("households.id IN ? AND households.delete_time IS NULL", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return rows, s.openRows(rows)
}

// HouseholdsByServicemember finds, for each ID number, the live household
// in the caller's towns registered for that servicemember: the household a
// create of the same servicemember would conflict with. The answer is
// parallel to idNumbers, nil where there is none. A household outside the
// caller's towns is not found here; a create of it is refused as
// CreateHouseholds refuses it.
func (s *Store) HouseholdsByServicemember(ctx context.Context, idNumbers []string) ([]*Household, error) {
	return s.householdsByIndex(ctx, idNumbers, func(q *gorm.DB, idx []string) (*gorm.DB, error) {
		return q.Where("households.servicemember_id_index IN ?", idx), nil
	}, func(h *Household) []string { return []string{h.ServicememberIDIndex} })
}

// LookupHouseholds is LookupHousehold for many numbers in a few queries:
// for each ID number, the live household in the caller's towns whose
// servicemember or one of whose live members has it (the oldest, when
// several do), or nil. The numbers are compared through the blind index
// only.
func (s *Store) LookupHouseholds(ctx context.Context, idNumbers []string) ([]*Household, error) {
	memberOf := map[string][]string{} // household id -> member indexes asked for
	match := func(q *gorm.DB, idx []string) (*gorm.DB, error) {
		// The members' indexes tell which number found which household.
		var ms []Member
		if err := s.conn(ctx).Model(&Member{}).Select("household_id", "id_number_index").
			Where("id_number_index IN ? AND delete_time IS NULL", idx).Find(&ms).Error; err != nil {
			return nil, err
		}
		var holders []string
		for _, m := range ms {
			if memberOf[m.HouseholdID] == nil {
				holders = append(holders, m.HouseholdID)
			}
			memberOf[m.HouseholdID] = append(memberOf[m.HouseholdID], m.IDNumberIndex)
		}
		if len(holders) == 0 {
			return q.Where("households.servicemember_id_index IN ?", idx), nil
		}
		// The households the members just read belong to, by id: the
		// same rows as an EXISTS over members, which PostgreSQL would
		// test against every household for each chunk of numbers.
		return q.Where("households.servicemember_id_index IN ? OR households.id IN ?", idx, holders), nil
	}
	return s.householdsByIndex(ctx, idNumbers, match, func(h *Household) []string {
		return append([]string{h.ServicememberIDIndex}, memberOf[h.ID]...)
	})
}

// householdsByIndex reads the live households in the caller's towns that
// where picks for chunks of blind indexes, and answers, parallel to
// idNumbers, the oldest household whose keys include each number's index.
func (s *Store) householdsByIndex(ctx context.Context, idNumbers []string, where func(q *gorm.DB, idx []string) (*gorm.DB, error),
	keys func(*Household) []string) ([]*Household, error) {
	indexes := make([]string, len(idNumbers))
	wanted := map[string]bool{}
	for i, n := range idNumbers {
		if indexes[i] = s.cipher.Index(n, indexIDNumber); indexes[i] != "" {
			wanted[indexes[i]] = true
		}
	}
	all := slices.Collect(maps.Keys(wanted))
	found := map[string]*Household{} // index -> oldest household it finds
	for chunk := range slices.Chunk(all, 500) {
		var rows []Household
		q, err := where(s.households(ctx).Where("households.delete_time IS NULL"), chunk)
		if err != nil {
			return nil, err
		}
		if err := q.Order("households.create_time, households.id").Find(&rows).Error; err != nil {
			return nil, err
		}
		if err := s.openRows(rows); err != nil {
			return nil, err
		}
		for i := range rows {
			for _, k := range keys(&rows[i]) {
				if _, seen := found[k]; !seen && wanted[k] {
					found[k] = &rows[i]
				}
			}
		}
	}
	out := make([]*Household, len(idNumbers))
	for i, idx := range indexes {
		out[i] = found[idx]
	}
	return out, nil
}
