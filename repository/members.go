package repository

import (
	"context"
	"maps"
	"slices"

	"github.com/fengdu-county/casework/internal/names"
	"gorm.io/gorm"
)

// liveMember selects a live member of a live household in the caller's towns.
func liveMember(ctx context.Context, tx *gorm.DB, householdID, id string) *gorm.DB {
	return tx.Where("members.id = ? AND members.household_id = ? AND members.delete_time IS NULL", id, householdID).
		Where("EXISTS (?)", liveHousehold(ctx, tx.Session(&gorm.Session{NewDB: true}), "members.household_id"))
}

// liveHousehold is a subquery matching the live, in-scope household whose id
// is in column.
func liveHousehold(ctx context.Context, db *gorm.DB, column string) *gorm.DB {
	q := db.Table("households h").Select("1").Where("h.id = " + column + " AND h.delete_time IS NULL")
	return inScope(ctx, q, "h.town_code")
}

const duplicateMember = "a live member of this household with this ID number"

// CreateMember adds m to its live household.
func (s *Store) CreateMember(ctx context.Context, m *Member) error {
	now := s.clock()
	m.Revision, m.CreateTime, m.UpdateTime, m.DeleteTime = 1, now, now, nil
	if err := m.seal(s.cipher); err != nil {
		return err
	}
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		// Locking the household keeps a concurrent delete from leaving a
		// live member in a deleted household.
		var h Household
		q := inScope(ctx, tx.Select("id").Where("id = ? AND delete_time IS NULL", m.HouseholdID), "town_code")
		if err := s.forUpdate(q).Take(&h).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Create(m).Error; err != nil {
			return conflict(err, duplicateMember)
		}
		return s.recordChange(ctx, tx, m.resource(), Etag(m.Revision), []string{"created"})
	})
	if openErr := m.open(s.cipher); err == nil {
		err = openErr
	}
	return err
}

// CreateMembers adds members to live households in the caller's towns,
// all or none, with multi-row inserts and one move of each head row (see
// recordChanges): an import adds thousands, and a savepoint per member
// makes a long PostgreSQL transaction slower with every member. A
// household missing or beyond the caller's towns is ErrNotFound; a second
// live member of a household with one ID number is a ConflictError.
func (s *Store) CreateMembers(ctx context.Context, ms []*Member) error {
	if len(ms) == 0 {
		return nil
	}
	now := s.clock()
	ids := map[string]bool{}
	for _, m := range ms {
		m.Revision, m.CreateTime, m.UpdateTime, m.DeleteTime = 1, now, now, nil
		ids[m.HouseholdID] = true
	}
	defer func() {
		for _, m := range ms {
			_ = m.open(s.cipher) // the callers' plaintext back, whatever happened
		}
	}()
	for _, m := range ms {
		if err := m.seal(s.cipher); err != nil {
			return err
		}
	}
	changes := make([]change, len(ms))
	for i, m := range ms {
		changes[i] = change{resource: m.resource(), etag: Etag(m.Revision), fields: []string{"created"}}
	}
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		// Locked, as CreateMember locks its household.
		for chunk := range slices.Chunk(slices.Sorted(maps.Keys(ids)), 500) {
			var found []Household
			q := inScope(ctx, tx.Model(&Household{}).Select("id").Where("id IN ? AND delete_time IS NULL", chunk), "town_code")
			if err := s.forUpdate(q).Order("id").Find(&found).Error; err != nil {
				return err
			}
			if len(found) != len(chunk) {
				return ErrNotFound
			}
		}
		if err := tx.CreateInBatches(ms, insertBatch).Error; err != nil {
			return conflict(err, duplicateMember)
		}
		return s.recordChanges(ctx, tx, changes)
	})
}

// GetMember reads a live member of a live household in the caller's towns.
func (s *Store) GetMember(ctx context.Context, householdID, id string) (*Member, error) {
	var m Member
	if err := liveMember(ctx, s.conn(ctx), householdID, id).Take(&m).Error; err != nil {
		return nil, notFound(err)
	}
	return &m, m.open(s.cipher)
}

// ListMembers returns a page of a live household's live members, oldest first.
func (s *Store) ListMembers(ctx context.Context, householdID string, page Page) ([]Member, *Cursor, error) {
	if err := s.inTown(ctx, householdID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := s.conn(ctx).Model(&Member{}).Where("members.household_id = ? AND members.delete_time IS NULL", householdID)
	q = keyset(q, "members", Order{Column: "create_time"}, false, page.After)
	var rows []Member
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(m Member) Cursor { t := m.CreateTime; return Cursor{Time: &t, ID: m.ID} })
	return rows, next, nil
}

// MembersOf reads the live members of the live households with these ids
// in the caller's towns, in a few queries (an import compares a whole chunk
// of households with what is stored): ordered by household, then oldest
// first, as ListMembers lists them.
func (s *Store) MembersOf(ctx context.Context, householdIDs []string) ([]Member, error) {
	var out []Member
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(householdIDs)), 500) {
		tx := s.conn(ctx)
		var rows []Member
		q := tx.Model(&Member{}).Where("members.household_id IN ? AND members.delete_time IS NULL", chunk).
			Where("EXISTS (?)", liveHousehold(ctx, tx.Session(&gorm.Session{NewDB: true}), "members.household_id"))
		if err := q.Order("members.household_id, members.create_time, members.id").Find(&rows).Error; err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, s.openRows(out)
}

// UpdateMember applies fn to a live member under the etag check; fn's
// context is bound to the transaction.
func (s *Store) UpdateMember(ctx context.Context, householdID, id, etag string, fn func(ctx context.Context, m *Member) error) (*Member, error) {
	m, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB { return liveMember(ctx, tx, householdID, id) }, etag, fn)
	return m, conflict(err, duplicateMember)
}

// DeleteMember soft-deletes a member who is not the subject of an open case.
func (s *Store) DeleteMember(ctx context.Context, householdID, id, etag string) error {
	_, err := update(ctx, s, func(tx *gorm.DB) *gorm.DB { return liveMember(ctx, tx, householdID, id) },
		etag, func(ctx context.Context, m *Member) error {
			var open int64
			if err := s.conn(ctx).Model(&Case{}).Where("subject_id = ? AND status IN ?", id, openStatuses()).Count(&open).Error; err != nil {
				return err
			}
			if open > 0 {
				return errPrecondition("MEMBER_HAS_OPEN_CASES", names.Member{HouseholdID: householdID, ID: id}.String(),
					"the member is the subject of open cases; close or withdraw them before deleting the member")
			}
			now := s.clock()
			m.DeleteTime = &now
			return nil
		})
	return err
}
