package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// AssigneeStore is what the assignee directory needs from storage.
type AssigneeStore interface {
	CreateAssignee(ctx context.Context, a *repository.Assignee) error
	GetAssignee(ctx context.Context, id string) (*repository.Assignee, error)
	ListAssignees(ctx context.Context, f filter.Filter, page repository.Page) ([]repository.Assignee, *repository.Cursor, error)
	UpdateAssignee(ctx context.Context, id, etag string, fn func(a *repository.Assignee) error) (*repository.Assignee, error)
	AssigneeWorkload(ctx context.Context, id string, now, soon time.Time) (*repository.Workload, error)
}

// Assignees implements pb.AssigneeServiceServer.
type Assignees struct {
	pb.UnimplementedAssigneeServiceServer
	base
	store AssigneeStore
	towns *towns.Table
}

// NewAssignees builds the assignee directory's service.
func NewAssignees(store AssigneeStore, t *towns.Table, v protovalidate.Validator, o Options) *Assignees {
	if t == nil {
		t = towns.Default()
	}
	return &Assignees{base: newBase(v, o), store: store, towns: t}
}

// dueSoon is how far ahead the workload's due-soon count looks.
const dueSoon = 7 * 24 * time.Hour

var assigneeUpdatable = updatable{"display_name": true, "town_codes": true, "active": true}

// checkTowns holds an entry's towns to the county's, sorted so that the
// same towns in another order are no change.
func (s *Assignees) checkTowns(a *repository.Assignee) error {
	for i, code := range a.TownCodes {
		if err := domain.CheckTownCode(fmt.Sprintf("assignee.town_codes[%d]", i), code, s.towns); err != nil {
			return err
		}
	}
	slices.Sort(a.TownCodes)
	return nil
}

func (s *Assignees) CreateAssignee(ctx context.Context, req *pb.CreateAssigneeRequest) (*pb.Assignee, error) {
	a := &repository.Assignee{ID: req.GetAssigneeId()}
	convert.AssigneeFromProto(req.GetAssignee(), a)
	// A new entry is active: proto3 cannot tell an unset active from
	// false, and an entry created inactive would serve no purpose.
	a.Active = true
	if err := s.checkTowns(a); err != nil {
		return nil, err
	}
	if err := s.store.CreateAssignee(ctx, a); err != nil {
		return nil, err
	}
	return convert.AssigneeToProto(a), nil
}

func assigneeID(field, name string) (string, error) {
	n, err := nameOf[names.Assignee](field, name)
	return n.ID, err
}

func (s *Assignees) GetAssignee(ctx context.Context, req *pb.GetAssigneeRequest) (*pb.Assignee, error) {
	id, err := assigneeID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAssignee(ctx, id)
	if err != nil {
		return nil, err
	}
	return convert.AssigneeToProto(a), nil
}

func (s *Assignees) ListAssignees(ctx context.Context, req *pb.ListAssigneesRequest) (*pb.ListAssigneesResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.AssigneeFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("assignees", req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListAssignees(ctx, f, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListAssigneesResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Assignees = append(resp.Assignees, convert.AssigneeToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Assignees) UpdateAssignee(ctx context.Context, req *pb.UpdateAssigneeRequest) (*pb.Assignee, error) {
	patch := req.GetAssignee()
	n, paths, err := updateOf[names.Assignee]("assignee", patch, req.GetUpdateMask(), assigneeUpdatable)
	if err != nil {
		return nil, err
	}
	a, err := s.store.UpdateAssignee(ctx, n.ID, patch.GetEtag(), func(row *repository.Assignee) error {
		merged := convert.AssigneeToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		if err := s.validate("assignee", merged); err != nil {
			return err
		}
		convert.AssigneeFromProto(merged, row)
		return s.checkTowns(row)
	})
	if err != nil {
		return nil, err
	}
	return convert.AssigneeToProto(a), nil
}

// GetAssigneeWorkload counts the entry's open cases in the caller's towns.
// The entry must be one the caller may read, so a town's staff cannot
// probe another town's caseworkers by name.
func (s *Assignees) GetAssigneeWorkload(ctx context.Context, req *pb.GetAssigneeWorkloadRequest) (*pb.AssigneeWorkload, error) {
	parent, ok := strings.CutSuffix(req.GetName(), "/workload")
	id, err := assigneeID("name", parent)
	if !ok || err != nil {
		return nil, domain.Invalid("name", "must be a resource name of the form %s", names.AssigneeWorkload{}.Collection())
	}
	if _, err := s.store.GetAssignee(ctx, id); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	w, err := s.store.AssigneeWorkload(ctx, id, now, now.Add(dueSoon))
	if err != nil {
		return nil, err
	}
	return convert.WorkloadToProto(id, w, now), nil
}
