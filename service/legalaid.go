package service

import (
	"context"
	"fmt"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/repository"
)

// The Legal Aid Law's own steps (materials, termination, objections) and
// the supervisor's eligibility decision. Each is a move of the state
// machine; the domain decides what it may do and what it keeps.

// RequestMaterials lists, once, what a legal-aid application lacks and the
// last day to supply it; the decision clock pauses (LEGAL_AID_MATERIALS_ONCE).
func (s *Cases) RequestMaterials(ctx context.Context, req *pb.RequestMaterialsRequest) (*pb.Case, error) {
	lastDay, err := convert.TimeOfDate("due_date", req.GetDueDate())
	if err != nil {
		return nil, err
	}
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionRequestMaterials, "RequestMaterials", "",
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			stored, err := details(c)
			if err != nil {
				return err
			}
			la := stored.GetLegalAid()
			clocks, err := domain.RequestMaterials(c.Clocks.V, len(la.GetMissingMaterials()) > 0, lastDay, s.now())
			if err != nil {
				return err
			}
			c.Clocks.V = clocks
			la.MissingMaterials, la.MaterialsDueDate = req.GetMissingMaterials(), req.GetDueDate()
			if err := convert.StoreDetails(c, c.Kind, la); err != nil {
				return err
			}
			e.Reason = fmt.Sprintf("%d materials asked for by %s", len(req.GetMissingMaterials()), lastDay.Format("2006-01-02"))
			addChanged(e, "legal_aid.missing_materials", "legal_aid.materials_due_date")
			return nil
		})
}

// SupplyMaterials records that the application is complete: the 7-day
// decision clock starts again from receipt.
func (s *Cases) SupplyMaterials(ctx context.Context, req *pb.SupplyMaterialsRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionSupplyMaterials, "SupplyMaterials", "",
		func(_ context.Context, c *repository.Case, _ *repository.HistoryEntry) error {
			clocks, err := s.deadlines.SupplyMaterials(c.Clocks.V, s.now().UTC())
			if err != nil {
				return err
			}
			c.Clocks.V = clocks
			return nil
		})
}

// DecideEligibility records a supervisor's decision, resting on a rule of
// the table. A placement counts in the year decided, and its service
// target runs to the end of that year's plan.
func (s *Cases) DecideEligibility(ctx context.Context, req *pb.DecideEligibilityRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionDecideEligibility, "DecideEligibility", req.GetNote(),
		func(ctx context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			now := s.now().UTC()
			d, err := domain.DecideEligibility(c.Kind, domain.RuleID(req.GetPolicy()), req.GetEligible(), req.GetNote(), s.actor(ctx), now)
			if err != nil {
				return err
			}
			c.Eligibility.V = d
			addChanged(e, "eligibility")
			if c.Kind != domain.KindEmploymentPlacement {
				return nil
			}
			stored, err := details(c)
			if err != nil {
				return err
			}
			ep := stored.GetEmploymentPlacement()
			ep.Eligible = d.Eligible
			if err := convert.StoreDetails(c, c.Kind, ep); err != nil {
				return err
			}
			if t, ok := c.Clocks.V.Get(domain.ClockServiceTarget); ok && t.State == domain.ClockRunning && d.Eligible {
				if clock, ok := s.deadlines.ServiceTarget(c.Kind, t.Start, "", d.PlacementYear); ok {
					c.Clocks.V = c.Clocks.V.Set(clock)
				}
			}
			addChanged(e, "employment_placement.eligible", "placement_year")
			return nil
		})
}

// TerminateCase ends legal aid on a ground of Art 48; every clock stops.
func (s *Cases) TerminateCase(ctx context.Context, req *pb.TerminateCaseRequest) (*pb.Case, error) {
	ground := convert.TerminationGround(req.GetGround())
	if err := domain.CheckTermination(ground); err != nil {
		return nil, err
	}
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionTerminate, "TerminateCase", req.GetReason(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.TerminationGround, c.StatusReason = ground, req.GetReason()
			c.Clocks.V = c.Clocks.V.StopAll(s.now().UTC())
			addChanged(e, "termination_ground", "status_reason")
			return nil
		})
}

// FileObjection records an objection to a refusal or a termination; it is
// due to be decided within 5 days (LEGAL_AID_OBJECTION_5D).
func (s *Cases) FileObjection(ctx context.Context, req *pb.FileObjectionRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionFileObjection, "FileObjection", req.GetNote(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			o, clocks, err := s.deadlines.FileObjection(c.Objection.V, c.Clocks.V, req.GetNote(), s.now().UTC())
			if err != nil {
				return err
			}
			c.Objection.V, c.Clocks.V = o, clocks
			addChanged(e, "objection")
			return nil
		})
}

// DecideObjection records the decision on the objection. A correction
// brings the case back: a refusal to SUBMITTED with a new 7-day decision
// clock, a termination to IN_PROGRESS.
func (s *Cases) DecideObjection(ctx context.Context, req *pb.DecideObjectionRequest) (*pb.Case, error) {
	result := convert.ObjectionResult(req.GetResult())
	action := domain.ActionUpholdObjection
	if result == domain.ObjectionCorrectionOrdered {
		action = domain.ActionCorrect
	}
	return s.move(ctx, req.GetName(), req.GetEtag(), action, "DecideObjection", req.GetNote(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			now := s.now().UTC()
			o, clocks, _, err := domain.DecideObjection(c.Objection.V, c.Clocks.V, result, now)
			if err != nil {
				return err
			}
			c.Objection.V, c.Clocks.V = o, clocks
			if action == domain.ActionCorrect && c.Status == domain.StatusRejected {
				c.Clocks.V = c.Clocks.V.Set(s.deadlines.Decision(now))
			}
			addChanged(e, "objection")
			return nil
		})
}
