package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// StatusChangeKind is what a recorded change of the servicemember's status
// was. Stored as-is.
type StatusChangeKind string

// The kinds of change.
const (
	ChangeDischarge         StatusChangeKind = "DISCHARGE"          // 退役
	ChangeDeath             StatusChangeKind = "DEATH"              // 牺牲、病故: the new status says which
	ChangeDisabilityGrading StatusChangeKind = "DISABILITY_GRADING" // 评残、调整残疾等级
	ChangePostTransfer      StatusChangeKind = "POST_TRANSFER"      // 调岗
	ChangePromotion         StatusChangeKind = "PROMOTION"          // 义务兵转军士、军士提干
	ChangeDecoration        StatusChangeKind = "DECORATION"         // 立功受奖
	ChangeCorrection        StatusChangeKind = "CORRECTION"         // a correction, or an update of the household
)

var statusChangeKinds = []StatusChangeKind{ChangeDischarge, ChangeDeath, ChangeDisabilityGrading,
	ChangePostTransfer, ChangePromotion, ChangeDecoration, ChangeCorrection}

// StatusChangeKinds lists every kind of change.
func StatusChangeKinds() []StatusChangeKind { return slices.Clone(statusChangeKinds) }

// Valid reports whether k is one of the defined kinds.
func (k StatusChangeKind) Valid() bool { return slices.Contains(statusChangeKinds, k) }

// KeepGrade in a StatusChange keeps the disability grade as it is.
const KeepGrade = -1

// StatusChange is a change of the servicemember's status as a caseworker
// records it (ChangeServicememberStatus): its kind, the date it took
// effect, and the new values, "" (or KeepGrade) keeping a value.
type StatusChange struct {
	Kind StatusChangeKind
	// Effective is the calendar date it took effect, as midnight UTC.
	Effective       time.Time
	Status          ServiceStatus
	Post            PostType
	DisabilityGrade int
	// Honour is a DECORATION's honour.
	Honour string
}

// rank orders the active statuses for promotions.
var rank = map[ServiceStatus]int{ServiceActiveConscript: 1, ServiceActiveNCO: 2, ServiceActiveOfficer: 3}

// ApplyStatusChange is the household record after the change c, or a
// refusal naming the request's field (kind, effective_date, status,
// post_type, disability_grade, honour). The change is recorded with the
// date it took effect, which is not in the future in China time (rule
// STATUS_CHANGE_REEVALUATES_PRIORITY), and must be what its kind says:
// a discharge makes a serving servicemember a veteran, a death gives one of
// the survivors' statuses, a grading a new disability grade, a transfer a
// new post to someone serving, a promotion a higher active status, a
// decoration the honour. A correction may change any of them. A grade of 0
// clears the grade only in a grading or a correction: elsewhere it is what
// a client that did not send the field sends, and keeps it.
func ApplyStatusChange(before HouseholdRecord, c StatusChange, now time.Time) (HouseholdRecord, error) {
	if !c.Kind.Valid() {
		return before, Invalid("kind", "is required: one of the kinds of change")
	}
	if c.Effective.IsZero() {
		return before, Invalid("effective_date", "is required")
	}
	if c.Effective.After(Today(now)) {
		return before, Refuse(RuleStatusChangeReprio, "effective_date", "is in the future; a change is recorded once it has taken effect")
	}
	if c.Status != "" && !c.Status.Valid() {
		return before, Invalid("status", "is not a known status")
	}
	if c.DisabilityGrade < KeepGrade || c.DisabilityGrade > MaxDisabilityGrade {
		return before, Refuse(RulePriorityDisabled, "disability_grade", "must be %d to keep the grade, 0 to clear it, or 1 to %d", KeepGrade, MaxDisabilityGrade)
	}
	if c.Honour != "" && c.Kind != ChangeDecoration && c.Kind != ChangeCorrection {
		return before, Invalid("honour", "is given with a DECORATION (or a CORRECTION)")
	}
	after := before
	if c.Status != "" {
		after.Status = c.Status
	}
	if c.Post != "" {
		after.Post = c.Post
	}
	grading := c.Kind == ChangeDisabilityGrading || c.Kind == ChangeCorrection
	if c.DisabilityGrade > 0 || (c.DisabilityGrade == 0 && grading) {
		after.DisabilityGrade = c.DisabilityGrade
	}
	if c.Honour != "" {
		after.Honour = c.Honour
	}
	if err := checkKind(before, &after, c); err != nil {
		return before, err
	}
	if after.Post != PostHardshipArea {
		after.HardshipGrade = 0 // the grade was the old post's
	}
	if after == before {
		return before, Invalid("kind", "the change records nothing new: the household already says so")
	}
	return after, nil
}

// checkKind holds a change to what its kind says, completing what the kind
// implies (a discharge's VETERAN, a decoration's flag).
func checkKind(before HouseholdRecord, after *HouseholdRecord, c StatusChange) error {
	switch c.Kind {
	case ChangeDischarge:
		if c.Status == "" {
			after.Status = ServiceVeteran
		}
		if !before.Status.Active() || after.Status != ServiceVeteran {
			return Invalid("status", "a discharge makes a serving servicemember a veteran (SERVICEMEMBER_STATUS_VETERAN)")
		}
	case ChangeDeath:
		if !after.Status.Survivors() || before.Status.Survivors() {
			return Invalid("status", "a death gives the status MARTYR, DIED_ON_DUTY or DIED_OF_ILLNESS")
		}
	case ChangeDisabilityGrading:
		if c.DisabilityGrade == KeepGrade || after.DisabilityGrade == before.DisabilityGrade {
			return Invalid("disability_grade", "a grading gives the new disability grade (0 clears it)")
		}
	case ChangePostTransfer:
		if c.Post == "" || c.Post == before.Post || !after.Status.Active() {
			return Invalid("post_type", "a transfer gives a serving servicemember's new post")
		}
	case ChangePromotion:
		if rank[after.Status] <= rank[before.Status] || rank[before.Status] == 0 {
			return Invalid("status", "a promotion gives a higher active status (conscript to NCO, NCO to officer)")
		}
	case ChangeDecoration:
		if c.Honour == "" {
			return Invalid("honour", "a decoration names the honour")
		}
		after.Decorated = true
	}
	return nil
}

// Cause says, for a case's history, what change of the household moved its
// priority: the kind and the date it took effect, and the fields it
// changed. It names no person and no number.
func (c StatusChange) Cause(fields ...string) string {
	s := fmt.Sprintf("the servicemember's record changed (%s effective %s", c.Kind, c.Effective.Format(time.DateOnly))
	if len(fields) > 0 {
		s += ": " + strings.Join(fields, ", ")
	}
	return s + ")"
}

// Reprioritization is an open case's priority after its household's facts
// changed.
type Reprioritization struct {
	Priority Priority
	Reasons  []Reason
	// Priority rules are the rules the new tier rests on (CasePriority's);
	// Basis is the case's policy basis with them in place of the old ones
	// and STATUS_CHANGE_REEVALUATES_PRIORITY, which re-evaluated it, among
	// the rules of its procedure.
	PriorityRules []RuleID
	Basis         []RuleID
	// Why is the case's history entry's reason: the old and new tier, the
	// new reasons, the cause and the rule.
	Why string
}

// OpenCase is what re-evaluating a case's priority reads of it.
type OpenCase struct {
	Kind     Kind
	Status   Status
	Priority Priority
	Reasons  []Reason
	Basis    []RuleID
	Clocks   Clocks
}

// ReevaluatePriority applies rule STATUS_CHANGE_REEVALUATES_PRIORITY: when
// a household's status, post, disability, honours or hardship change, each
// of its open cases takes the priority the household now has
// (CasePriority). ok is false for a case that is not open, whose record of
// what was decided stands, and for one whose priority and reasons are
// already the household's. cause is StatusChange.Cause's.
func ReevaluatePriority(c OpenCase, after Household, cause string) (Reprioritization, bool) {
	if !c.Status.Open() {
		return Reprioritization{}, false
	}
	p, rs, rules := CasePriority(c.Kind, after)
	if p == c.Priority && slices.Equal(rs, c.Reasons) {
		return Reprioritization{}, false
	}
	priority := c.Priority
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = string(r)
	}
	because := "none"
	if len(names) > 0 {
		because = strings.Join(names, ", ")
	}
	decided := append(DecidedRules(c.Basis), RuleStatusChangeReprio)
	return Reprioritization{
		Priority: p, Reasons: rs, PriorityRules: rules, Basis: PolicyBasis(decided, rules, c.Clocks),
		Why: fmt.Sprintf("priority %s → %s (reasons: %s): %s; rule %s",
			tierName(priority), tierName(p), because, cause, RuleStatusChangeReprio),
	}, true
}

// tierName spells a tier as the API's CasePriority does, without its prefix.
func tierName(p Priority) string {
	switch p {
	case PriorityFirst:
		return "FIRST"
	case PrioritySecond:
		return "SECOND"
	case PriorityNormal:
		return "NORMAL"
	}
	return fmt.Sprintf("tier %d", int(p))
}
