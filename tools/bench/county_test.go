package main

import (
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// The bulk fixture bypasses the API, so these hold it to the rules the API
// would have enforced on the same rows.

var testNow = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

func TestCountyPeopleAreValid(t *testing.T) {
	c := newCounty(1, 400, testNow)
	seen := map[string]bool{}
	for _, h := range c.households {
		if !domain.IsTownCode(towns[h.town].code) {
			t.Fatalf("town code %q", towns[h.town].code)
		}
		if _, err := idnumber.Parse(h.idNumber, testNow); err != nil {
			t.Fatalf("servicemember ID number: %v", err)
		}
		if seen[h.idNumber] {
			t.Fatal("two households share a servicemember ID number")
		}
		seen[h.idNumber] = true
		for _, m := range h.members {
			if !m.relation.Valid() || !m.created.After(h.created) {
				t.Fatalf("member %+v of a household created %v", m, h.created)
			}
			if m.idNumber == "" {
				continue
			}
			info, err := idnumber.Parse(m.idNumber, testNow)
			if err != nil {
				t.Fatalf("member ID number: %v", err)
			}
			if !info.BirthDate.Equal(m.birth) {
				t.Fatal("a member's birth date disagrees with the ID number, which the API refuses")
			}
			if seen[m.idNumber] {
				t.Fatal("two people share an ID number")
			}
			seen[m.idNumber] = true
		}
	}
	for i := range 50 {
		h := c.newImportHousehold(i)
		if seen[h.idNumber] {
			t.Fatal("an imported household reuses an ID number of the register")
		}
		seen[h.idNumber] = true
	}
}

var methodAction = map[string]domain.Action{
	"SubmitCase": domain.ActionSubmit, "AcceptCase": domain.ActionAccept, "RejectCase": domain.ActionReject,
	"AssignCase": domain.ActionAssign, "StartCase": domain.ActionStart, "ResolveCase": domain.ActionResolve,
	"CloseCase": domain.ActionClose, "WithdrawCase": domain.ActionWithdraw,
}

func TestCasesFollowTheRules(t *testing.T) {
	c := newCounty(2, 300, testNow)
	const n = 3000
	sched := newSchedule(n, c.now)
	numbers := map[string]bool{}
	var prev time.Time
	kinds := map[domain.Kind]int{}
	for i := range n {
		g := c.caseAt(sched, i)
		kinds[g.kind]++
		if !g.createTime.After(prev) {
			t.Fatalf("case %d created %v, not after the one before (%v)", i, g.createTime, prev)
		}
		prev = g.createTime
		if numbers[g.caseNumber] {
			t.Fatalf("case number %s handed out twice", g.caseNumber)
		}
		numbers[g.caseNumber] = true
		if want := g.createTime.In(domain.ChinaTime).Format("2006"); !strings.Contains(g.caseNumber, "-"+want+"-") {
			t.Fatalf("case %s created in %s", g.caseNumber, want)
		}
		if err := eligible(g.household, g.subject, g.kind, g.createTime); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !g.subject.created.Before(g.createTime) {
			t.Fatalf("case %d opened before its subject was registered", i)
		}
		// The history replays through the state machine to the status.
		st := domain.StatusDraft
		if h := g.history[0]; h.method != "CreateCase" || h.to != string(st) || !h.time.Equal(g.createTime) {
			t.Fatalf("case %d starts with %+v", i, h)
		}
		last := g.createTime
		for _, h := range g.history[1:] {
			if h.time.Before(last) || h.time.After(c.now) {
				t.Fatalf("case %d: history out of order at %+v", i, h)
			}
			last = h.time
			if h.from != string(st) {
				t.Fatalf("case %d: %s from %s, but the case was %s", i, h.method, h.from, st)
			}
			if h.method == "UpdateCase" {
				continue
			}
			to, err := domain.Transition(st, methodAction[h.method])
			if err != nil || string(to) != h.to {
				t.Fatalf("case %d: %s from %s to %s: %v", i, h.method, st, h.to, err)
			}
			st = to
		}
		if st != g.status || g.revision != int64(len(g.history)) || !g.updateTime.Equal(last) {
			t.Fatalf("case %d: status %s revision %d after %d entries ending in %s", i, g.status, g.revision, len(g.history), st)
		}
		submitted := g.status != domain.StatusDraft && !(g.status == domain.StatusWithdrawn && len(g.history) == 2)
		if submitted != (g.submitTime != nil && g.dueTime != nil) {
			t.Fatalf("case %d in %s: submit time %v, due %v", i, g.status, g.submitTime, g.dueTime)
		}
		resolved := g.status == domain.StatusResolved || g.status == domain.StatusClosed
		if resolved != (g.resolveTime != nil && g.outcomeResult != "") {
			t.Fatalf("case %d in %s: resolved %v, outcome %q", i, g.status, g.resolveTime, g.outcomeResult)
		}
		if (g.status == domain.StatusInProgress || resolved) && g.assignee == "" {
			t.Fatalf("case %d in %s without an assignee", i, g.status)
		}
	}
	for _, k := range []domain.Kind{domain.KindSchoolEnrollment, domain.KindEmploymentPlacement, domain.KindElderMedicalHelp, domain.KindLegalAid} {
		if kinds[k] < n/10 {
			t.Errorf("only %d of %d cases are %s", kinds[k], n, k)
		}
	}
	// Regenerating a case (for its history rows) gives the same case.
	a, b := c.caseAt(sched, 1234), c.caseAt(sched, 1234)
	if a.id != b.id || a.details != b.details || len(a.history) != len(b.history) {
		t.Fatal("caseAt is not deterministic")
	}
}

func TestPercentile(t *testing.T) {
	var lats []time.Duration
	for i := 100; i >= 1; i-- {
		lats = append(lats, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(lats, 0.5); p != 50 {
		t.Errorf("p50 = %v, want 50", p)
	}
	if p := percentile(lats, 0.99); p != 99 {
		t.Errorf("p99 = %v, want 99", p)
	}
	if p := percentile(nil, 0.99); p != 0 {
		t.Errorf("p99 of nothing = %v", p)
	}
}
