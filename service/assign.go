package service

import (
	"context"
	"errors"
	"strings"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// assigneeRef is who a case is assigned to: the text the case stores, and
// the directory entry's rule when the text names one.
type assigneeRef struct {
	id   string
	rule *domain.Assignee
}

// assignee resolves an assignment's target. `assignees/{id}` must be an
// entry of the directory, stored as its id; a bare id the directory holds
// is that entry too, so the town rule cannot be dodged by leaving the
// prefix off. Any other text (a law firm or lawyer for legal aid, whom the
// county does not list) is stored as given, unless directoryOnly.
func (s *Cases) assignee(ctx context.Context, field, text string, directoryOnly bool) (assigneeRef, error) {
	id, named := strings.CutPrefix(text, "assignees/")
	if named || directoryOnly {
		if _, err := nameOf[names.Assignee](field, text); err != nil {
			return assigneeRef{}, err
		}
	} else if _, err := names.As[names.Assignee](names.Assignee{ID: text}.String()); err != nil {
		return assigneeRef{id: text}, nil // not an id's shape: free text
	}
	a, err := s.store.DirectoryAssignee(ctx, id)
	switch {
	case errors.Is(err, repository.ErrNotFound) && (named || directoryOnly):
		return assigneeRef{}, domain.Invalid(field, "no such assignee in the directory")
	case errors.Is(err, repository.ErrNotFound):
		return assigneeRef{id: text}, nil
	case err != nil:
		return assigneeRef{}, err
	}
	rule := a.Rule()
	return assigneeRef{id: a.ID, rule: &rule}, nil
}

// assignTo is the one assignment AssignCase and BatchAssignCases make: the
// directory's town rule for the case's town (ASSIGNEE_TOWN), then the
// assignee, which meets a legal-aid case's assignment clock.
func (s *Cases) assignTo(who assigneeRef) func(context.Context, *repository.Case, *repository.HistoryEntry) error {
	return func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
		if who.rule != nil {
			if err := domain.CheckAssignee(*who.rule, c.TownCode); err != nil {
				return err
			}
		}
		c.Assignee = who.id
		c.Clocks.V = c.Clocks.V.Stop(domain.ClockAssignment, s.now().UTC())
		addChanged(e, "assignee")
		return nil
	}
}

// BatchAssignCases assigns every case as AssignCase would, in one
// transaction: each item is a savepoint, so every refused item is named
// (`requests[i]`) and then the whole batch rolls back.
func (s *Cases) BatchAssignCases(ctx context.Context, req *pb.BatchAssignCasesRequest) (*pb.BatchAssignCasesResponse, error) {
	who, err := s.assignee(ctx, "assignee", req.GetAssignee(), true)
	if err != nil {
		return nil, err
	}
	items := req.GetRequests()
	resp := &pb.BatchAssignCasesResponse{Cases: make([]*pb.Case, len(items))}
	seen := make(map[string]int, len(items))
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var refused domain.BatchError
		for i, r := range items {
			if j, dup := seen[r.GetName()]; dup {
				refused.Add(i, domain.Invalid("name", "names the same case as requests[%d]", j))
				continue
			}
			seen[r.GetName()] = i
			c, err := s.move(ctx, r.GetName(), r.GetEtag(), domain.ActionAssign, "BatchAssignCases", "", s.assignTo(who))
			if err != nil {
				if apierr.Fault(err) {
					return err // the database or the deadline, not the item
				}
				refused.Add(i, err)
				continue
			}
			resp.Cases[i] = c
		}
		return refused.OrNil()
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// byAssignee reports whether a case filter names one assignee: such a
// list is a workload's drill-down and answers its total_size.
func byAssignee(f filter.Filter) bool {
	for _, c := range f.Conditions {
		if c.Field == "assignee" && c.Op == filter.OpEq {
			return true
		}
	}
	return false
}
