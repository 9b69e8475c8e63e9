package repository

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/names"
)

// HouseholdHistory is one entry of a household's own history (transfers
// and merges), written in the transaction of the change it records.
type HouseholdHistory struct {
	ID             string `gorm:"primaryKey"`
	HouseholdID    string
	Time           time.Time
	Actor          string
	Method         string
	Action         domain.HouseholdAction
	FromTownCode   string
	ToTownCode     string
	OtherHousehold string
	// Reason is free text, sealed at rest.
	Reason string
	Moved  List[string]
}

// TableName names HouseholdHistory's table for gorm.
func (HouseholdHistory) TableName() string { return "household_history" }

const sealHistoryReason = "household_history.reason"

func (e *HouseholdHistory) seal(c Cipher) error {
	return sealAll(c, field{&e.Reason, sealHistoryReason})
}

func (e *HouseholdHistory) open(c Cipher) error {
	return openAll(c, field{&e.Reason, sealHistoryReason})
}

// TransferState is what the transfer and merge rules read of a household.
func (h *Household) TransferState() domain.TransferState {
	st := domain.TransferState{Name: h.resource(), Town: h.TownCode, PendingTo: h.TransferToTown}
	if h.MergedInto != "" {
		st.MergedInto = names.Household{ID: h.MergedInto}.String()
	}
	return st
}

// actingTown is the town whose caller may make a transfer's step: the
// sending town asks, the receiving town decides.
func actingTown(before *Household, action domain.HouseholdAction) string {
	if action == domain.TransferRequested {
		return before.TownCode
	}
	return before.TransferToTown
}

// ChangeTransfer is the read-modify-write of a household's transfer. fn
// sees the live household (in the caller's towns, or in transfer to one of
// them), sets its transfer fields or its town, and returns the history
// entry of the step. The caller must reach the town acting for that step
// (actingTown), else ErrOutOfScope: a caseworker of the sending town may
// not accept. When the town changed, the household's open cases move with
// it, unassigned, each with a history entry. The answer is the household
// as written.
func (s *Store) ChangeTransfer(ctx context.Context, id, etag string, fn func(h *Household) (*HouseholdHistory, error)) (*Household, error) {
	selectRow := func(tx *gorm.DB) *gorm.DB {
		return reachable(ctx, tx.Where("id = ? AND delete_time IS NULL", id), "")
	}
	_, err := update(ctx, s, selectRow, etag, func(ctx context.Context, h *Household) error {
		before := *h
		e, err := fn(h)
		if err != nil {
			return err
		}
		if err := allows(ctx, actingTown(&before, e.Action)); err != nil {
			return err
		}
		if h.TownCode != before.TownCode {
			n, err := s.moveCases(ctx, s.conn(ctx), id, before.TownCode, h.TownCode, caseMove{
				method: e.Method, openOnly: true, clearAssignee: true,
				reason: "the household's transfer from town " + before.TownCode + " to town " + h.TownCode + " was accepted",
			})
			if err != nil {
				return err
			}
			e.Moved = List[string]{"cases:" + itoa(int64(n))}
		}
		e.HouseholdID = id
		return s.addHistory(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return s.householdAsWritten(ctx, id)
}

// householdAsWritten reads a household the call has just written, whatever
// the caller's scope now: a town that declined a transfer no longer reaches
// the household, yet its answer is the household it declined.
func (s *Store) householdAsWritten(ctx context.Context, id string) (*Household, error) {
	var h Household
	q := s.conn(ctx).Model(&Household{}).Select("households.*, "+memberCountSQL).Where("households.id = ?", id)
	if err := q.Take(&h).Error; err != nil {
		return nil, notFound(err)
	}
	return &h, h.open(s.cipher)
}

// addHistory writes a household history entry in ctx's transaction, by
// the call's principal.
func (s *Store) addHistory(ctx context.Context, e *HouseholdHistory) error {
	e.ID, e.Time, e.Actor = uuid.Must(uuid.NewV7()).String(), s.clock(), actorOf(ctx)
	return s.createSealed(s.conn(ctx), e)
}

// actorOf names who makes the call's changes in history: the audit
// record's principal, or the server itself.
func actorOf(ctx context.Context) string {
	if r := audit.FromContext(ctx); r != nil {
		return r.Principal
	}
	return "system"
}

// ListHouseholdHistory returns a page of a household's history, oldest
// first. A merged household's history is read too: it says where it went.
func (s *Store) ListHouseholdHistory(ctx context.Context, householdID string, page Page) ([]HouseholdHistory, *Cursor, error) {
	if _, err := s.GetHousehold(ctx, householdID, true); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := s.conn(ctx).Model(&HouseholdHistory{}).Where("household_history.household_id = ?", householdID)
	q = keyset(q, "household_history", Order{Column: "time"}, false, page.After)
	var rows []HouseholdHistory
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(e HouseholdHistory) Cursor { t := e.Time; return Cursor{Time: &t, ID: e.ID} })
	return rows, next, nil
}

// candidateLimit caps the candidates of a possible duplicate.
const candidateLimit = 20

// PossibleDuplicates finds the live households and members, within the
// caller's reach, whose name and birth date, or name and phone, match k:
// through the keyed indexes only, so names and phones are never compared
// in SQL and nothing outside the caller's towns is read as a candidate.
//
// idNumber is the new person's ID number ("" for none). Records holding
// the same number are the same person, whom the ID-number rules already
// govern, so they are no candidates; and a new household whose
// servicemember already has a live household anywhere is left to the
// uniqueness rule, which refuses it (ALREADY_EXISTS, or
// CONFLICT_OUTSIDE_SCOPE without naming it), rather than warned about.
func (s *Store) PossibleDuplicates(ctx context.Context, k domain.MatchKeys, idNumber string, servicemember bool) ([]domain.DuplicateCandidate, error) {
	birth, phone := matchIndexes(s.cipher, k)
	if birth == "" && phone == "" {
		return nil, nil
	}
	id := s.cipher.Index(idNumber, indexIDNumber)
	if servicemember && id != "" {
		var n int64
		if err := s.conn(ctx).Model(&Household{}).Where("servicemember_id_index = ? AND delete_time IS NULL", id).
			Count(&n).Error; err != nil || n > 0 {
			return nil, err
		}
	}
	match := func(q *gorm.DB, table, idColumn string) *gorm.DB {
		if id != "" {
			q = q.Where(table+"."+idColumn+" <> ?", id)
		}
		if phone == "" {
			return q.Where(table+".name_birth_index = ?", birth)
		}
		return q.Where("("+table+".name_birth_index = ? OR "+table+".name_phone_index = ?)", birth, phone)
	}
	var hs []Household
	if err := match(s.households(ctx).Where("households.delete_time IS NULL"), "households", "servicemember_id_index").
		Order("households.create_time, households.id").Limit(candidateLimit).Find(&hs).Error; err != nil {
		return nil, err
	}
	if err := s.openRows(hs); err != nil {
		return nil, err
	}
	var ms []Member
	q := s.conn(ctx).Model(&Member{}).Where("members.delete_time IS NULL").
		Where("EXISTS (?)", liveHousehold(ctx, s.conn(ctx).Session(&gorm.Session{NewDB: true}), "members.household_id"))
	if err := match(q, "members", "id_number_index").Order("members.create_time, members.id").Limit(candidateLimit).Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]domain.DuplicateCandidate, 0, len(hs)+len(ms))
	for _, h := range hs {
		c := domain.DuplicateCandidate{Resource: h.resource(), Name: h.ServicememberName,
			Birth: h.NameBirthIndex == birth, Phone: phone != "" && h.NamePhoneIndex == phone}
		if b := domain.BirthDateOfID(h.ServicememberIDNumber); b != "" {
			c.BirthYear = int(atoiPrefix(b))
		}
		out = append(out, c)
	}
	for _, m := range ms {
		out = append(out, domain.DuplicateCandidate{Resource: m.resource(), Name: m.DisplayName, BirthYear: m.BirthDate.Year(),
			Birth: m.NameBirthIndex == birth, Phone: phone != "" && m.NamePhoneIndex == phone})
	}
	if len(out) > candidateLimit {
		out = out[:candidateLimit]
	}
	return out, nil
}

// atoiPrefix reads the year of a YYYY-MM-DD date.
func atoiPrefix(date string) int64 {
	var n int64
	for _, r := range date[:4] {
		n = n*10 + int64(r-'0')
	}
	return n
}
