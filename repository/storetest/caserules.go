package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// caseRuleTests hold the columns of the case rules (policy basis, clocks,
// outcome history, eligibility decision, reason codes, objection) and the
// sweep that withdraws lapsed applications to the same behaviour on every
// backend.
var caseRuleTests = []test{
	{"RulesRoundTrip", func(t *testing.T, e *env) {
		f := e.newFamily()
		now := e.nowStored()
		stop := now.Add(time.Hour)
		decided := now.Add(2 * time.Hour)
		c := e.newCase(f, withStatus(domain.StatusTerminated), func(c *repository.Case) {
			c.PolicyBasis = repository.List[domain.RuleID]{domain.RuleLegalAidAnyMember, domain.RuleLegalAidDecision}
			c.Clocks.V = domain.Clocks{
				{Kind: domain.ClockDecision, State: domain.ClockMet, Start: now, Due: now.Add(7 * 24 * time.Hour), Stop: &stop,
					Rule: domain.RuleLegalAidDecision, Days: 7},
				{Kind: domain.ClockObjection, State: domain.ClockRunning, Start: stop, Due: stop.Add(5 * 24 * time.Hour),
					Rule: domain.RuleLegalAidObjection, Days: 5},
			}
			c.OutcomeHistory.V = []domain.OutcomeRecord{{Result: domain.ResultAchieved, Summary: "已和解",
				ResolveTime: now, ReopenTime: stop, ReopenReason: "对方反悔"}}
			c.Eligibility.V = &domain.EligibilityDecision{Eligible: true, Rule: domain.RuleLegalAidAnyMember,
				Note: "核实", Decider: "users/sup", DecideTime: decided}
			c.WithdrawalReason = domain.WithdrawOther
			c.RejectionReason = domain.RejectFalseMaterials
			c.TerminationGround = domain.TerminateOwnLawyer
			c.Objection.V = &domain.Objection{FileTime: stop, Note: "不服", Result: domain.ObjectionUpheld, DecideTime: &decided}
		})
		got, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		sameRow(t, got, c, "case with its rules")
		// A case without them stores "" in each column and reads back as
		// none, as rows written before the columns existed do.
		bare := e.newCase(f)
		raw := e.rawRows("SELECT policy_basis, clocks, outcome_history, eligibility, objection, withdrawal_reason FROM cases WHERE id = ?", bare.ID)
		for col, v := range raw[0] {
			if v != "" {
				t.Errorf("%s of a case without it is stored as %q, want \"\"", col, v)
			}
		}
		got, err = e.s.GetCase(e.ctx, bare.ID)
		must(t, err, "GetCase")
		if got.Clocks.V != nil || got.Eligibility.V != nil || got.Objection.V != nil || got.OutcomeHistory.V != nil || got.PolicyBasis != nil {
			t.Errorf("a case without rules reads back with some: %+v", got)
		}
		raw = e.rawRows("SELECT clocks FROM cases WHERE id = ?", c.ID)
		if !strings.Contains(raw[0]["clocks"], `"kind":"OBJECTION"`) {
			t.Errorf("clocks stored as %q, want JSON naming each clock's kind", raw[0]["clocks"])
		}
	}},
	{"PlacementCountsInTheYearDecided", func(t *testing.T, e *env) {
		f := e.newFamily()
		c := e.newCase(f, placedIn(ptr(2025)))
		if c.PlacementYear == nil || *c.PlacementYear != 2025 {
			t.Fatalf("placement year %v, want the details' 2025", deref(c.PlacementYear))
		}
		got, err := e.s.MutateCase(e.ctx, c.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.Eligibility.V = &domain.EligibilityDecision{Eligible: true, Rule: domain.RulePlacementSurvivors, Decider: "users/sup",
				DecideTime: e.nowStored(), PlacementYear: 2026}
			return nil, nil
		})
		must(t, err, "MutateCase")
		if got.PlacementYear == nil || *got.PlacementYear != 2026 {
			t.Fatalf("placement year %v after the decision of 2026", deref(got.PlacementYear))
		}
		found := e.allCases(repository.CaseQuery{Filter: parse(t, "placement_year = 2026", repository.CaseFilter)})
		sameIDs(t, caseIDs(found), []string{c.ID}, "placement_year = 2026")
	}},
	{"NoRunningClockIsNeverOverdue", func(t *testing.T, e *env) {
		f := e.newFamily()
		past := e.nowStored().Add(-time.Hour)
		late := e.newCase(f, withStatus(domain.StatusInProgress), withDue(&past))
		e.newCase(f, withStatus(domain.StatusInProgress), withDue(nil)) // in litigation, nothing owed
		found := e.allCases(repository.CaseQuery{Filter: parse(t, "overdue = true", repository.CaseFilter)})
		sameIDs(t, caseIDs(found), []string{late.ID}, "overdue = true")
	}},
	{"HoldColumnsFilterAndEndedHolds", func(t *testing.T, e *env) {
		f := e.newFamily()
		now := e.nowStored()
		end := now.Add(48 * time.Hour)
		paused := now
		held := e.newCase(f, withStatus(domain.StatusAccepted), func(c *repository.Case) {
			c.HoldStartTime, c.HoldEndTime, c.HoldReason, c.HoldHolder = &now, &end, "等待医院排期", "users/cw"
			c.HeldSeconds, c.HoldCount = 3600, 2
			c.Clocks.V = domain.Clocks{{Kind: domain.ClockServiceTarget, State: domain.ClockPaused, Start: now,
				Due: now.Add(72 * time.Hour), Stop: &paused, Rule: domain.RuleElderTarget, Days: 3, Held: true}}
		})
		free := e.newCase(f, withStatus(domain.StatusAccepted))
		got, err := e.s.GetCase(e.ctx, held.ID)
		must(t, err, "GetCase")
		sameRow(t, got, held, "held case")
		sameIDs(t, caseIDs(e.allCases(repository.CaseQuery{Filter: parse(t, "held = true", repository.CaseFilter)})),
			[]string{held.ID}, "held = true")
		if ids := caseIDs(e.allCases(repository.CaseQuery{Filter: parse(t, "held = false", repository.CaseFilter)})); !slices.Contains(ids, free.ID) || slices.Contains(ids, held.ID) {
			t.Errorf("held = false lists %v, want %s and not %s", ids, free.ID, held.ID)
		}
		// The hold-end job's list: nothing before the end, the case (with
		// the revision and end time it resumes under) from the end on.
		ctx := repository.WithScope(context.Background(), principal.Scope{All: true})
		due, err := e.s.EndedHolds(ctx, end.Add(-time.Second), 10)
		must(t, err, "EndedHolds")
		if len(due) != 0 {
			t.Errorf("EndedHolds before the end: %v", caseIDs(due))
		}
		due, err = e.s.EndedHolds(ctx, end, 10)
		must(t, err, "EndedHolds")
		if len(due) != 1 || due[0].ID != held.ID || due[0].Revision != got.Revision || !due[0].HoldEndTime.Equal(end) {
			t.Fatalf("EndedHolds at the end = %+v, want the held case at revision %d ending %s", due, got.Revision, end)
		}
		if due, _ = e.s.EndedHolds(ctx, end, 0); len(due) != 0 {
			t.Errorf("EndedHolds with no room returned %d", len(due))
		}
	}},
	{"LapsedMaterialsWithdrawnOnceByTwoStores", func(t *testing.T, e *env) {
		f := e.newFamily()
		now := e.nowStored()
		awaiting := func(lastDayEnd time.Time) func(*repository.Case) {
			return func(c *repository.Case) {
				c.Status = domain.StatusAwaitingMaterials
				start := lastDayEnd.Add(-10 * 24 * time.Hour)
				c.Clocks.V = domain.Clocks{
					{Kind: domain.ClockDecision, State: domain.ClockPaused, Start: start, Due: start.Add(7 * 24 * time.Hour),
						Stop: &start, Rule: domain.RuleLegalAidDecision, Days: 7},
					{Kind: domain.ClockMaterials, State: domain.ClockRunning, Start: start, Due: lastDayEnd, Rule: domain.RuleMaterialsWithdrawn},
				}
				c.DueTime = c.Clocks.V.Due()
			}
		}
		lapsed := e.newCase(f, awaiting(now.Add(-time.Minute)))
		waiting := e.newCase(f, awaiting(now.Add(24*time.Hour)))
		pastDue := e.nowStored().Add(-time.Hour)
		submitted := e.newCase(f, withStatus(domain.StatusSubmitted), withDue(&pastDue))

		second := repository.New(e.db, e.s.Dialect(), e.keys, repository.WithClock(e.clock.Now))
		at := e.clock.Now()
		var wg sync.WaitGroup
		counts := make([]int, 4)
		errs := make([]error, 4)
		for i, s := range []*repository.Store{e.s, second, e.s, second} {
			wg.Go(func() { counts[i], errs[i] = s.WithdrawLapsedMaterials(e.ctx, at) })
		}
		wg.Wait()
		total := 0
		for i := range counts {
			must(t, errs[i], "sweep %d", i)
			total += counts[i]
		}
		if total != 1 {
			t.Fatalf("four sweeps at once withdrew %d cases, want exactly 1", total)
		}
		got, err := e.s.GetCase(e.ctx, lapsed.ID)
		must(t, err, "GetCase")
		if got.Status != domain.StatusWithdrawn || got.WithdrawalReason != domain.WithdrawMaterialsNotSupplied || got.DueTime != nil {
			t.Errorf("lapsed case: status %s, reason %q, due %v", got.Status, got.WithdrawalReason, deref(got.DueTime))
		}
		if m, _ := got.Clocks.V.Get(domain.ClockMaterials); m.State != domain.ClockMissed {
			t.Errorf("materials clock %s, want MISSED", m.State)
		}
		if !strings.Contains(got.StatusReason, string(domain.RuleMaterialsWithdrawn)) {
			t.Errorf("status reason %q does not name the rule", got.StatusReason)
		}
		var withdrawals []repository.HistoryEntry
		for _, h := range e.history(lapsed.ID) {
			if h.Method == "WithdrawCase" {
				withdrawals = append(withdrawals, h)
			}
		}
		if len(withdrawals) != 1 || withdrawals[0].Actor != "system" || withdrawals[0].ToStatus != domain.StatusWithdrawn {
			t.Errorf("history of the withdrawal: %+v, want one entry by system", withdrawals)
		}
		for _, c := range []*repository.Case{waiting, submitted} {
			if got, _ := e.s.GetCase(e.ctx, c.ID); got.Status != c.Status || got.Revision != c.Revision {
				t.Errorf("case in %s was touched by the sweep: now %s, revision %d", c.Status, got.Status, got.Revision)
			}
		}
		if n, err := e.s.WithdrawLapsedMaterials(e.ctx, at); err != nil || n != 0 {
			t.Errorf("a later sweep withdrew %d (%v), want 0", n, err)
		}
	}},
}
