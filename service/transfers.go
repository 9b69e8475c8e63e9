package service

import (
	"context"
	"errors"

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

func (s *Households) AcceptHouseholdTransfer(ctx context.Context, req *pb.AcceptHouseholdTransferRequest) (*pb.Household, error) {
	return s.decideTransfer(ctx, req.GetName(), req.GetEtag(), func(h *repository.Household) *repository.HouseholdHistory {
		from := h.TownCode
		h.TownCode = h.TransferToTown
		return &repository.HouseholdHistory{Action: domain.TransferAccepted, Method: "AcceptHouseholdTransfer",
			FromTownCode: from, ToTownCode: h.TownCode}
	})
}

func (s *Households) DeclineHouseholdTransfer(ctx context.Context, req *pb.DeclineHouseholdTransferRequest) (*pb.Household, error) {
	return s.decideTransfer(ctx, req.GetName(), req.GetEtag(), func(h *repository.Household) *repository.HouseholdHistory {
		return &repository.HouseholdHistory{Action: domain.TransferDeclined, Method: "DeclineHouseholdTransfer",
			FromTownCode: h.TownCode, ToTownCode: h.TransferToTown, Reason: req.GetReason()}
	})
}

// decideTransfer is the receiving town's answer to a pending transfer:
// decide sets what the decision changes and returns its history entry;
// either way the transfer is no longer pending.
func (s *Households) decideTransfer(ctx context.Context, name, etag string, decide func(h *repository.Household) *repository.HouseholdHistory) (*pb.Household, error) {
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
