package repository

import (
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
)

// FactKind is what a case fact records.
type FactKind string

// The facts the statistics count.
const (
	// FactEnded: the case entered an ending status (domain.EndingStatus).
	FactEnded FactKind = "ENDED"
	// FactDecided: a legal-aid case's DECISION clock stopped, met or missed.
	FactDecided FactKind = "DECIDED"
	// FactEligible: a supervisor decided an employment placement eligible
	// for a placement year.
	FactEligible FactKind = "ELIGIBLE"
)

// CaseFact is something that happened to a case, as it was when it
// happened: the town and kind then, the status entered, the outcome given.
// Facts are only ever added, in the transaction of the change, so a figure
// of a closed period, counted from them, stays as it was whatever happens
// to the case afterwards.
type CaseFact struct {
	ID       int64 `gorm:"primaryKey;autoIncrement"`
	CaseID   string
	Fact     FactKind
	FactTime time.Time
	TownCode string
	Kind     domain.Kind
	// Status is the ending status entered (FactEnded only).
	Status domain.Status
	Result domain.Result
	// Days is, for a resolution, domain.DaysToResolve.
	Days int
	// PlacementYear is the year an eligible placement counts in, on its
	// eligibility decision and on its resolution.
	PlacementYear int
	// SchoolStage and PriorityBasis are a school enrolment's, as its
	// details spell them (the API's enum names).
	SchoolStage   string
	PriorityBasis string
	// Met: a decision within its term.
	Met bool
}

// caseMark is what facts are told apart by: a case's status, whether its
// decision clock had stopped, and when its eligibility was decided.
type caseMark struct {
	status   domain.Status
	decided  bool
	eligible time.Time
}

func markOf(c *Case) caseMark {
	m := caseMark{status: c.Status}
	if clock, ok := c.Clocks.V.Get(domain.ClockDecision); ok {
		m.decided = clock.State == domain.ClockMet || clock.State == domain.ClockMissed
	}
	if d := c.Eligibility.V; d != nil && d.Eligible {
		m.eligible = d.DecideTime
	}
	return m
}

// factsOf are the facts a change of a case from before (its mark) to c
// adds, at now.
func factsOf(before caseMark, c *Case, now time.Time) []CaseFact {
	after := markOf(c)
	base := CaseFact{CaseID: c.ID, TownCode: c.TownCode, Kind: c.Kind}
	var out []CaseFact
	if after.status != before.status && after.status.Ending() {
		out = append(out, ended(base, c, now))
	}
	if after.decided && !before.decided {
		clock, _ := c.Clocks.V.Get(domain.ClockDecision)
		f := base
		f.Fact, f.FactTime, f.Met = FactDecided, now, clock.State == domain.ClockMet
		if clock.Stop != nil {
			f.FactTime = *clock.Stop
		}
		out = append(out, f)
	}
	if c.Kind == domain.KindEmploymentPlacement && !after.eligible.IsZero() && !after.eligible.Equal(before.eligible) &&
		c.PlacementYear != nil {
		f := base
		f.Fact, f.FactTime, f.PlacementYear = FactEligible, after.eligible, *c.PlacementYear
		out = append(out, f)
	}
	return out
}

// ended is the fact of c's entering an ending status.
func ended(f CaseFact, c *Case, now time.Time) CaseFact {
	f.Fact, f.FactTime, f.Status = FactEnded, now, c.Status
	if c.Status != domain.StatusResolved {
		return f
	}
	if c.ResolveTime != nil {
		f.FactTime = *c.ResolveTime
	}
	f.Result = c.OutcomeResult
	if c.Kind == domain.KindEmploymentPlacement && c.PlacementYear != nil && !markOf(c).eligible.IsZero() {
		// The year it counts in, so the placement rate reads one index.
		f.PlacementYear = *c.PlacementYear
	}
	submitted := c.CreateTime
	if c.SubmitTime != nil {
		submitted = *c.SubmitTime
	}
	f.Days = domain.DaysToResolve(submitted, f.FactTime)
	if c.Kind == domain.KindSchoolEnrollment {
		var d struct {
			SchoolStage   string `json:"school_stage"`
			PriorityBasis string `json:"priority_basis"`
		}
		// Details were checked when written; unreadable ones count with
		// no stage rather than refusing the resolution.
		_ = json.Unmarshal([]byte(c.Details), &d)
		f.SchoolStage, f.PriorityBasis = d.SchoolStage, d.PriorityBasis
	}
	return f
}

// addFacts writes facts, of one change or of a batch's, and adds them to
// the monthly counts (counts.go) in the same transaction.
func addFacts(tx *gorm.DB, facts []CaseFact) error {
	if len(facts) == 0 {
		return nil
	}
	if err := lockCounts(tx); err != nil {
		return err
	}
	// The placement counts compare a fact with the case's earlier ones, so
	// they are read before the new facts join them.
	deltas, err := countsOf(tx, facts)
	if err != nil {
		return err
	}
	if err := tx.Create(&facts).Error; err != nil {
		return err
	}
	return deltas.apply(tx)
}
