package service

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// The state changes of a case: each custom method is one action of the
// domain's state machine, applied by move in one transaction with its
// history entry.

// move is the one path for every state change: the domain's state machine
// decides whether the action is allowed from the stored status, then apply
// makes the action's own changes, all in one transaction with its history.
func (s *Cases) move(ctx context.Context, name, etag string, action domain.Action, method, reason string,
	apply func(ctx context.Context, c *repository.Case, h *repository.HistoryEntry) error) (*pb.Case, error) {
	id, err := caseID("name", name)
	if err != nil {
		return nil, err
	}
	actor := s.actor(ctx)
	c, err := s.store.MutateCase(ctx, id, etag, func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
		from := row.Status
		to, err := domain.Transition(from, action)
		if err != nil {
			if p, ok := domain.AsPrecondition(err); ok && p.Subject == "" {
				p.Subject = names.Case{ID: id}.String()
			}
			return nil, err
		}
		h := &repository.HistoryEntry{Actor: actor, Method: method, FromStatus: from, ToStatus: to, Reason: reason}
		if from != to {
			h.ChangedFields = append(h.ChangedFields, "status")
		}
		if apply != nil {
			if err := apply(ctx, row, h); err != nil {
				return nil, err
			}
		}
		row.Status = to
		return h, nil
	})
	if err != nil {
		return nil, err
	}
	return convert.CaseToProto(c)
}

func addChanged(h *repository.HistoryEntry, fields ...string) {
	h.ChangedFields = append(h.ChangedFields, fields...)
}

// submitted stamps a (re)submission: the due time is computed from the case
// type, and the priority from the household as it is now.
func (s *Cases) submitted(ctx context.Context, c *repository.Case, e *repository.HistoryEntry) error {
	h, err := s.store.GetHousehold(ctx, c.HouseholdID, true)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	schoolYear := ""
	if c.Kind == domain.KindSchoolEnrollment {
		stored := &pb.Case{}
		if err := convert.SetDetails(stored, c.Kind, c.Details); err != nil {
			return err
		}
		schoolYear = stored.GetSchoolEnrollment().GetSchoolYear()
	}
	due := domain.DueTime(c.Kind, now, schoolYear)
	c.SubmitTime, c.DueTime = &now, &due
	c.Priority, c.PriorityReasons = priorityOf(h)
	addChanged(e, "submit_time", "due_time", "priority")
	return nil
}

func (s *Cases) SubmitCase(ctx context.Context, req *pb.SubmitCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionSubmit, "SubmitCase", "", s.submitted)
}

func (s *Cases) AcceptCase(ctx context.Context, req *pb.AcceptCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionAccept, "AcceptCase", "", nil)
}

func (s *Cases) RejectCase(ctx context.Context, req *pb.RejectCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionReject, "RejectCase", req.GetReason(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.StatusReason = req.GetReason()
			addChanged(e, "status_reason")
			return nil
		})
}

func (s *Cases) AssignCase(ctx context.Context, req *pb.AssignCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionAssign, "AssignCase", "",
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.Assignee = req.GetAssignee()
			addChanged(e, "assignee")
			return nil
		})
}

func (s *Cases) StartCase(ctx context.Context, req *pb.StartCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionStart, "StartCase", "",
		func(_ context.Context, c *repository.Case, _ *repository.HistoryEntry) error {
			err := domain.CheckStart(c.Assignee)
			if p, ok := domain.AsPrecondition(err); ok {
				p.Subject = names.Case{ID: c.ID}.String()
			}
			return err
		})
}

func (s *Cases) ResolveCase(ctx context.Context, req *pb.ResolveCaseRequest) (*pb.Case, error) {
	out := req.GetOutcome()
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionResolve, "ResolveCase", "",
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			stored := &pb.Case{}
			if err := convert.SetDetails(stored, c.Kind, c.Details); err != nil {
				return err
			}
			_, detail := convert.CaseDetails(stored)
			achieved := out.GetResult() != pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED
			if err := domain.CheckResolve(c.Kind, achieved, fieldPresent(stored, detail)); err != nil {
				return err
			}
			now := s.now().UTC()
			convert.OutcomeFromProto(out, c)
			c.ResolveTime = &now
			addChanged(e, "outcome", "resolve_time")
			return nil
		})
}

// fieldPresent reports whether a path such as "legal_aid.stage" is set on
// the case's detail message.
func fieldPresent(c *pb.Case, detail proto.Message) func(string) bool {
	return func(path string) bool {
		if detail == nil {
			return false
		}
		_, field, ok := strings.Cut(path, ".")
		if !ok {
			return false
		}
		m := detail.ProtoReflect()
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(field))
		return fd != nil && m.Has(fd)
	}
}

func (s *Cases) CloseCase(ctx context.Context, req *pb.CloseCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionClose, "CloseCase", "", nil)
}

func (s *Cases) ReopenCase(ctx context.Context, req *pb.ReopenCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionReopen, "ReopenCase", req.GetReason(),
		func(ctx context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.StatusReason = req.GetReason()
			addChanged(e, "status_reason")
			if c.Status == domain.StatusRejected {
				// A rejected case comes back as a fresh submission, with a
				// new clock.
				return s.submitted(ctx, c, e)
			}
			c.OutcomeResult, c.OutcomeSummary, c.ResolveTime = "", "", nil
			addChanged(e, "outcome", "resolve_time")
			return nil
		})
}

func (s *Cases) WithdrawCase(ctx context.Context, req *pb.WithdrawCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionWithdraw, "WithdrawCase", req.GetReason(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.StatusReason = req.GetReason()
			addChanged(e, "status_reason")
			return nil
		})
}
