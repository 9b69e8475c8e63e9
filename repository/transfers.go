package repository

import (
	"context"
	"maps"
	"slices"
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
// sending town asks and cancels, the receiving town decides.
func actingTown(before *Household, action domain.HouseholdAction) string {
	if action == domain.TransferRequested || action == domain.TransferCancelled {
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

// CandidateLimit caps the candidates of a possible duplicate.
const CandidateLimit = 20

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
	found, err := s.PossibleDuplicatesOf(ctx, []DuplicateQuery{{Keys: k, IDNumber: idNumber, Servicemember: servicemember}})
	if err != nil {
		return nil, err
	}
	return found[0], nil
}

// DuplicateQuery is one new person the duplicate check asks about: their
// keys, their ID number ("" for none), and whether they are a new
// household's servicemember.
type DuplicateQuery struct {
	Keys          domain.MatchKeys
	IDNumber      string
	Servicemember bool
}

// PossibleDuplicatesOf is PossibleDuplicates for many people at once, two
// statements for each 500 of them (and one more when some servicemember
// has candidates): the candidates of each, parallel to people.
func (s *Store) PossibleDuplicatesOf(ctx context.Context, people []DuplicateQuery) ([][]domain.DuplicateCandidate, error) {
	out := make([][]domain.DuplicateCandidate, 0, len(people))
	for chunk := range slices.Chunk(people, 500) {
		found, err := s.possibleDuplicatesOf(ctx, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func (s *Store) possibleDuplicatesOf(ctx context.Context, people []DuplicateQuery) ([][]domain.DuplicateCandidate, error) {
	type keyed struct{ birth, phone, id string }
	ks := make([]keyed, len(people))
	births, phones := map[string]bool{}, map[string]bool{}
	for i, p := range people {
		b, ph := matchIndexes(s.cipher, p.Keys)
		ks[i] = keyed{birth: b, phone: ph, id: s.cipher.Index(p.IDNumber, indexIDNumber)}
		if b != "" {
			births[b] = true
		}
		if ph != "" {
			phones[ph] = true
		}
	}
	out := make([][]domain.DuplicateCandidate, len(people))
	if len(births)+len(phones) == 0 {
		return out, nil
	}
	hs, ms, err := s.matchingPeople(ctx, slices.Collect(maps.Keys(births)), slices.Collect(maps.Keys(phones)))
	if err != nil {
		return nil, err
	}
	var asked []string // servicemembers with candidates: are they registered?
	for i, k := range ks {
		birth, phone := k.birth, k.phone
		if birth == "" && phone == "" {
			continue
		}
		matches := func(nameBirth, namePhone, id string) (bool, bool) {
			if k.id != "" && id == k.id {
				return false, false
			}
			return nameBirth == birth, phone != "" && namePhone == phone
		}
		var found []domain.DuplicateCandidate
		for _, h := range hs {
			b, p := matches(h.NameBirthIndex, h.NamePhoneIndex, h.ServicememberIDIndex)
			if !b && !p {
				continue
			}
			found = append(found, domain.DuplicateCandidate{Resource: h.resource(), Name: h.ServicememberName,
				BirthYear: h.ServicememberBirthYear(), Birth: b, Phone: p})
		}
		for _, m := range ms {
			if b, p := matches(m.NameBirthIndex, m.NamePhoneIndex, m.IDNumberIndex); b || p {
				found = append(found, domain.DuplicateCandidate{Resource: m.resource(), Name: m.DisplayName,
					BirthYear: m.BirthDate.Year(), Birth: b, Phone: p})
			}
		}
		out[i] = found[:min(len(found), CandidateLimit)]
		if len(found) > 0 && people[i].Servicemember && k.id != "" {
			asked = append(asked, k.id)
		}
	}
	registered, err := s.registeredServicemembers(ctx, asked)
	if err != nil {
		return nil, err
	}
	for i, k := range ks {
		if people[i].Servicemember && registered[k.id] {
			out[i] = nil
		}
	}
	return out, nil
}

// matchingPeople reads the live households and members within the
// caller's reach whose name-and-birth index is one of births or whose
// name-and-phone index is one of phones, each table oldest first.
func (s *Store) matchingPeople(ctx context.Context, births, phones []string) ([]Household, []Member, error) {
	// The name-and-phone indexes leave out the rows with no phone; the
	// planner cannot see that a long IN list excludes '' (it proves that
	// for lists of at most 100), so the condition says it, or the OR would
	// read the whole table.
	match := func(q *gorm.DB, table string) *gorm.DB {
		byPhone := "(" + table + ".name_phone_index IN ? AND " + table + ".name_phone_index <> '')"
		switch {
		case len(phones) == 0:
			return q.Where(table+".name_birth_index IN ?", births)
		case len(births) == 0:
			return q.Where(byPhone, phones)
		}
		return q.Where("("+table+".name_birth_index IN ? OR "+byPhone+")", births, phones)
	}
	var hs []Household
	if err := match(s.households(ctx).Where("households.delete_time IS NULL"), "households").
		Order("households.create_time, households.id").Find(&hs).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(hs); err != nil {
		return nil, nil, err
	}
	var ms []Member
	q := s.conn(ctx).Model(&Member{}).Where("members.delete_time IS NULL").
		Where("EXISTS (?)", liveHousehold(ctx, s.conn(ctx).Session(&gorm.Session{NewDB: true}), "members.household_id"))
	if err := match(q, "members").Order("members.create_time, members.id").Find(&ms).Error; err != nil {
		return nil, nil, err
	}
	return hs, ms, nil
}

// registeredServicemembers says which of the ID-number indexes a live
// household's servicemember holds, in any town: deliberately county-wide,
// to leave such a person to the uniqueness rule (see PossibleDuplicates),
// and never answered to the caller as such.
func (s *Store) registeredServicemembers(ctx context.Context, indexes []string) (map[string]bool, error) {
	out := map[string]bool{}
	for chunk := range slices.Chunk(indexes, 500) {
		var taken []string
		if err := s.conn(ctx).Model(&Household{}).Where("servicemember_id_index IN ? AND delete_time IS NULL", chunk).
			Pluck("servicemember_id_index", &taken).Error; err != nil {
			return nil, err
		}
		for _, t := range taken {
			out[t] = true
		}
	}
	return out, nil
}

// ServicememberBirthYear is the year of birth the servicemember's ID
// number holds, 0 when it holds none.
func (h *Household) ServicememberBirthYear() int {
	if d := domain.BirthDateOfID(h.ServicememberIDNumber); d != "" {
		return int(atoiPrefix(d))
	}
	return 0
}

// atoiPrefix reads the year of a YYYY-MM-DD date.
func atoiPrefix(date string) int64 {
	var n int64
	for _, r := range date[:4] {
		n = n*10 + int64(r-'0')
	}
	return n
}
