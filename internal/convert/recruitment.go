package convert

import (
	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// RecruitmentEventToProto renders a recruitment event.
func RecruitmentEventToProto(e *repository.RecruitmentEvent) *pb.RecruitmentEvent {
	p := &pb.RecruitmentEvent{
		Name:       names.RecruitmentEvent{ID: e.ID}.String(),
		Title:      e.Title,
		EventDate:  DateOf(e.EventDate),
		Place:      e.Place,
		Organiser:  e.Organiser,
		TownCodes:  []string(e.TownCodes),
		Etag:       repository.Etag(e.Revision),
		Creator:    e.Creator,
		CreateTime: timestamp(e.CreateTime),
		UpdateTime: timestamp(e.UpdateTime),
	}
	for _, em := range e.Employers.V {
		pe := &pb.RecruitmentEmployer{Employer: em.Employer}
		for _, pos := range em.Positions {
			pe.Positions = append(pe.Positions, &pb.RecruitmentPosition{
				Id: pos.ID, Title: pos.Title, Places: int32(pos.Places), Requirements: pos.Requirements, //nolint:gosec // at most 10000, checked on the way in
			})
		}
		p.Employers = append(p.Employers, pe)
	}
	return p
}

// RecruitmentEventFromProto copies the writable fields of p onto e.
func RecruitmentEventFromProto(p *pb.RecruitmentEvent, e *repository.RecruitmentEvent) error {
	d, err := TimeOfDate("recruitment_event.event_date", p.GetEventDate())
	if err != nil {
		return err
	}
	e.Title, e.EventDate, e.Place, e.Organiser = p.GetTitle(), d, p.GetPlace(), p.GetOrganiser()
	e.TownCodes = repository.List[string](p.GetTownCodes())
	var employers []domain.RecruitmentEmployer
	for _, pe := range p.GetEmployers() {
		em := domain.RecruitmentEmployer{Employer: pe.GetEmployer()}
		for _, pos := range pe.GetPositions() {
			em.Positions = append(em.Positions, domain.RecruitmentPosition{
				ID: pos.GetId(), Title: pos.GetTitle(), Places: int(pos.GetPlaces()), Requirements: pos.GetRequirements(),
			})
		}
		employers = append(employers, em)
	}
	e.Employers = repository.JSON[[]domain.RecruitmentEmployer]{V: employers}
	return domain.CheckRecruitmentEmployers("recruitment_event.employers", employers)
}

// InvitationToProto renders an invitation.
func InvitationToProto(i *repository.Invitation) *pb.Invitation {
	return &pb.Invitation{
		Name:       names.Invitation{EventID: i.EventID, ID: i.ID}.String(),
		Case:       names.Case{ID: i.CaseID}.String(),
		Subject:    names.Member{HouseholdID: i.HouseholdID, ID: i.SubjectID}.String(),
		TownCode:   i.TownCode,
		Inviter:    i.Inviter,
		CreateTime: timestamp(i.CreateTime),
	}
}

var applicationStatuses = enum[domain.ApplicationStatus, pb.ApplicationStatus]{prefix: "APPLICATION_STATUS_"}

// ApplicationToProto renders an application.
func ApplicationToProto(a *repository.Application) *pb.Application {
	p := &pb.Application{
		Name:       names.Application{EventID: a.EventID, ID: a.ID}.String(),
		Invitation: names.Invitation{EventID: a.EventID, ID: a.InvitationID}.String(),
		PositionId: a.PositionID,
		Status:     applicationStatuses.toProto(a.Status),
		Case:       names.Case{ID: a.CaseID}.String(),
		TownCode:   a.TownCode,
		Etag:       repository.Etag(a.Revision),
		CreateTime: timestamp(a.CreateTime),
		UpdateTime: timestamp(a.UpdateTime),
	}
	if a.PlacementDate != nil {
		p.PlacementDate = DateOf(*a.PlacementDate)
	}
	return p
}
