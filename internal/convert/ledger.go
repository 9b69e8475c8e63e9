package convert

import (
	"time"

	"google.golang.org/genproto/googleapis/type/date"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// The household ledger's messages and rows.

var (
	channels        = enum[domain.ContactChannel, pb.ContactChannel]{prefix: "CONTACT_CHANNEL_"}
	assistanceKinds = enum[domain.AssistanceKind, pb.AssistanceKind]{prefix: "ASSISTANCE_KIND_"}
)

// LedgerDate is a google.type.Date as the ledger stores it (YYYY-MM-DD),
// refusing dates that are partial or not on the calendar.
func LedgerDate(field string, d *date.Date) (string, error) {
	t, err := TimeOfDate(field, d)
	if err != nil {
		return "", err
	}
	return t.Format(domain.DateLayout), nil
}

// dateOfText renders a stored YYYY-MM-DD date; nil for none.
func dateOfText(s string) *date.Date {
	t, err := time.Parse(domain.DateLayout, s)
	if s == "" || err != nil {
		return nil
	}
	return DateOf(t)
}

func optDateOfText(s *string) *date.Date {
	if s == nil {
		return nil
	}
	return dateOfText(*s)
}

// ContactToProto renders a contact.
func ContactToProto(c *repository.Contact) *pb.Contact {
	out := &pb.Contact{
		Name:        names.Contact{HouseholdID: c.HouseholdID, ID: c.ID}.String(),
		ContactDate: dateOfText(c.ContactDate),
		Channel:     channels.toProto(c.Channel),
		RecordedBy:  c.RecordedBy,
		Raised:      c.Raised,
		Etag:        repository.Etag(c.Revision),
		CreateTime:  timestamp(c.CreateTime),
		UpdateTime:  timestamp(c.UpdateTime),
	}
	for _, f := range c.FollowUps.V {
		out.FollowUps = append(out.FollowUps, &pb.FollowUp{Text: f.Text, DueDate: dateOfText(f.Due), OpenedCase: f.Case})
	}
	return out
}

// ContactFromProto copies a contact's writable fields onto c, refusing a
// date that is not one (field names the contact in the request).
func ContactFromProto(field string, p *pb.Contact, c *repository.Contact) error {
	d, err := LedgerDate(field+".contact_date", p.GetContactDate())
	if err != nil {
		return err
	}
	c.ContactDate = d
	c.Channel = channels.fromProto(p.GetChannel())
	c.Raised = p.GetRaised()
	c.FollowUps.V = nil
	for _, f := range p.GetFollowUps() {
		// opened_case is the server's; a handler clears what a client sent.
		fu := domain.FollowUp{Text: f.GetText(), Case: f.GetOpenedCase()}
		if f.GetDueDate() != nil {
			if fu.Due, err = LedgerDate(field+".follow_ups.due_date", f.GetDueDate()); err != nil {
				return err
			}
		}
		c.FollowUps.V = append(c.FollowUps.V, fu)
	}
	return nil
}

// AssistanceToProto renders hardship assistance.
func AssistanceToProto(a *repository.Assistance) *pb.Assistance {
	return &pb.Assistance{
		Name:           names.Assistance{HouseholdID: a.HouseholdID, ID: a.ID}.String(),
		Kind:           assistanceKinds.toProto(a.Kind),
		AmountFen:      a.AmountFen,
		AssistanceDate: dateOfText(a.AssistanceDate),
		SourceOfFunds:  a.SourceOfFunds,
		Approver:       a.Approver,
		Note:           a.Note,
		RecordedBy:     a.RecordedBy,
		CreateTime:     timestamp(a.CreateTime),
	}
}

// AssistanceFromProto copies assistance's writable fields onto a.
func AssistanceFromProto(field string, p *pb.Assistance, a *repository.Assistance) error {
	d, err := LedgerDate(field+".assistance_date", p.GetAssistanceDate())
	if err != nil {
		return err
	}
	a.AssistanceDate = d
	a.Kind = assistanceKinds.fromProto(p.GetKind())
	a.AmountFen = p.GetAmountFen()
	a.SourceOfFunds = p.GetSourceOfFunds()
	a.Approver = p.GetApprover()
	a.Note = p.GetNote()
	return nil
}

// ContactPolicyToProto renders the contact policy.
func ContactPolicyToProto(p *repository.ContactPolicy) *pb.ContactPolicy {
	return &pb.ContactPolicy{
		Name:                      names.ContactPolicy{}.String(),
		BorderMissionIntervalDays: int32(p.BorderMissionIntervalDays),
		HardshipIntervalDays:      int32(p.HardshipIntervalDays),
		Etag:                      repository.Etag(p.Revision),
		UpdateTime:                timestamp(p.UpdateTime),
	}
}

// ContactPolicyFromProto copies the policy's writable fields onto p.
func ContactPolicyFromProto(m *pb.ContactPolicy, p *repository.ContactPolicy) {
	p.BorderMissionIntervalDays = int(m.GetBorderMissionIntervalDays())
	p.HardshipIntervalDays = int(m.GetHardshipIntervalDays())
}

// LedgerCaseToProto renders a case as the ledger lists it.
func LedgerCaseToProto(c *repository.Case) *pb.LedgerCase {
	return &pb.LedgerCase{
		Name:       names.Case{ID: c.ID}.String(),
		CaseNumber: c.CaseNumber,
		CaseType:   kinds.toProto(c.Kind),
		Status:     statuses.toProto(c.Status),
		Subject:    names.Member{HouseholdID: c.HouseholdID, ID: c.SubjectID}.String(),
		CreateTime: timestamp(c.CreateTime),
	}
}
