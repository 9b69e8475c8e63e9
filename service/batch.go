package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/names"
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

// BatchCreateHouseholds checks every item as CreateHousehold does (the
// possible duplicates of all items in a few queries, an earlier item of
// the batch counting as a live record), then writes them all with one bulk
// insert: nightly imports bring thousands. A re-run of a changed file
// (existing_mode SKIP or UPDATE) or a caller that allows partial success
// takes the way that handles each item alone.
func (s *Households) BatchCreateHouseholds(ctx context.Context, req *pb.BatchCreateHouseholdsRequest) (*pb.BatchCreateHouseholdsResponse, error) {
	mode := req.GetExistingMode()
	if mode == pb.BatchCreateHouseholdsRequest_EXISTING_MODE_UNSPECIFIED {
		mode = pb.BatchCreateHouseholdsRequest_EXISTING_MODE_FAIL
	}
	rows := make([]*repository.Household, len(req.GetRequests()))
	var refused domain.BatchError
	for i, r := range req.GetRequests() {
		var err error
		if req.GetAllowPartialSuccess() {
			// The server checked the batch's own fields only (see
			// server.partialBatch): each item's rules are checked here,
			// so that one breaking them is refused alone.
			err = s.validate("", r)
		}
		var h *repository.Household
		if err == nil {
			h, err = s.newHousehold(r)
		}
		if err == nil {
			err = noItemRequestID(r)
		}
		if err != nil {
			refused.Add(i, err)
			continue
		}
		rows[i] = h
	}
	dups, err := s.checkDuplicatesOf(ctx, mapNil(rows, householdPerson), func(i int) bool { return req.GetRequests()[i].GetConfirmPossibleDuplicate() },
		func(j int) string { return fmt.Sprintf("requests[%d]", j) })
	if err != nil {
		return nil, err
	}
	for i, err := range dups {
		if err != nil {
			refused.Add(i, err)
			rows[i] = nil
		}
	}
	slices.SortStableFunc(refused.Items, func(a, b domain.ItemError) int { return a.Index - b.Index })
	if mode != pb.BatchCreateHouseholdsRequest_EXISTING_MODE_FAIL || req.GetAllowPartialSuccess() {
		return s.rerunBatch(ctx, rows, &refused, mode, req.GetAllowPartialSuccess())
	}
	if err := mergeRefused(&refused, s.store.CreateHouseholds(ctx, rows)); err != nil {
		return nil, err
	}
	resp := &pb.BatchCreateHouseholdsResponse{}
	for _, h := range rows {
		resp.Households = append(resp.Households, maskHousehold(s.render(h)))
		resp.Results = append(resp.Results, itemResult(pb.BatchCreateHouseholdResult_OUTCOME_CREATED, h))
	}
	return resp, nil
}

// rerunBatch writes a batch item by item: an item whose servicemember
// already has a household in the caller's towns is skipped or applied to it
// as UpdateHousehold would (mode), the rest are created with one bulk
// insert. It is one transaction: without partial success the first refused
// item rolls everything back, and the error names every refused item; with
// it, each item's write is its own savepoint, and the refused ones are
// reported in their results. A fault of the server's fails the call either
// way. rows are the items that passed the checks that need no storage
// (refused names the others).
func (s *Households) rerunBatch(ctx context.Context, rows []*repository.Household, refused *domain.BatchError,
	mode pb.BatchCreateHouseholdsRequest_ExistingMode, partial bool) (*pb.BatchCreateHouseholdsResponse, error) {
	numbers := make([]string, len(rows))
	for i, h := range rows {
		if h != nil {
			numbers[i] = h.ServicememberIDNumber
		}
	}
	existing := make([]*repository.Household, len(rows))
	if mode != pb.BatchCreateHouseholdsRequest_EXISTING_MODE_FAIL {
		var err error
		if existing, err = s.store.HouseholdsByServicemember(ctx, numbers); err != nil {
			return nil, err
		}
	}
	results := make([]*pb.BatchCreateHouseholdResult, len(rows))
	written := make([]*repository.Household, len(rows))
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var creates []int
		for i, h := range rows {
			switch {
			case h == nil:
			case existing[i] == nil:
				creates = append(creates, i)
			case mode == pb.BatchCreateHouseholdsRequest_EXISTING_MODE_SKIP:
				written[i] = existing[i]
				results[i] = itemResult(pb.BatchCreateHouseholdResult_OUTCOME_SKIPPED, existing[i])
			default:
				got, outcome, err := s.reapply(ctx, existing[i], h)
				if err != nil {
					if apierr.Fault(err) {
						return err
					}
					refused.Add(i, err)
					continue
				}
				written[i], results[i] = got, itemResult(outcome, got)
			}
		}
		for len(creates) > 0 {
			batch := make([]*repository.Household, len(creates))
			for j, i := range creates {
				batch[j] = rows[i]
			}
			err := s.store.CreateHouseholds(ctx, batch)
			var items *domain.BatchError
			if !errors.As(err, &items) {
				if err != nil {
					return err
				}
				for _, i := range creates {
					written[i] = rows[i]
					results[i] = itemResult(pb.BatchCreateHouseholdResult_OUTCOME_CREATED, rows[i])
				}
				break
			}
			// Storage checked every item before writing any: drop the ones
			// it refused and write the others.
			drop := map[int]bool{}
			for _, it := range items.Items {
				refused.Add(creates[it.Index], it.Err)
				drop[creates[it.Index]] = true
			}
			if !partial {
				break
			}
			creates = slices.DeleteFunc(creates, func(i int) bool { return drop[i] })
		}
		if !partial {
			return refused.OrNil()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp := &pb.BatchCreateHouseholdsResponse{Results: results}
	for _, it := range refused.Items {
		results[it.Index] = &pb.BatchCreateHouseholdResult{
			Outcome: pb.BatchCreateHouseholdResult_OUTCOME_REFUSED, Error: apierr.ItemStatus(it.Index, it.Err)}
	}
	for _, h := range written {
		if h != nil {
			resp.Households = append(resp.Households, maskHousehold(s.render(h)))
		}
	}
	return resp, nil
}

// reapply makes the existing household what the item, h, would have
// created, under every rule of UpdateHousehold, as an update whose mask
// names every updatable field: the file is what the household should say.
// A household that already says it is UNCHANGED, and nothing is written.
//
// existing is the household as the caller read it, without a lock: when
// the item would leave it as it is, the item is UNCHANGED without the
// locked read-modify-write (re-imports are mostly that). Writing nothing,
// that loses nothing written since: it is as if the item had been applied
// when existing was read. Any other item goes through the locked update,
// which merges it into the household as stored then.
func (s *Households) reapply(ctx context.Context, existing, h *repository.Household) (*repository.Household, pb.BatchCreateHouseholdResult_Outcome, error) {
	patch := s.render(h)
	paths := slices.Sorted(maps.Keys(householdUpdatable))
	if same := *existing; s.mergeHousehold(&same, patch, paths) == nil && len(repository.ChangedFields(existing, &same)) == 0 {
		return existing, pb.BatchCreateHouseholdResult_OUTCOME_UNCHANGED, nil
	}
	return s.reapplyLocked(ctx, existing, patch, paths)
}

// reapplyLocked is reapply's locked read-modify-write, for an item that
// would change existing or whose household the caller could not read
// again.
func (s *Households) reapplyLocked(ctx context.Context, existing *repository.Household, patch *pb.Household, paths []string) (*repository.Household, pb.BatchCreateHouseholdResult_Outcome, error) {
	got, err := s.store.UpdateHousehold(ctx, existing.ID, "", func(ctx context.Context, row *repository.Household) error {
		return s.changeHousehold(ctx, row, patch, paths, "BatchCreateHouseholds")
	})
	if err != nil {
		return nil, 0, err
	}
	if got.Revision == existing.Revision {
		return got, pb.BatchCreateHouseholdResult_OUTCOME_UNCHANGED, nil
	}
	return got, pb.BatchCreateHouseholdResult_OUTCOME_UPDATED, nil
}

func itemResult(o pb.BatchCreateHouseholdResult_Outcome, h *repository.Household) *pb.BatchCreateHouseholdResult {
	return &pb.BatchCreateHouseholdResult{Outcome: o, Household: names.Household{ID: h.ID}.String(), Etag: repository.Etag(h.Revision)}
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
		p, err := convert.CaseToProto(c, s.towns, s.now())
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
		p, err := convert.CaseToProto(c, s.towns, s.now())
		if err != nil {
			return nil, err
		}
		resp.Cases = append(resp.Cases, p)
	}
	return resp, nil
}

// BatchLookupHouseholds is LookupHousehold for a file of numbers: each is
// checked as a single lookup checks it, all are looked up in a few queries
// within the caller's towns, and the batch is one audit record that counts
// what was found, never which numbers. The lookup budget (server/lookups.go)
// counts each number.
func (s *Households) BatchLookupHouseholds(ctx context.Context, req *pb.BatchLookupHouseholdsRequest) (*pb.BatchLookupHouseholdsResponse, error) {
	numbers := make([]string, len(req.GetIdNumbers()))
	for i, n := range req.GetIdNumbers() {
		field := fmt.Sprintf("id_numbers[%d]", i)
		if idnumber.Normalize(n) == "" {
			return nil, domain.Invalid(field, "is required")
		}
		f, err := domain.FindableIDNumber(field, n, s.now())
		if err != nil {
			return nil, err
		}
		numbers[i] = f
	}
	found, err := s.store.LookupHouseholds(ctx, numbers)
	if err != nil {
		return nil, err
	}
	if err := s.auditBatchLookup(ctx, numbers, found); err != nil {
		return nil, err
	}
	resp := &pb.BatchLookupHouseholdsResponse{Results: make([]*pb.HouseholdLookupResult, len(numbers))}
	for i, h := range found {
		resp.Results[i] = &pb.HouseholdLookupResult{}
		if h != nil {
			resp.Results[i].Household = maskHousehold(s.render(h))
		}
	}
	return resp, nil
}

// auditBatchLookup records a batch of lookups as one entry, before it is
// answered, as auditLookup records one: how many numbers were asked, found,
// and registered only in towns beyond the caller's reach (answered as not
// found). The numbers themselves are never recorded.
func (s *Households) auditBatchLookup(ctx context.Context, numbers []string, found []*repository.Household) error {
	var missing []string
	for i, h := range found {
		if h == nil {
			missing = append(missing, numbers[i])
		}
	}
	outside := 0
	if len(missing) > 0 {
		// Deliberately county-wide, for the record only.
		all, err := s.store.LookupHouseholds(principal.WithScope(ctx, principal.Scope{All: true}), missing)
		if err != nil {
			return err
		}
		for _, h := range all {
			if h != nil {
				outside++
			}
		}
	}
	outcome := audit.OutcomeOK
	if outside > 0 {
		outcome = audit.OutcomeOutOfScope
	}
	counts := []string{fmt.Sprintf("id_numbers=%d", len(numbers)), fmt.Sprintf("found=%d", len(numbers)-len(missing)),
		fmt.Sprintf("out_of_scope=%d", outside)}
	return s.store.AppendAudit(ctx, audit.FromContext(ctx).Entry(audit.ActionLookup, "", outcome, counts))
}

// BatchCreateMembers checks every item as CreateMember does, then adds
// them to the household in one transaction: if any is refused, none is
// added, and the error names every refused item.
func (s *Households) BatchCreateMembers(ctx context.Context, req *pb.BatchCreateMembersRequest) (*pb.BatchCreateMembersResponse, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	rows := make([]*repository.Member, len(req.GetRequests()))
	var refused domain.BatchError
	for i, r := range req.GetRequests() {
		err := noItemRequestID(r)
		if err == nil && r.GetParent() != "" && r.GetParent() != req.GetParent() {
			err = domain.Invalid("parent", "must be empty or the batch's parent")
		}
		var birth time.Time
		var converted bool
		if err == nil {
			birth, converted, err = s.checkMember("member", r.GetMember(), nil)
		}
		if err != nil {
			refused.Add(i, err)
			continue
		}
		rows[i] = &repository.Member{ID: newID(), HouseholdID: hid, IDNumberConverted: converted}
		convert.MemberFromProto(r.GetMember(), birth, rows[i])
	}
	// The household first: one that is missing or beyond the caller's
	// towns is the batch's error, not every item's.
	sm, err := s.servicememberOf(ctx, hid)
	if err != nil {
		return nil, err
	}
	// Each new member is checked for possible duplicates as CreateMember
	// checks one, unless its item confirms.
	dups, err := s.checkDuplicatesOf(ctx, mapNil(rows, memberPerson), func(i int) bool { return req.GetRequests()[i].GetConfirmPossibleDuplicate() },
		func(j int) string { return fmt.Sprintf("requests[%d]", j) })
	if err != nil {
		return nil, err
	}
	for i, err := range dups {
		if err != nil {
			refused.Add(i, err)
			rows[i] = nil
		}
	}
	slices.SortStableFunc(refused.Items, func(a, b domain.ItemError) int { return a.Index - b.Index })
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		for i, m := range rows {
			if m == nil {
				continue
			}
			if err := s.store.CreateMember(ctx, m); err != nil {
				if apierr.Fault(err) || errors.Is(err, repository.ErrNotFound) {
					return err
				}
				refused.Add(i, err)
			}
		}
		return refused.OrNil()
	})
	if err != nil {
		return nil, err
	}
	resp := &pb.BatchCreateMembersResponse{Members: make([]*pb.Member, len(rows))}
	for i, m := range rows {
		resp.Members[i] = maskMember(convert.MemberToProto(m, sm))
	}
	return resp, nil
}

// mapNil maps each element of xs with f, keeping nils nil.
func mapNil[T, U any](xs []*T, f func(*T) *U) []*U {
	out := make([]*U, len(xs))
	for i, x := range xs {
		if x != nil {
			out[i] = f(x)
		}
	}
	return out
}
