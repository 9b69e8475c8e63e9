package domain

import (
	"fmt"
	"slices"
	"time"
)

// ApplicationStatus is where a spouse's application to a position of a
// targeted recruitment event (定向招聘) stands. Values are stored as-is.
type ApplicationStatus string

// The application statuses, in the order an application moves through them.
const (
	ApplicationRegistered  ApplicationStatus = "REGISTERED"
	ApplicationInterviewed ApplicationStatus = "INTERVIEWED"
	ApplicationOffered     ApplicationStatus = "OFFERED"
	ApplicationAccepted    ApplicationStatus = "ACCEPTED"
	ApplicationDeclined    ApplicationStatus = "DECLINED"
)

var applicationStatuses = []ApplicationStatus{
	ApplicationRegistered, ApplicationInterviewed, ApplicationOffered, ApplicationAccepted, ApplicationDeclined,
}

// ApplicationStatuses lists every application status, in order.
func ApplicationStatuses() []ApplicationStatus { return slices.Clone(applicationStatuses) }

// ApplicationAction is a step of an application.
type ApplicationAction string

// The application steps.
const (
	ApplicationInterview ApplicationAction = "interview"
	ApplicationOffer     ApplicationAction = "offer"
	ApplicationAccept    ApplicationAction = "accept"
	ApplicationDecline   ApplicationAction = "decline"
)

// applicationTransitions is the application's state machine: for each
// step, the statuses it may start from and the one it leads to.
var applicationTransitions = map[ApplicationAction]map[ApplicationStatus]ApplicationStatus{
	ApplicationInterview: {ApplicationRegistered: ApplicationInterviewed},
	ApplicationOffer:     {ApplicationInterviewed: ApplicationOffered},
	ApplicationAccept:    {ApplicationOffered: ApplicationAccepted},
	ApplicationDecline: {
		ApplicationRegistered: ApplicationDeclined, ApplicationInterviewed: ApplicationDeclined,
		ApplicationOffered: ApplicationDeclined,
	},
}

// ApplicationTransition returns the status an application in from moves to
// by a, or a PreconditionError of type ILLEGAL_TRANSITION whose Subject the
// caller fills with the application's name.
func ApplicationTransition(from ApplicationStatus, a ApplicationAction) (ApplicationStatus, error) {
	if to, ok := applicationTransitions[a][from]; ok {
		return to, nil
	}
	e := &PreconditionError{
		Type:        "ILLEGAL_TRANSITION",
		Description: fmt.Sprintf("cannot %s an application in status APPLICATION_STATUS_%s", a, from),
	}
	if a == ApplicationAccept {
		// Only an offer is accepted, and its acceptance is the placement.
		e.Rule = RuleRecruitmentPlacement
	}
	return "", e
}

// RecruitmentPosition is a position an employer offers at an event.
type RecruitmentPosition struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Places       int    `json:"places"`
	Requirements string `json:"requirements,omitempty"`
}

// RecruitmentEmployer is an employer taking part in an event.
type RecruitmentEmployer struct {
	Employer  string                `json:"employer"`
	Positions []RecruitmentPosition `json:"positions"`
}

// CheckRecruitmentEmployers refuses position ids that repeat within an
// event: applications refer to a position by its id.
func CheckRecruitmentEmployers(field string, employers []RecruitmentEmployer) error {
	seen := map[string]bool{}
	var vs []Violation
	for i, e := range employers {
		for j, p := range e.Positions {
			if seen[p.ID] {
				vs = append(vs, Violation{Field: fmt.Sprintf("%s[%d].positions[%d].id", field, i, j),
					Description: "repeats a position id of this event; each position needs its own"})
			}
			seen[p.ID] = true
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}

// FindPosition returns the employer and position with the id, if the event
// offers it.
func FindPosition(employers []RecruitmentEmployer, id string) (RecruitmentEmployer, RecruitmentPosition, bool) {
	for _, e := range employers {
		for _, p := range e.Positions {
			if p.ID == id {
				return e, p, true
			}
		}
	}
	return RecruitmentEmployer{}, RecruitmentPosition{}, false
}

// CheckPlaces refuses an acceptance that would place more spouses in the
// position than it has places, accepted counting the offers accepted for
// it already (POSITION_FULL, naming the event).
func CheckPlaces(event string, p RecruitmentPosition, accepted int) error {
	if accepted < p.Places {
		return nil
	}
	return &PreconditionError{Type: "POSITION_FULL", Subject: event,
		Description: fmt.Sprintf("every place of position %q is taken (%d of %d): offer another position, or add places to this one",
			p.ID, accepted, p.Places)}
}

// PositionIDs lists every position id of an event.
func PositionIDs(employers []RecruitmentEmployer) []string {
	var out []string
	for _, e := range employers {
		for _, p := range e.Positions {
			out = append(out, p.ID)
		}
	}
	return out
}

// InvitableStatuses are the statuses of an employment-placement case whose
// spouse a recruitment event invites: submitted and not yet resolved. A
// draft is no request yet.
func InvitableStatuses() []Status {
	return []Status{StatusSubmitted, StatusAccepted, StatusInProgress}
}

// PlacementDate is the calendar date a placement counts from: the one given,
// or today in China.
func PlacementDate(given *time.Time, now time.Time) time.Time {
	if given != nil {
		return *given
	}
	y, m, d := now.In(ChinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
