package domain

import (
	"testing"
	"time"
)

func wantRule(t *testing.T, err error, typ string, rule RuleID) {
	t.Helper()
	p, ok := AsPrecondition(err)
	if !ok || p.Type != typ || p.Rule != rule {
		t.Fatalf("error = %v, want a %s precondition of %s", err, typ, rule)
	}
}

// wantFieldRule checks err refuses field naming rule.
func wantFieldRule(t *testing.T, err error, field string, rule RuleID) {
	t.Helper()
	v, ok := AsValidation(err)
	if !ok || v.Violations[0].Field != field || v.Violations[0].Rule != rule {
		t.Fatalf("error = %v, want a violation of %s under %s", err, field, rule)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	v, ok := AsValidation(err)
	if !ok || v.Violations[0].Field != field {
		t.Fatalf("error = %v, want a violation of %s", err, field)
	}
}

// WITHDRAWAL_REASON: a code always; words for OTHER.
func TestCheckWithdrawal(t *testing.T) {
	for _, c := range WithdrawalReasons() {
		text := ""
		if c == WithdrawOther {
			text = "家属另有安排"
		}
		if err := CheckWithdrawal(c, text); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	wantFieldRule(t, CheckWithdrawal("", "搬家"), "reason_code", RuleWithdrawalReason)
	wantFieldRule(t, CheckWithdrawal(WithdrawOther, ""), "reason", RuleWithdrawalReason)
}

// REJECT_AFTER_ACCEPT_REASON.
func TestCheckReject(t *testing.T) {
	if err := CheckReject(StatusSubmitted, ""); err != nil {
		t.Errorf("a refusal of an application needs no code: %v", err)
	}
	if err := CheckReject(StatusAccepted, RejectFalseMaterials); err != nil {
		t.Errorf("an accepted case rejected with a code: %v", err)
	}
	wantRule(t, CheckReject(StatusAccepted, ""), "REASON_CODE_REQUIRED", RuleRejectAfterAccept)
	wantField(t, CheckReject(StatusSubmitted, "BECAUSE"), "reason_code")
}

// LEGAL_AID_TERMINATION: the grounds of Art 48 and no others.
func TestCheckTermination(t *testing.T) {
	for _, g := range TerminationGrounds() {
		if err := CheckTermination(g); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	wantFieldRule(t, CheckTermination("BORED"), "ground", RuleLegalAidTermination)
}

// LEGAL_AID_OBJECTION_5D: one objection waits at a time, decided within 5
// days; a correction brings the case back.
func TestObjection(t *testing.T) {
	d := DefaultDeadlines()
	filed := china(2026, 9, 30, 15, 0)
	o, clocks, err := d.FileObjection(nil, nil, "认为符合条件", filed)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := clocks.Get(ClockObjection); !ok || !c.Due.Equal(endOf(2026, 10, 8)) || c.Rule != RuleLegalAidObjection {
		t.Errorf("objection clock %+v", c)
	}
	if _, _, err := d.FileObjection(o, clocks, "", filed.Add(time.Hour)); err == nil {
		t.Error("a second objection was filed while the first waits")
	} else {
		wantRule(t, err, "OBJECTION_PENDING", RuleLegalAidObjection)
	}
	decided, after, action, err := DecideObjection(o, clocks, ObjectionCorrectionOrdered, china(2026, 10, 9, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if action != ActionCorrect || decided.Result != ObjectionCorrectionOrdered || decided.DecideTime == nil {
		t.Errorf("decided %+v, action %s", decided, action)
	}
	if c, _ := after.Get(ClockObjection); c.State != ClockMissed {
		t.Errorf("decided on 9 October, after the 8th: clock %s, want MISSED", c.State)
	}
	if _, _, action, _ := DecideObjection(o, clocks, ObjectionUpheld, filed.Add(time.Hour)); action != ActionUpholdObjection {
		t.Errorf("upheld: action %s", action)
	}
	if _, _, _, err := DecideObjection(decided, after, ObjectionUpheld, filed); err == nil {
		t.Error("an objection was decided twice")
	}
	if _, _, _, err := DecideObjection(nil, nil, ObjectionUpheld, filed); err == nil {
		t.Error("an objection never filed was decided")
	}
}

// REOPEN_KEEPS_OUTCOME.
func TestSetAside(t *testing.T) {
	resolved := china(2026, 3, 10, 9, 0)
	h, rules := SetAside(nil, ResultAchieved, "已入学", &resolved, china(2026, 4, 1, 9, 0), "学校撤销录取")
	if len(h) != 1 || h[0].Result != ResultAchieved || !h[0].ResolveTime.Equal(resolved) || h[0].ReopenReason != "学校撤销录取" {
		t.Fatalf("history %+v", h)
	}
	if len(rules) != 1 || rules[0] != RuleReopenKeepsOutcome {
		t.Errorf("rules %v, want REOPEN_KEEPS_OUTCOME", rules)
	}
	h2, _ := SetAside(h, ResultNotAchieved, "未能入学", &resolved, china(2026, 5, 1, 9, 0), "再议")
	if len(h2) != 2 || h2[0] != h[0] || len(h) != 1 {
		t.Errorf("a second reopening did not keep the first outcome: %+v", h2)
	}
	if got, rules := SetAside(h, "", "", nil, resolved, "x"); len(got) != 1 || rules != nil {
		t.Error("a case with no outcome added a record")
	}
}

// PLACEMENT_ELIGIBILITY_DECIDED.
func TestEligibilityDecision(t *testing.T) {
	at := china(2026, 12, 31, 23, 30) // still 2026 in China, 2026 in UTC too
	d, err := DecideEligibility(KindEmploymentPlacement, RulePlacementOfficerNCOSpouse, true, "", "sup", at)
	if err != nil || d.PlacementYear != 2026 || !d.Eligible {
		t.Fatalf("decision %+v, %v", d, err)
	}
	late := china(2027, 1, 1, 0, 30) // 2027 in China, still 2026 in UTC
	if d, _ := DecideEligibility(KindEmploymentPlacement, RulePlacementSurvivors, true, "", "sup", late); d.PlacementYear != 2027 {
		t.Errorf("decided on 1 January 2027 China time: year %d", d.PlacementYear)
	}
	if d, _ := DecideEligibility(KindLegalAid, RuleLegalAidAnyMember, true, "", "sup", at); d.PlacementYear != 0 {
		t.Error("a legal-aid decision has a placement year")
	}
	wantField(t, func() error {
		_, err := DecideEligibility(KindLegalAid, RuleLegalAidDecision, true, "", "s", at)
		return err
	}(), "policy")
	wantField(t, func() error { _, err := DecideEligibility(KindLegalAid, "MADE_UP", true, "", "s", at); return err }(), "policy")

	wantRule(t, CheckPlacementDecided(KindEmploymentPlacement, true, nil), "ELIGIBILITY_NOT_DECIDED", RulePlacementDecision)
	wantRule(t, CheckPlacementDecided(KindEmploymentPlacement, true, &EligibilityDecision{Eligible: false}), "ELIGIBILITY_NOT_DECIDED", RulePlacementDecision)
	for _, ok := range []error{
		CheckPlacementDecided(KindEmploymentPlacement, true, d),
		CheckPlacementDecided(KindEmploymentPlacement, false, nil),
		CheckPlacementDecided(KindSchoolEnrollment, true, nil),
	} {
		if ok != nil {
			t.Errorf("refused: %v", ok)
		}
	}
}

// LEGAL_AID_MATERIALS_ONCE, LEGAL_AID_MATERIALS_WITHDRAWN and the decision
// clock restarting from receipt.
func TestMaterials(t *testing.T) {
	d := DefaultDeadlines()
	submitted := china(2026, 3, 2, 10, 0)
	clocks := d.Submitted(KindLegalAid, submitted, "", 0)
	asked := china(2026, 3, 4, 10, 0)
	lastDay := day(2026, 3, 13)
	paused, err := RequestMaterials(clocks, false, lastDay, asked)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := paused.Get(ClockDecision); c.State != ClockPaused {
		t.Errorf("decision clock %s, want PAUSED", c.State)
	}
	if due := paused.Due(); due == nil || !due.Equal(endOf(2026, 3, 13)) {
		t.Errorf("due %v, want the end of the materials' last day", due)
	}
	if _, err := RequestMaterials(paused, true, lastDay, asked); err == nil {
		t.Error("materials were asked for twice")
	} else {
		wantRule(t, err, "MATERIALS_ALREADY_REQUESTED", RuleLegalAidMaterials)
	}
	wantField(t, func() error { _, err := RequestMaterials(clocks, false, day(2026, 3, 4), asked); return err }(), "due_date")

	received := china(2026, 3, 10, 15, 0)
	restarted, err := d.SupplyMaterials(paused, received)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := restarted.Get(ClockDecision); c.State != ClockRunning || !c.Start.Equal(received) || !c.Due.Equal(endOf(2026, 3, 17)) {
		t.Errorf("decision clock after receipt %+v, want 7 days from 10 March", c)
	}
	if c, _ := restarted.Get(ClockMaterials); c.State != ClockMet {
		t.Errorf("materials clock %s, want MET", c.State)
	}
	if MaterialsLapsed(paused, endOf(2026, 3, 13).Add(-time.Second)) || !MaterialsLapsed(paused, endOf(2026, 3, 13)) {
		t.Error("materials lapse at 24:00 of their last day, not before")
	}
	if _, err := d.SupplyMaterials(paused, endOf(2026, 3, 13)); err == nil {
		t.Error("materials after their last day were taken")
	} else {
		wantRule(t, err, "MATERIALS_OVERDUE", RuleMaterialsWithdrawn)
	}
	lapsed := LapseMaterials(paused, endOf(2026, 3, 13))
	if c, _ := lapsed.Get(ClockMaterials); c.State != ClockMissed || lapsed.Due() != nil {
		t.Errorf("lapsed clocks %+v", lapsed)
	}
}

// LEGAL_AID_URGENT_FIRST.
func TestCheckUrgentStart(t *testing.T) {
	wantRule(t, CheckUrgentStart(false, "lawyer"), "NOT_URGENT", RuleLegalAidUrgent)
	if p, ok := AsPrecondition(CheckUrgentStart(true, "")); !ok || p.Type != "ASSIGNEE_REQUIRED" {
		t.Errorf("urgent without an assignee: %v", p)
	}
	if err := CheckUrgentStart(true, "lawyer"); err != nil {
		t.Error(err)
	}
}
