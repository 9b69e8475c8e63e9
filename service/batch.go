package service

import (
	"context"
	"errors"
	"fmt"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/repository"
)

// batchNames turns resource names into ids, naming a bad one by its index.
func batchNames(names []string, parse func(field, name string) (string, error)) ([]string, error) {
	ids := make([]string, len(names))
	for i, n := range names {
		id, err := parse(fmt.Sprintf("names[%d]", i), n)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// inOrder arranges rows found by id in the order of ids; a missing id is
// NOT_FOUND for the whole call (AIP-231).
func inOrder[T any](ids []string, rows []T, idOf func(*T) string) ([]*T, error) {
	byID := make(map[string]*T, len(rows))
	for i := range rows {
		byID[idOf(&rows[i])] = &rows[i]
	}
	out := make([]*T, len(ids))
	for i, id := range ids {
		r, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("names[%d]: %w", i, repository.ErrNotFound)
		}
		out[i] = r
	}
	return out, nil
}

// mergeRefused adds the items storage refused (err, from a bulk create
// given the items refused here as nil) to those refused here, and returns
// the batch's error, if any. Storage checks the rest even when some are
// refused here, so that the error names every refused item; it writes only
// a batch with none.
func mergeRefused(refused *domain.BatchError, err error) error {
	var more *domain.BatchError
	switch {
	case err == nil:
	case errors.As(err, &more):
		refused.Items = append(refused.Items, more.Items...)
	default:
		return err
	}
	return refused.OrNil()
}

// noItemRequestID refuses a batch item with a request id of its own: the
// batch has one, and an item's would promise a retry it cannot keep.
func noItemRequestID(r interface{ GetRequestId() string }) error {
	if r.GetRequestId() != "" {
		return domain.Invalid("request_id", "must be empty: the batch carries one request_id")
	}
	return nil
}

// BatchCreateHouseholds checks every item as CreateHousehold does, then
// writes them all with one bulk insert: nightly imports bring thousands.
func (s *Households) BatchCreateHouseholds(ctx context.Context, req *pb.BatchCreateHouseholdsRequest) (*pb.BatchCreateHouseholdsResponse, error) {
	rows := make([]*repository.Household, len(req.GetRequests()))
	var refused domain.BatchError
	for i, r := range req.GetRequests() {
		h, err := s.newHousehold(r)
		if err == nil {
			err = noItemRequestID(r)
		}
		if err != nil {
			refused.Add(i, err)
			continue
		}
		rows[i] = h
	}
	if err := mergeRefused(&refused, s.store.CreateHouseholds(ctx, rows)); err != nil {
		return nil, err
	}
	resp := &pb.BatchCreateHouseholdsResponse{Households: make([]*pb.Household, len(rows))}
	for i, h := range rows {
		resp.Households[i] = maskHousehold(s.render(h))
	}
	return resp, nil
}

func (s *Households) BatchGetHouseholds(ctx context.Context, req *pb.BatchGetHouseholdsRequest) (*pb.BatchGetHouseholdsResponse, error) {
	ids, err := batchNames(req.GetNames(), householdID)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.GetHouseholds(ctx, ids)
	if err != nil {
		return nil, err
	}
	ordered, err := inOrder(ids, rows, func(h *repository.Household) string { return h.ID })
	if err != nil {
		return nil, err
	}
	resp := &pb.BatchGetHouseholdsResponse{}
	for _, h := range ordered {
		resp.Households = append(resp.Households, maskHousehold(s.render(h)))
	}
	return resp, nil
}

// BatchCreateCases checks every item as CreateCase does, then writes them
// all with one bulk insert.
func (s *Cases) BatchCreateCases(ctx context.Context, req *pb.BatchCreateCasesRequest) (*pb.BatchCreateCasesResponse, error) {
	n := len(req.GetRequests())
	rows, hists := make([]*repository.Case, n), make([]*repository.HistoryEntry, n)
	var refused domain.BatchError
	for i, r := range req.GetRequests() {
		err := noItemRequestID(r)
		if err == nil {
			rows[i], hists[i], err = s.newCase(ctx, r, "BatchCreateCases")
		}
		if err != nil {
			if apierr.Fault(err) {
				return nil, err // the database or the deadline, not the item
			}
			refused.Add(i, err)
		}
	}
	if err := mergeRefused(&refused, s.store.CreateCases(ctx, rows, hists)); err != nil {
		return nil, err
	}
	resp := &pb.BatchCreateCasesResponse{Cases: make([]*pb.Case, n)}
	for i, c := range rows {
		p, err := convert.CaseToProto(c, s.towns)
		if err != nil {
			return nil, err
		}
		resp.Cases[i] = p
	}
	return resp, nil
}

func (s *Cases) BatchGetCases(ctx context.Context, req *pb.BatchGetCasesRequest) (*pb.BatchGetCasesResponse, error) {
	ids, err := batchNames(req.GetNames(), caseID)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.GetCases(ctx, ids)
	if err != nil {
		return nil, err
	}
	ordered, err := inOrder(ids, rows, func(c *repository.Case) string { return c.ID })
	if err != nil {
		return nil, err
	}
	resp := &pb.BatchGetCasesResponse{}
	for _, c := range ordered {
		p, err := convert.CaseToProto(c, s.towns)
		if err != nil {
			return nil, err
		}
		resp.Cases = append(resp.Cases, p)
	}
	return resp, nil
}
