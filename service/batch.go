package service

import (
	"context"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/repository"
)

// Transactor runs fn in one transaction that every store call made with
// fn's context joins.
type Transactor interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// itemError is why one item of a batch was refused.
type itemError struct {
	index int
	err   error
}

// batchError refuses a whole batch for the items it names.
type batchError struct{ items []itemError }

func (e *batchError) Error() string {
	return fmt.Sprintf("%d items of the batch were refused", len(e.items))
}

// batchCreate creates every item through the same path a single create
// takes, all in one transaction, each item in a savepoint of its own so
// that one refusal does not hide the next: the error names every refused
// item, and nothing is kept unless all are.
func batchCreate[Req interface{ GetRequestId() string }, Resp any](ctx context.Context, tx Transactor, reqs []Req,
	create func(context.Context, Req) (Resp, error)) ([]Resp, error) {
	out := make([]Resp, len(reqs))
	err := tx.InTx(ctx, func(ctx context.Context) error {
		var refused []itemError
		for i, r := range reqs {
			if r.GetRequestId() != "" {
				refused = append(refused, itemError{i, domain.Invalid("request_id", "must be empty: the batch carries one request_id")})
				continue
			}
			err := tx.InTx(ctx, func(ctx context.Context) error {
				var err error
				out[i], err = create(ctx, r)
				return err
			})
			if err != nil {
				if !itemFault(err) {
					return err // the database or the deadline, not the item
				}
				refused = append(refused, itemError{i, err})
			}
		}
		if len(refused) > 0 {
			return &batchError{items: refused}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// itemFault reports whether err is about the item rather than the server.
func itemFault(err error) bool {
	switch status.Code(ToStatus(err)) {
	case codes.Internal, codes.Unknown, codes.DeadlineExceeded, codes.Canceled, codes.Unavailable:
		return false
	}
	return true
}

// batchStatus describes a refused batch: every refused item appears in the
// BadRequest detail under `requests[i]`, with its own field path where it
// has one. The code is the items' common code, or INVALID_ARGUMENT when
// they differ.
func batchStatus(e *batchError) error {
	br := &errdetails.BadRequest{}
	common := codes.OK
	for _, it := range e.items {
		st := status.Convert(ToStatus(it.err))
		switch common {
		case codes.OK:
			common = st.Code()
		case st.Code():
		default:
			common = codes.InvalidArgument
		}
		prefix := fmt.Sprintf("requests[%d]", it.index)
		listed := false
		for _, d := range st.Details() {
			if b, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range b.GetFieldViolations() {
					br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
						Field: prefix + "." + v.GetField(), Description: v.GetDescription(),
					})
					listed = true
				}
			}
		}
		if !listed {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: prefix, Description: code.Code(st.Code()).String() + ": " + st.Message(),
			})
		}
	}
	first := br.FieldViolations[0]
	msg := fmt.Sprintf("%d of the batch's items were refused, nothing was created; first: %s: %s",
		len(e.items), first.GetField(), first.GetDescription())
	return withDetails(status.New(common, msg), br,
		&errdetails.ErrorInfo{Reason: "BATCH_ITEMS_REFUSED", Domain: errorDomain,
			Metadata: map[string]string{"refused": fmt.Sprint(len(e.items))}})
}

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

func (s *Households) BatchCreateHouseholds(ctx context.Context, req *pb.BatchCreateHouseholdsRequest) (*pb.BatchCreateHouseholdsResponse, error) {
	hs, err := batchCreate(ctx, s.store, req.GetRequests(), s.CreateHousehold)
	if err != nil {
		return nil, err
	}
	return &pb.BatchCreateHouseholdsResponse{Households: hs}, nil
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
		resp.Households = append(resp.Households, maskHousehold(householdToProto(h)))
	}
	return resp, nil
}

func (s *Cases) BatchCreateCases(ctx context.Context, req *pb.BatchCreateCasesRequest) (*pb.BatchCreateCasesResponse, error) {
	cs, err := batchCreate(ctx, s.store, req.GetRequests(), s.CreateCase)
	if err != nil {
		return nil, err
	}
	return &pb.BatchCreateCasesResponse{Cases: cs}, nil
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
		p, err := caseToProto(c)
		if err != nil {
			return nil, err
		}
		resp.Cases = append(resp.Cases, p)
	}
	return resp, nil
}
