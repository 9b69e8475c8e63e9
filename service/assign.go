package service

import (
	"context"
	"errors"
	"strings"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/convert"
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
func (s *Cases) assignTo(who assigneeRef) applyFunc {
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

// BatchAssignCases assigns every case as AssignCase would, all or none,
// set-wise: the store reads and locks the cases with one statement, each is
// decided by the one step AssignCase takes, and the changes are written
// together. Every refused item is named (`requests[i]`) and then the
// whole batch is refused.
func (s *Cases) BatchAssignCases(ctx context.Context, req *pb.BatchAssignCasesRequest) (*pb.BatchAssignCasesResponse, error) {
	who, err := s.assignee(ctx, "assignee", req.GetAssignee(), true)
	if err != nil {
		return nil, err
	}
	items := req.GetRequests()
	edits := make([]repository.CaseEdit, len(items))
	var refused domain.BatchError
	seen := make(map[string]int, len(items))
	for i, r := range items {
		if j, dup := seen[r.GetName()]; dup {
			refused.Add(i, domain.Invalid("name", "names the same case as requests[%d]", j))
			continue
		}
		seen[r.GetName()] = i
		id, err := caseID("name", r.GetName())
		if err != nil {
			refused.Add(i, err)
			continue
		}
		edits[i] = repository.CaseEdit{ID: id, Etag: r.GetEtag()}
	}
	actor, assign := s.actor(ctx), s.assignTo(who)
	rows, err := s.store.MutateCases(ctx, edits, func(ctx context.Context, _ int, row *repository.Case) (*repository.HistoryEntry, error) {
		return s.step(ctx, row, domain.ActionAssign, actor, "BatchAssignCases", "", assign)
	})
	if fault := faultOf(err); fault != nil {
		return nil, fault // the database or the deadline, not an item
	}
	if err := mergeRefused(&refused, err); err != nil {
		return nil, err
	}
	resp := &pb.BatchAssignCasesResponse{Cases: make([]*pb.Case, len(items))}
	for i, c := range rows {
		if resp.Cases[i], err = convert.CaseToProto(c, s.towns, s.now()); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// faultOf is the first item error of a refused batch that is no item's
// fault (the database, the deadline), else err itself when it refuses no
// items.
func faultOf(err error) error {
	var batch *domain.BatchError
	if !errors.As(err, &batch) {
		return err
	}
	for _, it := range batch.Items {
		if apierr.Fault(it.Err) {
			return it.Err
		}
	}
	return nil
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
