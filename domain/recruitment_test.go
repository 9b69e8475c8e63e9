package domain

import (
	"errors"
	"testing"
)

// TestApplicationTransitions walks every status against every step: the
// allowed moves land where the table says, every other is ILLEGAL_TRANSITION
// naming the status.
func TestApplicationTransitions(t *testing.T) {
	allowed := map[ApplicationStatus]map[ApplicationAction]ApplicationStatus{
		ApplicationRegistered:  {ApplicationInterview: ApplicationInterviewed, ApplicationDecline: ApplicationDeclined},
		ApplicationInterviewed: {ApplicationOffer: ApplicationOffered, ApplicationDecline: ApplicationDeclined},
		ApplicationOffered:     {ApplicationAccept: ApplicationAccepted, ApplicationDecline: ApplicationDeclined},
		ApplicationAccepted:    {},
		ApplicationDeclined:    {},
	}
	actions := []ApplicationAction{ApplicationInterview, ApplicationOffer, ApplicationAccept, ApplicationDecline}
	for _, from := range ApplicationStatuses() {
		for _, a := range actions {
			got, err := ApplicationTransition(from, a)
			want, ok := allowed[from][a]
			switch {
			case ok && (err != nil || got != want):
				t.Errorf("%s from %s = %s, %v; want %s", a, from, got, err, want)
			case !ok:
				p, isPre := AsPrecondition(err)
				if !isPre || p.Type != "ILLEGAL_TRANSITION" || got != "" {
					t.Errorf("%s from %s = %q, %v; want ILLEGAL_TRANSITION", a, from, got, err)
				}
			}
		}
	}
}

func TestCheckRecruitmentEmployers(t *testing.T) {
	ok := []RecruitmentEmployer{{Employer: "a", Positions: []RecruitmentPosition{{ID: "x"}, {ID: "y"}}}, {Employer: "b", Positions: []RecruitmentPosition{{ID: "z"}}}}
	if err := CheckRecruitmentEmployers("employers", ok); err != nil {
		t.Errorf("distinct ids refused: %v", err)
	}
	dup := []RecruitmentEmployer{{Employer: "a", Positions: []RecruitmentPosition{{ID: "x"}}}, {Employer: "b", Positions: []RecruitmentPosition{{ID: "x"}}}}
	err := CheckRecruitmentEmployers("employers", dup)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Field != "employers[1].positions[0].id" {
		t.Errorf("a repeated id across employers: %v, want one violation at employers[1].positions[0].id", err)
	}
}

// TestCheckPlaces: a position takes as many acceptances as it has places.
func TestCheckPlaces(t *testing.T) {
	p := RecruitmentPosition{ID: "clerk", Places: 2}
	for accepted, want := range []bool{true, true, false, false} {
		err := CheckPlaces("recruitmentEvents/1", p, accepted)
		if (err == nil) != want {
			t.Errorf("%d of 2 places taken: %v", accepted, err)
		}
		if pe, ok := AsPrecondition(err); err != nil && (!ok || pe.Type != "POSITION_FULL" || pe.Subject != "recruitmentEvents/1") {
			t.Errorf("%d of 2 places taken: %#v, want POSITION_FULL naming the event", accepted, err)
		}
	}
}
