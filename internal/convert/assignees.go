package convert

import (
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// AssigneeToProto renders an entry of the assignee directory.
func AssigneeToProto(a *repository.Assignee) *pb.Assignee {
	return &pb.Assignee{
		Name:        names.Assignee{ID: a.ID}.String(),
		DisplayName: a.DisplayName,
		TownCodes:   []string(a.TownCodes),
		Active:      a.Active,
		Etag:        repository.Etag(a.Revision),
		CreateTime:  timestamp(a.CreateTime),
		UpdateTime:  timestamp(a.UpdateTime),
	}
}

// AssigneeFromProto copies the writable fields of p onto a.
func AssigneeFromProto(p *pb.Assignee, a *repository.Assignee) {
	a.DisplayName, a.Active = p.GetDisplayName(), p.GetActive()
	a.TownCodes = repository.List[string](p.GetTownCodes())
}

// WorkloadToProto renders an assignee's workload counted at read.
func WorkloadToProto(id string, w *repository.Workload, read time.Time) *pb.AssigneeWorkload {
	out := &pb.AssigneeWorkload{
		Name:         names.AssigneeWorkload{AssigneeID: id}.String(),
		OverdueCount: w.Overdue,
		DueSoonCount: w.DueSoon,
		ReadTime:     timestamp(read),
	}
	for _, c := range w.Counts {
		out.OpenCount += c.Count
		out.Counts = append(out.Counts, &pb.WorkloadCount{
			Status: statuses.toProto(c.Status), CaseType: kinds.toProto(c.Kind), Count: c.Count})
	}
	return out
}
