package convert

import (
	"time"

	"google.golang.org/genproto/googleapis/type/date"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

var (
	measureKinds    = enum[domain.MeasureKind, pb.MeasureKind]{prefix: "MEASURE_KIND_"}
	measureStates   = enum[domain.MeasureState, pb.MeasureState]{prefix: "MEASURE_STATE_"}
	complaintStates = enum[domain.ComplaintState, pb.ComplaintState]{prefix: "COMPLAINT_STATE_"}
)

// MeasureKindOf is the stored kind an API kind names.
func MeasureKindOf(p pb.MeasureKind) domain.MeasureKind { return measureKinds.fromProto(p) }

// MeasureKindToProto is the API's kind for a stored one.
func MeasureKindToProto(k domain.MeasureKind) pb.MeasureKind { return measureKinds.toProto(k) }

func optDate(t *time.Time) *date.Date {
	if t == nil {
		return nil
	}
	return DateOf(*t)
}

// OrganizationToProto renders an organization in full (the contact phone
// unmasked: masking is the caller's), its expiry judged at now.
func OrganizationToProto(o *repository.Organization, now time.Time) *pb.Organization {
	return &pb.Organization{
		Name:                names.Organization{ID: o.ID}.String(),
		DisplayName:         o.DisplayName,
		CreditCode:          o.CreditCode,
		ContactName:         o.ContactName,
		ContactPhone:        o.ContactPhone,
		AgreementSignDate:   DateOf(o.AgreementSignDate),
		AgreementExpiryDate: DateOf(o.AgreementExpiryDate),
		Etag:                repository.Etag(o.Revision),
		CreateTime:          timestamp(o.CreateTime),
		UpdateTime:          timestamp(o.UpdateTime),
		AgreementExpired:    domain.AgreementExpired(o.AgreementExpiryDate, now),
	}
}

// OrganizationFromProto copies an organization's writable fields onto a
// row; the dates must have been checked whole (TimeOfDate).
func OrganizationFromProto(p *pb.Organization, o *repository.Organization) error {
	signed, err := TimeOfDate("organization.agreement_sign_date", p.GetAgreementSignDate())
	if err != nil {
		return err
	}
	expiry, err := TimeOfDate("organization.agreement_expiry_date", p.GetAgreementExpiryDate())
	if err != nil {
		return err
	}
	o.DisplayName, o.CreditCode = p.GetDisplayName(), p.GetCreditCode()
	o.ContactName, o.ContactPhone = p.GetContactName(), p.GetContactPhone()
	o.AgreementSignDate, o.AgreementExpiryDate = signed, expiry
	return nil
}

// MeasureToProto renders a measure in its effective state; reviewPeriod
// and now decide review_overdue.
func MeasureToProto(m *repository.Measure, reviewPeriod time.Duration, now time.Time) *pb.Measure {
	state := m.EffectiveState
	if state == "" {
		state = m.State
	}
	reason := m.StateReason
	if state != m.State {
		reason = "the organization's agreement expired"
	}
	out := &pb.Measure{
		Name:           names.Measure{OrganizationID: m.OrganizationID, ID: m.ID}.String(),
		Title:          m.Title,
		Description:    m.Description,
		Kind:           measureKinds.toProto(m.Kind),
		State:          measureStates.toProto(state),
		TownCodes:      append([]string(nil), m.TownCodes...),
		ValidFrom:      optDate(m.ValidFrom),
		ValidUntil:     optDate(m.ValidUntil),
		StateReason:    reason,
		LastReviewDate: optDate(m.LastReviewDate),
		ReviewOverdue:  domain.ReviewOverdue(state, m.CreateTime, m.LastReviewDate, reviewPeriod, now),
		Etag:           repository.Etag(m.Revision),
		CreateTime:     timestamp(m.CreateTime),
		UpdateTime:     timestamp(m.UpdateTime),
	}
	for _, c := range m.BeneficiaryCategories {
		out.BeneficiaryCategories = append(out.BeneficiaryCategories, categories.toProto(c))
	}
	return out
}

// MeasureFromProto copies a measure's writable fields onto a row.
func MeasureFromProto(p *pb.Measure, m *repository.Measure) error {
	var from, until *time.Time
	if p.GetValidFrom() != nil {
		t, err := TimeOfDate("measure.valid_from", p.GetValidFrom())
		if err != nil {
			return err
		}
		from = &t
	}
	if p.GetValidUntil() != nil {
		t, err := TimeOfDate("measure.valid_until", p.GetValidUntil())
		if err != nil {
			return err
		}
		until = &t
	}
	m.Title, m.Description, m.Kind = p.GetTitle(), p.GetDescription(), measureKinds.fromProto(p.GetKind())
	m.BeneficiaryCategories = nil
	for _, c := range p.GetBeneficiaryCategories() {
		m.BeneficiaryCategories = append(m.BeneficiaryCategories, categories.fromProto(c))
	}
	m.TownCodes = append(repository.List[string](nil), p.GetTownCodes()...)
	m.ValidFrom, m.ValidUntil = from, until
	return nil
}

// MeasureHistoryToProto renders one change of a measure's state.
func MeasureHistoryToProto(h *repository.MeasureHistory) *pb.MeasureHistoryEntry {
	return &pb.MeasureHistoryEntry{Time: timestamp(h.Time), Actor: h.Actor, Method: h.Method,
		FromState: measureStates.toProto(h.FromState), ToState: measureStates.toProto(h.ToState), Reason: h.Reason}
}

// MeasureReviewToProto renders a review.
func MeasureReviewToProto(r *repository.MeasureReview) *pb.MeasureReview {
	return &pb.MeasureReview{
		Name:       names.MeasureReview{OrganizationID: r.OrganizationID, MeasureID: r.MeasureID, ID: r.ID}.String(),
		ReviewDate: DateOf(r.ReviewDate), Reviewer: r.Reviewer, Honoured: r.Honoured, Findings: r.Findings,
		CreateTime: timestamp(r.CreateTime),
	}
}

// ComplaintToProto renders a complaint in full (masking is the caller's).
func ComplaintToProto(c *repository.Complaint) *pb.Complaint {
	return &pb.Complaint{
		Name:             names.Complaint{OrganizationID: c.OrganizationID, MeasureID: c.MeasureID, ID: c.ID}.String(),
		ComplainantName:  c.ComplainantName,
		ComplainantPhone: c.ComplainantPhone,
		Description:      c.Description,
		State:            complaintStates.toProto(c.State),
		Resolution:       c.Resolution,
		MeasureSuspended: c.MeasureSuspended,
		Etag:             repository.Etag(c.Revision),
		CreateTime:       timestamp(c.CreateTime),
		UpdateTime:       timestamp(c.UpdateTime),
	}
}

// ComplaintFromProto copies a complaint's writable fields onto a row.
func ComplaintFromProto(p *pb.Complaint, c *repository.Complaint) {
	c.ComplainantName, c.ComplainantPhone, c.Description = p.GetComplainantName(), p.GetComplainantPhone(), p.GetDescription()
}
