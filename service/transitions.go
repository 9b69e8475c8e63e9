package service

import (
	"context"
	"slices"
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
// decides whether the action is allowed from the stored status and for the
// case's kind, then apply makes the action's own changes; the clocks'
// due time and the policy basis follow, all in one transaction with its
// history.
func (s *Cases) move(ctx context.Context, name, etag string, action domain.Action, method, reason string,
	apply applyFunc) (*pb.Case, error) {
	return s.moveBy(ctx, name, etag, func(*repository.Case) domain.Action { return action }, method, reason, apply)
}

// moveBy is move with the action chosen from the stored case.
func (s *Cases) moveBy(ctx context.Context, name, etag string, pick func(*repository.Case) domain.Action, method, reason string,
	apply applyFunc) (*pb.Case, error) {
	id, err := caseID("name", name)
	if err != nil {
		return nil, err
	}
	actor := s.actor(ctx)
	c, err := s.store.MutateCase(ctx, id, etag, func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
		return s.step(ctx, row, pick(row), actor, method, reason, apply)
	})
	if err != nil {
		return nil, err
	}
	return convert.CaseToProto(c, s.towns, s.now())
}

// applyFunc is an action's own change to a case, beside its history entry.
type applyFunc func(ctx context.Context, c *repository.Case, h *repository.HistoryEntry) error

// step is one case's state change, whether one call moves it (moveBy) or
// a batch moves it with others (BatchAssignCases): whether the action is
// allowed on hold, from the stored status and for the case's kind, then
// apply's change, the status, the clocks' due time and the policy basis.
// It returns the history entry.
func (s *Cases) step(ctx context.Context, row *repository.Case, action domain.Action, actor, method, reason string,
	apply applyFunc) (*repository.HistoryEntry, error) {
	from := row.Status
	err := domain.CheckHeld(row.Held(), action)
	to := from
	if err == nil {
		to, err = domain.Transition(from, action)
	}
	if err == nil {
		err = domain.CheckKind(row.Kind, action)
	}
	if err != nil {
		if p, ok := domain.AsPrecondition(err); ok && p.Subject == "" {
			p.Subject = names.Case{ID: row.ID}.String()
		}
		return nil, err
	}
	h := &repository.HistoryEntry{Actor: actor, Method: method, FromStatus: from, ToStatus: to, Reason: reason}
	if from != to {
		h.ChangedFields = append(h.ChangedFields, "status")
	}
	before := row.Clocks.V
	if row.Held() && action == domain.ActionWithdraw {
		// The family may withdraw a held case: the hold ends first, so
		// the clocks stop as met or missed on their real due times.
		endHold(row, h, s.now().UTC())
	}
	if apply != nil {
		if err := apply(ctx, row, h); err != nil {
			return nil, err
		}
	}
	row.Status = to
	s.rebasis(row, nil)
	if !slices.Equal(before, row.Clocks.V) {
		addChanged(h, "clocks", "due_time")
	}
	return h, nil
}

func addChanged(h *repository.HistoryEntry, fields ...string) {
	for _, f := range fields {
		if !slices.Contains(h.ChangedFields, f) {
			h.ChangedFields = append(h.ChangedFields, f)
		}
	}
}

// rebasis recomputes the case's due time from its clocks and its policy
// basis: decided, when given, replaces the rules that decided eligibility
// (nil keeps those stored), the priority rules are kept, and the clocks'
// rules and those the case's record rests on are added.
func (s *Cases) rebasis(c *repository.Case, decided []domain.RuleID) {
	if decided == nil {
		decided = domain.DecidedRules(c.PolicyBasis)
	}
	decided = append(slices.Clone(decided), recordRules(c)...)
	c.PolicyBasis = domain.PolicyBasis(decided, domain.RulesOfKind(c.PolicyBasis, domain.KindPriority), c.Clocks.V)
	c.DueTime = c.Clocks.V.Due()
}

// recordRules are the rules the case's record shows were applied: the
// eligibility decision's, a withdrawal's reason code, a termination's
// ground, a reopening that kept an outcome.
func recordRules(c *repository.Case) []domain.RuleID {
	var out []domain.RuleID
	if d := c.Eligibility.V; d != nil {
		out = append(out, d.Rule)
		if c.Kind == domain.KindEmploymentPlacement {
			out = append(out, domain.RulePlacementDecision)
		}
	}
	if c.WithdrawalReason != "" {
		out = append(out, domain.RuleWithdrawalReason)
	}
	if c.TerminationGround != "" {
		out = append(out, domain.RuleLegalAidTermination)
	}
	if len(c.OutcomeHistory.V) > 0 {
		out = append(out, domain.RuleReopenKeepsOutcome)
	}
	if c.HoldCount > 0 {
		out = append(out, domain.RuleCaseHold)
	}
	return out
}

// details renders a stored case's details.
func details(c *repository.Case) (*pb.Case, error) {
	stored := &pb.Case{}
	if err := convert.SetDetails(stored, c.Kind, c.Details); err != nil {
		return nil, err
	}
	return stored, nil
}

// placementYear is the year an employment placement counts in: the
// eligibility decision's, else the one its details give (0: none).
func placementYear(c *repository.Case, p *pb.Case) int {
	if d := c.Eligibility.V; d != nil && d.PlacementYear != 0 {
		return d.PlacementYear
	}
	return int(p.GetEmploymentPlacement().GetPlacementYear())
}

// submitted stamps a (re)submission: the subject must still be eligible
// (the household may have changed since the draft), the clocks start from
// the case type's rules, and the priority is computed from the household as
// it is now.
func (s *Cases) submitted(ctx context.Context, c *repository.Case, e *repository.HistoryEntry) error {
	h, err := s.store.GetHousehold(ctx, c.HouseholdID, true)
	if err != nil {
		return err
	}
	m, err := s.store.GetMember(ctx, c.HouseholdID, c.SubjectID)
	if err != nil {
		return err
	}
	stored, err := details(c)
	if err != nil {
		return err
	}
	rules, err := s.eligible(h, m, stored)
	if err != nil {
		return err
	}
	_, detail := convert.CaseDetails(stored)
	if err := convert.StoreDetails(c, c.Kind, detail); err != nil {
		return err
	}
	now := s.now().UTC()
	for _, clock := range s.deadlines.Submitted(c.Kind, now, stored.GetSchoolEnrollment().GetSchoolYear(), placementYear(c, stored)) {
		c.Clocks.V = c.Clocks.V.Set(clock)
	}
	c.SubmitTime = &now
	c.PolicyBasis = domain.PolicyBasis(rules, prioritize(c, h), nil)
	s.rebasis(c, rules)
	addChanged(e, "submit_time", "due_time", "priority", "clocks", "policy_basis")
	return nil
}

func (s *Cases) SubmitCase(ctx context.Context, req *pb.SubmitCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionSubmit, "SubmitCase", "", s.submitted)
}

// AcceptCase is, for legal aid, the decision to grant aid: the decision
// clock stops and the 3-day clock for assigning a lawyer starts (met at
// once when the case already has its lawyer).
func (s *Cases) AcceptCase(ctx context.Context, req *pb.AcceptCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionAccept, "AcceptCase", "",
		func(_ context.Context, c *repository.Case, _ *repository.HistoryEntry) error {
			if c.Kind != domain.KindLegalAid {
				return nil
			}
			now := s.now().UTC()
			c.Clocks.V = c.Clocks.V.Stop(domain.ClockDecision, now).Set(s.deadlines.Assignment(now))
			if c.Assignee != "" {
				c.Clocks.V = c.Clocks.V.Stop(domain.ClockAssignment, now)
			}
			return nil
		})
}

// RejectCase refuses an application, or (with a reason code) a case
// already accepted; every clock stops.
func (s *Cases) RejectCase(ctx context.Context, req *pb.RejectCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionReject, "RejectCase", req.GetReason(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			code := convert.RejectionReason(req.GetReasonCode())
			if err := domain.CheckReject(c.Status, code); err != nil {
				if p, ok := domain.AsPrecondition(err); ok {
					p.Subject = names.Case{ID: c.ID}.String()
				}
				return err
			}
			c.StatusReason, c.RejectionReason = req.GetReason(), code
			c.Clocks.V = c.Clocks.V.StopAll(s.now().UTC())
			addChanged(e, "status_reason", "rejection_reason")
			return nil
		})
}

// AssignCase sets the assignee; for legal aid it meets the assignment clock.
func (s *Cases) AssignCase(ctx context.Context, req *pb.AssignCaseRequest) (*pb.Case, error) {
	who, err := s.assignee(ctx, "assignee", req.GetAssignee(), false)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionAssign, "AssignCase", "", s.assignTo(who))
}

// StartCase starts work on an accepted case; an urgent legal-aid matter
// (LEGAL_AID_URGENT_FIRST) may start from SUBMITTED, before the decision,
// which the history flags: aid begins first, so the decision clock stops.
func (s *Cases) StartCase(ctx context.Context, req *pb.StartCaseRequest) (*pb.Case, error) {
	pick := func(c *repository.Case) domain.Action {
		if c.Status == domain.StatusSubmitted && c.Kind == domain.KindLegalAid {
			return domain.ActionStartUrgent
		}
		return domain.ActionStart
	}
	return s.moveBy(ctx, req.GetName(), req.GetEtag(), pick, "StartCase", "",
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			err := domain.CheckStart(c.Assignee)
			if c.Status == domain.StatusSubmitted {
				stored, derr := details(c)
				if derr != nil {
					return derr
				}
				req := convert.Request(stored)
				now := s.now()
				err = domain.CheckUrgentStart(domain.Urgent(req.LimitationDeadline, now), c.Assignee)
				if err == nil {
					c.Clocks.V = c.Clocks.V.Stop(domain.ClockDecision, now.UTC())
					c.PolicyBasis = append(c.PolicyBasis, domain.RuleLegalAidUrgent)
					e.Reason = "urgent: started before the decision (" + string(domain.RuleLegalAidUrgent) + ")"
				}
			}
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
			stored, err := details(c)
			if err != nil {
				return err
			}
			_, detail := convert.CaseDetails(stored)
			achieved := out.GetResult() != pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED
			if err := domain.CheckResolve(c.Kind, achieved, fieldPresent(stored, detail)); err != nil {
				return err
			}
			if err := domain.CheckPlacementDecided(c.Kind, achieved, c.Eligibility.V); err != nil {
				if p, ok := domain.AsPrecondition(err); ok {
					p.Subject = names.Case{ID: c.ID}.String()
				}
				return err
			}
			now := s.now().UTC()
			convert.OutcomeFromProto(out, c)
			c.ResolveTime = &now
			c.Clocks.V = c.Clocks.V.StopAll(now)
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

// ReopenCase sends a refusal back for a new decision, or a resolved case
// back to work; the outcome it sets aside is kept in the outcome history
// (REOPEN_KEEPS_OUTCOME), and a kind with a service target starts a new one.
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
			now := s.now().UTC()
			history, _ := domain.SetAside(c.OutcomeHistory.V, c.OutcomeResult, c.OutcomeSummary, c.ResolveTime, now, req.GetReason())
			c.OutcomeHistory.V = history
			c.OutcomeResult, c.OutcomeSummary, c.ResolveTime = "", "", nil
			stored, err := details(c)
			if err != nil {
				return err
			}
			if clock, ok := s.deadlines.ServiceTarget(c.Kind, now, stored.GetSchoolEnrollment().GetSchoolYear(), placementYear(c, stored)); ok {
				c.Clocks.V = c.Clocks.V.Set(clock)
			}
			addChanged(e, "outcome", "resolve_time", "outcome_history")
			return nil
		})
}

// WithdrawCase records a withdrawal with its reason code (WITHDRAWAL_REASON);
// every clock stops.
func (s *Cases) WithdrawCase(ctx context.Context, req *pb.WithdrawCaseRequest) (*pb.Case, error) {
	code := convert.WithdrawalReason(req.GetReasonCode())
	if err := domain.CheckWithdrawal(code, req.GetReason()); err != nil {
		return nil, err
	}
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionWithdraw, "WithdrawCase", req.GetReason(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.StatusReason, c.WithdrawalReason = req.GetReason(), code
			c.Clocks.V = c.Clocks.V.StopAll(s.now().UTC())
			addChanged(e, "status_reason", "withdrawal_reason")
			return nil
		})
}
