package convert

import (
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// Partner agencies, referrals and alerts.

var (
	referralStates = enum[domain.ReferralState, pb.ReferralState]{prefix: "REFERRAL_STATE_"}
	alertKinds     = enum[domain.AlertKind, pb.AlertKind]{prefix: "ALERT_KIND_"}
)

// AgencyToProto renders an agency.
func AgencyToProto(a *repository.Agency) *pb.Agency {
	out := &pb.Agency{
		Name:        names.Agency{ID: a.ID}.String(),
		DisplayName: a.DisplayName,
		Active:      a.Active,
		Etag:        repository.Etag(a.Revision),
		CreateTime:  timestamp(a.CreateTime),
		UpdateTime:  timestamp(a.UpdateTime),
	}
	for _, k := range a.CaseTypes {
		out.CaseTypes = append(out.CaseTypes, kinds.toProto(k))
	}
	return out
}

// AgencyFromProto copies an agency's writable fields onto a.
func AgencyFromProto(p *pb.Agency, a *repository.Agency) {
	a.DisplayName, a.Active = p.GetDisplayName(), p.GetActive()
	a.CaseTypes = nil
	for _, k := range p.GetCaseTypes() {
		a.CaseTypes = append(a.CaseTypes, kinds.fromProto(k))
	}
}

// ReferralToProto renders a referral, its state as of now.
func ReferralToProto(r *repository.Referral, now time.Time) *pb.Referral {
	return &pb.Referral{
		Name:            names.Referral{CaseID: r.CaseID, ID: r.ID}.String(),
		Agency:          names.Agency{ID: r.AgencyID}.String(),
		SentDate:        dateOfText(r.SentDate),
		Request:         r.Request,
		AgencyReference: r.AgencyReference,
		Reply:           r.Reply,
		ReplyDate:       optDateOfText(r.ReplyDate),
		FollowUpDueDate: dateOfText(r.FollowUpDueDate),
		State:           referralStates.toProto(r.Dates().State(r.DeleteTime != nil, now)),
		Creator:         r.Creator,
		Etag:            repository.Etag(r.Revision),
		CreateTime:      timestamp(r.CreateTime),
		UpdateTime:      timestamp(r.UpdateTime),
		DeleteTime:      optTimestamp(r.DeleteTime),
	}
}

// ReferralFromProto copies a referral's writable fields onto r, refusing
// dates that are not dates and an agency that is not an agency's name
// (field names the referral in the request).
func ReferralFromProto(field string, p *pb.Referral, r *repository.Referral) error {
	agency, err := names.As[names.Agency](p.GetAgency())
	if err != nil {
		return domain.Invalid(field+".agency", "must be a resource name of the form %s", agency.Collection())
	}
	sent, err := LedgerDate(field+".sent_date", p.GetSentDate())
	if err != nil {
		return err
	}
	due, err := LedgerDate(field+".follow_up_due_date", p.GetFollowUpDueDate())
	if err != nil {
		return err
	}
	r.ReplyDate = nil
	if p.GetReplyDate() != nil {
		reply, err := LedgerDate(field+".reply_date", p.GetReplyDate())
		if err != nil {
			return err
		}
		r.ReplyDate = &reply
	}
	r.AgencyID, r.SentDate, r.FollowUpDueDate = agency.ID, sent, due
	r.Request, r.AgencyReference, r.Reply = p.GetRequest(), p.GetAgencyReference(), p.GetReply()
	return nil
}

// AlertToProto renders an alert.
func AlertToProto(a *repository.Alert) *pb.Alert {
	out := &pb.Alert{
		Name:            names.Alert{ID: a.ID}.String(),
		Kind:            alertKinds.toProto(a.Kind),
		Case:            names.Case{ID: a.CaseID}.String(),
		DueTime:         timestamp(a.DueTime),
		Assignee:        a.Assignee,
		TownCode:        a.TownCode,
		RaiseTime:       timestamp(a.RaiseTime),
		AcknowledgedBy:  a.AcknowledgedBy,
		AcknowledgeTime: optTimestamp(a.AcknowledgeTime),
		Etag:            repository.Etag(a.Revision),
		Policy:          string(a.Kind.Rule()),
	}
	if a.ReferralID != "" {
		out.Referral = names.Referral{CaseID: a.CaseID, ID: a.ReferralID}.String()
	}
	return out
}
