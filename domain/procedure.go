package domain

import (
	"fmt"
	"slices"
	"time"
)

// The procedure rules: what each step of a case must carry and what it
// keeps, so that the record stays true (reason codes, the outcome history,
// eligibility decisions, materials, objections, termination).

// WithdrawalReason is why a case was withdrawn.
type WithdrawalReason string

// The reasons, stored as-is.
const (
	WithdrawApplicantRequest     WithdrawalReason = "APPLICANT_REQUEST"
	WithdrawMaterialsNotSupplied WithdrawalReason = "MATERIALS_NOT_SUPPLIED"
	WithdrawMovedAway            WithdrawalReason = "MOVED_AWAY"
	WithdrawOther                WithdrawalReason = "OTHER"
)

// WithdrawalReasons lists every reason.
func WithdrawalReasons() []WithdrawalReason {
	return []WithdrawalReason{WithdrawApplicantRequest, WithdrawMaterialsNotSupplied, WithdrawMovedAway, WithdrawOther}
}

// CheckWithdrawal holds a withdrawal to its reason (WITHDRAWAL_REASON): a
// known code, and for OTHER the reason in words.
func CheckWithdrawal(code WithdrawalReason, text string) error {
	if !slices.Contains(WithdrawalReasons(), code) {
		return Refuse(RuleWithdrawalReason, "reason_code", "a withdrawal needs its reason code")
	}
	if code == WithdrawOther && text == "" {
		return Refuse(RuleWithdrawalReason, "reason", "a withdrawal for another reason says what it is")
	}
	return nil
}

// RejectionReason is why a case was rejected.
type RejectionReason string

// The reasons, stored as-is.
const (
	RejectNotEligible    RejectionReason = "NOT_ELIGIBLE"
	RejectOutOfScope     RejectionReason = "OUT_OF_SCOPE"
	RejectDuplicate      RejectionReason = "DUPLICATE"
	RejectFalseMaterials RejectionReason = "FALSE_MATERIALS"
	RejectOther          RejectionReason = "OTHER"
)

// RejectionReasons lists every reason.
func RejectionReasons() []RejectionReason {
	return []RejectionReason{RejectNotEligible, RejectOutOfScope, RejectDuplicate, RejectFalseMaterials, RejectOther}
}

// CheckReject holds a rejection to its reason code: optional for an
// application not yet accepted, required once the county has accepted the
// case (REJECT_AFTER_ACCEPT_REASON).
func CheckReject(from Status, code RejectionReason) error {
	if code != "" && !slices.Contains(RejectionReasons(), code) {
		return Invalid("reason_code", "%q is not a rejection reason", string(code))
	}
	if from == StatusAccepted && code == "" {
		return &PreconditionError{Type: "REASON_CODE_REQUIRED", Rule: RuleRejectAfterAccept,
			Description: fmt.Sprintf("rejecting an accepted case needs a reason code (%s)", RuleRejectAfterAccept)}
	}
	return nil
}

// TerminationGround is a ground of 法律援助法 Art 48.
type TerminationGround string

// The grounds, stored as-is.
const (
	TerminateNoLongerEligible TerminationGround = "NO_LONGER_ELIGIBLE"
	TerminateMatterEnded      TerminationGround = "MATTER_ENDED"
	TerminateOwnLawyer        TerminationGround = "OWN_LAWYER"
	TerminateAtRequest        TerminationGround = "AT_REQUEST"
	TerminateUnlawfulUse      TerminationGround = "UNLAWFUL_USE"
	TerminateConcealment      TerminationGround = "CONCEALMENT"
	TerminateOtherStatutory   TerminationGround = "OTHER_STATUTORY"
)

// TerminationGrounds lists every ground.
func TerminationGrounds() []TerminationGround {
	return []TerminationGround{TerminateNoLongerEligible, TerminateMatterEnded, TerminateOwnLawyer, TerminateAtRequest,
		TerminateUnlawfulUse, TerminateConcealment, TerminateOtherStatutory}
}

// CheckTermination holds a termination to the grounds the law lists
// (LEGAL_AID_TERMINATION).
func CheckTermination(g TerminationGround) error {
	if !slices.Contains(TerminationGrounds(), g) {
		return Refuse(RuleLegalAidTermination, "ground", "legal aid ends only on a ground of 法律援助法 Art 48")
	}
	return nil
}

// ObjectionResult is what was decided on an objection.
type ObjectionResult string

// The results, stored as-is.
const (
	ObjectionUpheld            ObjectionResult = "UPHELD"
	ObjectionCorrectionOrdered ObjectionResult = "CORRECTION_ORDERED"
)

// ObjectionResults lists every result.
func ObjectionResults() []ObjectionResult {
	return []ObjectionResult{ObjectionUpheld, ObjectionCorrectionOrdered}
}

// Objection is an objection to a refused or terminated legal-aid
// application (法律援助法 Art 49). The JSON names are how the store keeps it.
type Objection struct {
	FileTime   time.Time       `json:"file_time"`
	Note       string          `json:"note,omitempty"`
	Result     ObjectionResult `json:"result,omitempty"`
	DecideTime *time.Time      `json:"decide_time,omitempty"`
}

// Pending reports whether the objection waits for its decision.
func (o *Objection) Pending() bool { return o != nil && o.Result == "" }

// FileObjection records an objection filed at t and starts its 5-day
// clock (LEGAL_AID_OBJECTION_5D). One objection waits at a time.
func (d Deadlines) FileObjection(prev *Objection, clocks Clocks, note string, t time.Time) (*Objection, Clocks, error) {
	if prev.Pending() {
		return nil, nil, &PreconditionError{Type: "OBJECTION_PENDING", Rule: RuleLegalAidObjection,
			Description: fmt.Sprintf("an objection filed on %s waits for its decision (%s)", prev.FileTime.In(ChinaTime).Format(time.DateOnly), RuleLegalAidObjection)}
	}
	return &Objection{FileTime: t.UTC(), Note: note}, clocks.Set(d.Objection(t)), nil
}

// DecideObjection records the decision on the pending objection at t,
// stopping its clock, and returns the action the decision takes: a
// correction brings the case back (ActionCorrect), upholding leaves it
// (ActionUpholdObjection).
func DecideObjection(o *Objection, clocks Clocks, result ObjectionResult, t time.Time) (*Objection, Clocks, Action, error) {
	if !o.Pending() {
		return nil, nil, "", &PreconditionError{Type: "NO_PENDING_OBJECTION", Rule: RuleLegalAidObjection,
			Description: fmt.Sprintf("the case has no objection waiting for a decision (%s)", RuleLegalAidObjection)}
	}
	if !slices.Contains(ObjectionResults(), result) {
		return nil, nil, "", Invalid("result", "an objection is upheld or a correction ordered")
	}
	decided := *o
	decided.Result = result
	at := t.UTC()
	decided.DecideTime = &at
	action := ActionUpholdObjection
	if result == ObjectionCorrectionOrdered {
		action = ActionCorrect
	}
	return &decided, clocks.Stop(ClockObjection, t), action, nil
}

// OutcomeRecord is an outcome given once and set aside by a reopening. The
// JSON names are how the store keeps it.
type OutcomeRecord struct {
	Result       Result    `json:"result"`
	Summary      string    `json:"summary"`
	ResolveTime  time.Time `json:"resolve_time"`
	ReopenTime   time.Time `json:"reopen_time"`
	ReopenReason string    `json:"reopen_reason"`
}

// SetAside keeps the outcome a reopening sets aside at t for reason: it is
// appended to the history, never erased, so figures reported for the period
// it was given in stay as they were (REOPEN_KEEPS_OUTCOME), which it
// returns for the case's policy basis. A case with no outcome adds nothing.
func SetAside(history []OutcomeRecord, result Result, summary string, resolved *time.Time, t time.Time, reason string) ([]OutcomeRecord, []RuleID) {
	if result == "" {
		return history, nil
	}
	rec := OutcomeRecord{Result: result, Summary: summary, ReopenTime: t.UTC(), ReopenReason: reason}
	if resolved != nil {
		rec.ResolveTime = resolved.UTC()
	}
	return append(slices.Clone(history), rec), []RuleID{RuleReopenKeepsOutcome}
}

// EligibilityDecision is a supervisor's decision on eligibility. The JSON
// names are how the store keeps it.
type EligibilityDecision struct {
	Eligible   bool      `json:"eligible"`
	Rule       RuleID    `json:"policy"`
	Note       string    `json:"note,omitempty"`
	Decider    string    `json:"decider"`
	DecideTime time.Time `json:"decide_time"`
	// PlacementYear is the year an employment placement counts in: the
	// year (China time) it was decided.
	PlacementYear int `json:"placement_year,omitempty"`
}

// DecideEligibility records a decision on eligibility by decider at t,
// resting on rule, which must be an eligibility rule of the table. A
// placement counts in the year it is decided (PLACEMENT_ELIGIBILITY_DECIDED).
func DecideEligibility(k Kind, rule RuleID, eligible bool, note, decider string, t time.Time) (*EligibilityDecision, error) {
	r, ok := RuleByID(rule)
	if !ok || r.Kind != KindEligibility {
		return nil, Invalid("policy", "%q is not an eligibility rule of the table (GET /v1/policies)", string(rule))
	}
	d := &EligibilityDecision{Eligible: eligible, Rule: rule, Note: note, Decider: decider, DecideTime: t.UTC()}
	if k == KindEmploymentPlacement {
		d.PlacementYear = t.In(ChinaTime).Year()
	}
	return d, nil
}

// CheckPlacementDecided holds back an employment placement resolved as
// (partially) achieved until a supervisor has decided it eligible
// (PLACEMENT_ELIGIBILITY_DECIDED): a placement counts only once its
// eligibility is settled.
func CheckPlacementDecided(k Kind, achieved bool, d *EligibilityDecision) error {
	if k != KindEmploymentPlacement || !achieved || (d != nil && d.Eligible) {
		return nil
	}
	return &PreconditionError{Type: "ELIGIBILITY_NOT_DECIDED", Rule: RulePlacementDecision,
		Description: fmt.Sprintf("a placement is resolved as achieved only after a supervisor decides it eligible (%s)", RulePlacementDecision)}
}

// RequestMaterials asks, once, for what an application lacks: the decision
// clock is paused and the applicant's clock runs to the end of lastDay
// (LEGAL_AID_MATERIALS_ONCE). asked reports whether materials were asked
// for before.
func RequestMaterials(clocks Clocks, asked bool, lastDay, now time.Time) (Clocks, error) {
	if asked {
		return nil, &PreconditionError{Type: "MATERIALS_ALREADY_REQUESTED", Rule: RuleLegalAidMaterials,
			Description: fmt.Sprintf("missing materials are listed once, all together (%s)", RuleLegalAidMaterials)}
	}
	if err := CheckMaterialsDue(lastDay, now); err != nil {
		return nil, err
	}
	return clocks.Pause(ClockDecision, now).Set(Materials(now, lastDay)), nil
}

// SupplyMaterials records the materials received at t: the application is
// complete, and the 7-day decision clock starts again from receipt
// (LEGAL_AID_DECISION_7D). Materials after their last day come too late:
// the application counts as withdrawn (LEGAL_AID_MATERIALS_WITHDRAWN).
func (d Deadlines) SupplyMaterials(clocks Clocks, t time.Time) (Clocks, error) {
	if MaterialsLapsed(clocks, t) {
		return nil, &PreconditionError{Type: "MATERIALS_OVERDUE", Rule: RuleMaterialsWithdrawn,
			Description: fmt.Sprintf("the last day to supply the materials has passed; the application counts as withdrawn (%s)", RuleMaterialsWithdrawn)}
	}
	return clocks.Stop(ClockMaterials, t).Set(d.Decision(t)), nil
}

// MaterialsLapsed reports whether the applicant's clock ran out before t
// without the materials.
func MaterialsLapsed(clocks Clocks, t time.Time) bool {
	c, ok := clocks.Get(ClockMaterials)
	return ok && c.State == ClockRunning && !t.Before(c.Due)
}

// LapseMaterials is the withdrawal the law presumes when the materials did
// not come by their last day (LEGAL_AID_MATERIALS_WITHDRAWN): every clock
// stops at t, the applicant's as missed.
func LapseMaterials(clocks Clocks, t time.Time) Clocks {
	return clocks.StopAll(t)
}

// CheckUrgentStart lets an urgent legal-aid matter start before the
// decision (LEGAL_AID_URGENT_FIRST): only when it is urgent, and only with
// someone responsible for it.
func CheckUrgentStart(urgent bool, assignee string) error {
	if !urgent {
		return &PreconditionError{Type: "NOT_URGENT", Rule: RuleLegalAidUrgent,
			Description: fmt.Sprintf("a legal-aid case starts before its decision only when a limitation period ends in under 7 days (%s)", RuleLegalAidUrgent)}
	}
	return CheckStart(assignee)
}
