package service

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/repository"
)

// TransferStore is what transfers, merges and the duplicate check need
// from storage, beside the household calls.
type TransferStore interface {
	ChangeTransfer(ctx context.Context, id, etag string, fn func(h *repository.Household) (*repository.HouseholdHistory, error)) (*repository.Household, error)
	MergeHouseholds(ctx context.Context, survivorID, survivorEtag, duplicateID, duplicateEtag string,
		check func(survivor, duplicate *repository.Household) error) (*repository.Household, error)
	ListHouseholdHistory(ctx context.Context, householdID string, page repository.Page) ([]repository.HouseholdHistory, *repository.Cursor, error)
	PossibleDuplicates(ctx context.Context, k domain.MatchKeys, idNumber string, servicemember bool) ([]domain.DuplicateCandidate, error)
	PossibleDuplicatesOf(ctx context.Context, people []repository.DuplicateQuery) ([][]domain.DuplicateCandidate, error)
}

// LocationKey is the response header metadata naming where a merged
// household went; the gateway answers it as Location.
const LocationKey = "location"

func (s *Households) TransferHousehold(ctx context.Context, req *pb.TransferHouseholdRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	to := req.GetToTownCode()
	if err := domain.CheckTownCode("to_town_code", to, s.towns); err != nil {
		return nil, err
	}
	return s.masked(s.store.ChangeTransfer(ctx, id, req.GetEtag(), func(h *repository.Household) (*repository.HouseholdHistory, error) {
		if err := domain.CheckTransfer("to_town_code", h.TransferState(), to); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		h.TransferToTown, h.TransferReason, h.TransferRequester, h.TransferTime = to, req.GetReason(), s.actor(ctx), &now
		return &repository.HouseholdHistory{Action: domain.TransferRequested, Method: "TransferHousehold",
			FromTownCode: h.TownCode, ToTownCode: to, Reason: req.GetReason()}, nil
	}))
}

// CancelHouseholdTransfer is the sending town's withdrawal of a transfer
// it asked by mistake: cleared as a decline clears it, and held by the
// store to the sending town (actingTown).
func (s *Households) CancelHouseholdTransfer(ctx context.Context, req *pb.CancelHouseholdTransferRequest) (*pb.Household, error) {
	return s.endTransfer(ctx, req.GetName(), req.GetEtag(), func(h *repository.Household) *repository.HouseholdHistory {
		return &repository.HouseholdHistory{Action: domain.TransferCancelled, Method: "CancelHouseholdTransfer",
			FromTownCode: h.TownCode, ToTownCode: h.TransferToTown, Reason: req.GetReason()}
	})
}

func (s *Households) AcceptHouseholdTransfer(ctx context.Context, req *pb.AcceptHouseholdTransferRequest) (*pb.Household, error) {
	return s.endTransfer(ctx, req.GetName(), req.GetEtag(), func(h *repository.Household) *repository.HouseholdHistory {
		from := h.TownCode
		h.TownCode = h.TransferToTown
		return &repository.HouseholdHistory{Action: domain.TransferAccepted, Method: "AcceptHouseholdTransfer",
			FromTownCode: from, ToTownCode: h.TownCode}
	})
}

func (s *Households) DeclineHouseholdTransfer(ctx context.Context, req *pb.DeclineHouseholdTransferRequest) (*pb.Household, error) {
	return s.endTransfer(ctx, req.GetName(), req.GetEtag(), func(h *repository.Household) *repository.HouseholdHistory {
		return &repository.HouseholdHistory{Action: domain.TransferDeclined, Method: "DeclineHouseholdTransfer",
			FromTownCode: h.TownCode, ToTownCode: h.TransferToTown, Reason: req.GetReason()}
	})
}

// endTransfer ends a pending transfer: the receiving town's answer, or
// the sending town's withdrawal. decide sets what the end changes and
// returns its history entry; either way the transfer is no longer pending.
func (s *Households) endTransfer(ctx context.Context, name, etag string, decide func(h *repository.Household) *repository.HouseholdHistory) (*pb.Household, error) {
	id, err := householdID("name", name)
	if err != nil {
		return nil, err
	}
	return s.masked(s.store.ChangeTransfer(ctx, id, etag, func(h *repository.Household) (*repository.HouseholdHistory, error) {
		if err := domain.CheckTransferDecision(h.TransferState()); err != nil {
			return nil, err
		}
		e := decide(h)
		h.TransferToTown, h.TransferReason, h.TransferRequester, h.TransferTime = "", "", "", nil
		return e, nil
	}))
}

func (s *Households) MergeHouseholds(ctx context.Context, req *pb.MergeHouseholdsRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	dup, err := householdID("merged_household", req.GetMergedHousehold())
	if err != nil {
		return nil, err
	}
	return s.masked(s.store.MergeHouseholds(ctx, id, req.GetEtag(), dup, req.GetMergedHouseholdEtag(),
		func(survivor, duplicate *repository.Household) error {
			return domain.CheckMerge(survivor.TransferState(), duplicate.TransferState())
		}))
}

func (s *Households) ListHouseholdHistory(ctx context.Context, req *pb.ListHouseholdHistoryRequest) (*pb.ListHouseholdHistoryResponse, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("householdHistory", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListHouseholdHistory(ctx, hid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListHouseholdHistoryResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Entries = append(resp.Entries, convert.HouseholdHistoryToProto(&rows[i]))
	}
	return resp, nil
}

// mergedHousehold answers a read of a household that was merged away: the
// household as it was left, its merged_into naming the survivor, and over
// HTTP a Location header pointing there (gRPC cannot redirect; the field
// says the same to every client). Any other missing household stays
// ErrNotFound.
func (s *Households) mergedHousehold(ctx context.Context, id string, notFound error) (*repository.Household, error) {
	if !errors.Is(notFound, repository.ErrNotFound) {
		return nil, notFound
	}
	h, err := s.store.GetHousehold(ctx, id, true)
	if err != nil || h.MergedInto == "" {
		return nil, notFound
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(LocationKey, "/v1/"+convert.HouseholdToProto(h, s.towns).GetMergedInto()))
	return h, nil
}

// checkDuplicates refuses a new person whose keys match live records the
// caller may see, unless the caller confirmed. Matches outside the
// caller's towns are never read: the check neither names nor hints at
// them, and the create proceeds. A record with the person's own ID number
// is the ID-number rules' business (see Store.PossibleDuplicates).
func (s *Households) checkDuplicates(ctx context.Context, confirmed bool, k domain.MatchKeys, idNumber string, servicemember bool) error {
	if confirmed {
		return nil
	}
	found, err := s.store.PossibleDuplicates(ctx, k, idNumber, servicemember)
	if err != nil || len(found) == 0 {
		return err
	}
	return &domain.PossibleDuplicateError{Candidates: found}
}

// newPerson is someone a batch or a file would register: a household's
// servicemember or a member, with what a candidate list shows of them.
type newPerson struct {
	repository.DuplicateQuery
	name      string
	birthYear int
}

func householdPerson(h *repository.Household) *newPerson {
	return &newPerson{
		DuplicateQuery: repository.DuplicateQuery{Keys: h.MatchKeys(), IDNumber: h.ServicememberIDNumber, Servicemember: true},
		name:           h.ServicememberName, birthYear: h.ServicememberBirthYear(),
	}
}

func memberPerson(m *repository.Member) *newPerson {
	return &newPerson{
		DuplicateQuery: repository.DuplicateQuery{Keys: m.MatchKeys(), IDNumber: m.IDNumber},
		name:           m.DisplayName, birthYear: birthYear(m.BirthDate),
	}
}

func birthYear(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return t.Year()
}

// checkDuplicatesOf is checkDuplicates for the new people of a batch
// or a file, in a few queries for all of them: parallel to rows (nil for
// an item refused already, which is neither checked nor matched), the
// refusal of each item that did not confirm and whose person
// matches live records the caller may see, or an earlier item that passed
// the check (named by item(j), as the batch or the file names it: it is
// not written yet); nil for the others. Two items with one ID number are
// the uniqueness rule's business, as a stored record with it is.
func (s *Households) checkDuplicatesOf(ctx context.Context, rows []*newPerson, confirmed func(i int) bool,
	item func(j int) string) ([]error, error) {
	var asked []int
	var people []repository.DuplicateQuery
	for i, h := range rows {
		if h != nil && !confirmed(i) {
			asked = append(asked, i)
			people = append(people, h.DuplicateQuery)
		}
	}
	out := make([]error, len(rows))
	if len(asked) == 0 {
		return out, nil
	}
	found, err := s.store.PossibleDuplicatesOf(ctx, people)
	if err != nil {
		return nil, err
	}
	live := make(map[int][]domain.DuplicateCandidate, len(asked))
	for n, i := range asked {
		live[i] = found[n]
	}
	// The batch's own items, in order: an item that passes is, for the
	// items after it, as good as registered.
	passed := map[string][]int{} // a key, "b" or "p" before it, to the items that passed with it
	for i, h := range rows {
		if h == nil {
			continue
		}
		k := h.Keys
		cs := live[i]
		if !confirmed(i) {
			cs = append(cs, earlierItems(rows, i, k, passed, item)...)
		}
		if len(cs) > 0 {
			out[i] = &domain.PossibleDuplicateError{Candidates: cs[:min(len(cs), repository.CandidateLimit)]}
			continue
		}
		if k.NameBirth != "" {
			passed["b"+k.NameBirth] = append(passed["b"+k.NameBirth], i)
		}
		if k.NamePhone != "" {
			passed["p"+k.NamePhone] = append(passed["p"+k.NamePhone], i)
		}
	}
	return out, nil
}

// earlierItems are the candidates, among the earlier items that passed,
// of item i with keys k, in the items' order.
func earlierItems(rows []*newPerson, i int, k domain.MatchKeys, passed map[string][]int, item func(j int) string) []domain.DuplicateCandidate {
	byItem := map[int]*domain.DuplicateCandidate{}
	mark := func(key string, birth bool) {
		for _, j := range passed[key] {
			if rows[j].IDNumber == rows[i].IDNumber {
				continue
			}
			c := byItem[j]
			if c == nil {
				c = &domain.DuplicateCandidate{Resource: item(j), Name: rows[j].name, BirthYear: rows[j].birthYear}
				byItem[j] = c
			}
			c.Birth, c.Phone = c.Birth || birth, c.Phone || !birth
		}
	}
	if k.NameBirth != "" {
		mark("b"+k.NameBirth, true)
	}
	if k.NamePhone != "" {
		mark("p"+k.NamePhone, false)
	}
	out := make([]domain.DuplicateCandidate, 0, len(byItem))
	for _, j := range slices.Sorted(maps.Keys(byItem)) {
		out = append(out, *byItem[j])
	}
	return out
}
