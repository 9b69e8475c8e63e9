package domain

import (
	"errors"
	"testing"
	"time"
)

func TestMeasureTransition(t *testing.T) {
	for _, tc := range []struct {
		from MeasureState
		a    MeasureAction
		to   MeasureState // "" = refused
	}{
		{MeasureProposed, MeasureApprove, MeasureActive},
		{MeasureActive, MeasureSuspend, MeasureSuspended},
		{MeasureSuspended, MeasureReinstate, MeasureActive},
		{MeasureActive, MeasureExit, MeasureExited},
		{MeasureSuspended, MeasureExit, MeasureExited},
		{MeasureProposed, MeasureExit, MeasureExited},
		{MeasureProposed, MeasureSuspend, ""},
		{MeasureActive, MeasureApprove, ""},
		{MeasureActive, MeasureReinstate, ""},
		{MeasureExited, MeasureReinstate, ""},
		{MeasureExited, MeasureExit, ""},
		{MeasureSuspended, MeasureSuspend, ""},
	} {
		to, err := MeasureTransition(tc.from, tc.a)
		if tc.to == "" {
			var p *PreconditionError
			if !errors.As(err, &p) || p.Type != "ILLEGAL_TRANSITION" {
				t.Errorf("%s from %s: %v, want ILLEGAL_TRANSITION", tc.a, tc.from, err)
			}
			continue
		}
		if err != nil || to != tc.to {
			t.Errorf("%s from %s = %s, %v; want %s", tc.a, tc.from, to, err, tc.to)
		}
	}
}

func TestComplaintTransition(t *testing.T) {
	if to, err := ComplaintTransition(ComplaintOpen, ComplaintInvestigate); err != nil || to != ComplaintInvestigating {
		t.Errorf("investigate: %s %v", to, err)
	}
	if to, err := ComplaintTransition(ComplaintInvestigating, ComplaintUphold); err != nil || to != ComplaintUpheld {
		t.Errorf("uphold: %s %v", to, err)
	}
	for _, from := range []ComplaintState{ComplaintUpheld, ComplaintDismissed} {
		if _, err := ComplaintTransition(from, ComplaintDismiss); err == nil {
			t.Errorf("dismiss from %s accepted", from)
		}
	}
	if _, err := ComplaintTransition(ComplaintInvestigating, ComplaintInvestigate); err == nil {
		t.Error("investigate twice accepted")
	}
}

func TestAgreementExpired(t *testing.T) {
	expiry := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	// 24:00 China time on 1 March is 16:00 UTC that day.
	if AgreementExpired(expiry, time.Date(2026, 3, 1, 15, 59, 0, 0, time.UTC)) {
		t.Error("expired on its last day")
	}
	if !AgreementExpired(expiry, time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Error("not expired the next day in China")
	}
	if AgreementExpired(time.Time{}, time.Now()) {
		t.Error("no expiry date expired")
	}
	var p *PreconditionError
	if err := CheckAgreementInForce(expiry, time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)); !errors.As(err, &p) || p.Type != "AGREEMENT_EXPIRED" {
		t.Errorf("CheckAgreementInForce = %v", err)
	}
}

func TestOffered(t *testing.T) {
	now := time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)
	from, until := day(2026, 1, 1), day(2026, 5, 31)
	later := day(2026, 7, 1)
	base := Offer{State: MeasureActive}
	for _, tc := range []struct {
		name string
		o    Offer
		want bool
	}{
		{"active, all categories, county-wide", base, true},
		{"suspended", Offer{State: MeasureSuspended}, false},
		{"proposed", Offer{State: MeasureProposed}, false},
		{"the category served", Offer{State: MeasureActive, Categories: []Category{CategoryVeteran, CategoryActiveDutyFamily}}, true},
		{"another category", Offer{State: MeasureActive, Categories: []Category{CategoryVeteran}}, false},
		{"the town served", Offer{State: MeasureActive, Towns: []string{"500230001"}}, true},
		{"another town", Offer{State: MeasureActive, Towns: []string{"500230002"}}, false},
		{"expired validity", Offer{State: MeasureActive, ValidFrom: &from, ValidUntil: &until}, false},
		{"not yet valid", Offer{State: MeasureActive, ValidFrom: &later}, false},
		{"valid", Offer{State: MeasureActive, ValidFrom: &from}, true},
	} {
		if got := tc.o.Offered(CategoryActiveDutyFamily, "500230001", now); got != tc.want {
			t.Errorf("%s: Offered = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReviewOverdue(t *testing.T) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	reviewed := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	if !ReviewOverdue(MeasureActive, created, nil, DefaultReviewPeriod, now) {
		t.Error("never reviewed in 14 months: not overdue")
	}
	if ReviewOverdue(MeasureActive, created, &reviewed, DefaultReviewPeriod, now) {
		t.Error("reviewed 3 months ago: overdue")
	}
	if ReviewOverdue(MeasureExited, created, nil, DefaultReviewPeriod, now) {
		t.Error("exited: overdue")
	}
}
