package service

import (
	"context"
	"errors"
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// Holds (CASE_HOLD): a hold stops the case's county clocks and leaves its
// status alone; the resume, by a caseworker or by the hold's end, runs them
// again with the time they had left. The rules are domain's; the hold-end
// job runs EndHolds on the job queue.

// HoldCase puts a case on hold for req.days days.
func (s *Cases) HoldCase(ctx context.Context, req *pb.HoldCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionHold, "HoldCase", req.GetReason(),
		func(ctx context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			if err := domain.CheckHold(c.Clocks.V); err != nil {
				if p, ok := domain.AsPrecondition(err); ok {
					p.Subject = names.Case{ID: c.ID}.String()
				}
				return err
			}
			now := s.now().UTC()
			end := domain.HoldEnd(now, int(req.GetDays()))
			c.Clocks.V = c.Clocks.V.Hold(now)
			c.HoldStartTime, c.HoldEndTime, c.HoldReason, c.HoldHolder = &now, &end, req.GetReason(), s.actor(ctx)
			c.HoldCount++
			addChanged(e, "hold", "hold_count")
			return nil
		})
}

// ResumeCase ends a hold before its end time.
func (s *Cases) ResumeCase(ctx context.Context, req *pb.ResumeCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionResume, "ResumeCase", req.GetNote(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			endHold(c, e, s.now().UTC())
			return nil
		})
}

// endHold lifts c's hold at t: its clocks run again with the time they had
// left, and the time held joins the case's total.
func endHold(c *repository.Case, e *repository.HistoryEntry, t time.Time) {
	if !c.Held() {
		return
	}
	c.Clocks.V = c.Clocks.V.Unhold(t)
	if c.HoldStartTime != nil {
		c.HeldSeconds += int64(max(t.Sub(*c.HoldStartTime), 0) / time.Second)
	}
	c.HoldStartTime, c.HoldEndTime, c.HoldReason, c.HoldHolder = nil, nil, "", ""
	addChanged(e, "hold", "clocks", "due_time")
}

// holdBatch bounds one run of EndHolds; the next run takes the rest.
const holdBatch = 500

// errHoldMoved skips a case whose hold changed after it was listed.
var errHoldMoved = errors.New("service: the hold changed since it was listed")

// EndHolds resumes every case, in every town, whose hold has reached its
// end time: each as of its end time, so the clocks lose nothing to the
// job's delay. A case resumes by a conditional update on the revision it
// was listed at and only while the same hold is in force, so a hold ends
// once however many runs overlap, and a manual resume first makes the run
// a no-op. The history's actor is "system" and the feed event a server one.
func (s *Cases) EndHolds(ctx context.Context) error {
	ctx = repository.WithScope(ctx, principal.Scope{All: true})
	due, err := s.store.EndedHolds(ctx, s.now(), holdBatch)
	if err != nil {
		return err
	}
	for _, d := range due {
		_, err := s.store.MutateCase(ctx, d.ID, repository.Etag(d.Revision), func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			if !c.Held() || d.HoldEndTime == nil || !c.HoldEndTime.Equal(*d.HoldEndTime) {
				return nil, errHoldMoved
			}
			h := &repository.HistoryEntry{Actor: "system", Method: "ResumeCase", FromStatus: c.Status, ToStatus: c.Status,
				Reason: "the hold reached its end time (" + string(domain.RuleCaseHold) + ")"}
			endHold(c, h, c.HoldEndTime.UTC())
			s.rebasis(c, nil)
			return h, nil
		})
		switch {
		case err == nil, errors.Is(err, errHoldMoved), errors.Is(err, repository.ErrEtagMismatch), errors.Is(err, repository.ErrNotFound):
			// Resumed, or resumed or changed by someone else first: a
			// changed case is listed again by the next run.
		default:
			return err
		}
	}
	return nil
}
