package service

import (
	"context"
	"math"
	"time"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// RecruitmentStore is what the recruitment service needs from storage.
type RecruitmentStore interface {
	CreateRecruitmentEvent(ctx context.Context, e *repository.RecruitmentEvent) error
	GetRecruitmentEvent(ctx context.Context, id string) (*repository.RecruitmentEvent, error)
	ListRecruitmentEvents(ctx context.Context, q repository.RecruitmentEventQuery) ([]repository.RecruitmentEvent, *repository.Cursor, error)
	UpdateRecruitmentEvent(ctx context.Context, id, etag string, fn func(ctx context.Context, e *repository.RecruitmentEvent) error) (*repository.RecruitmentEvent, error)
	InviteToRecruitmentEvent(ctx context.Context, eventID, inviter string) ([]repository.Invitation, error)
	ListInvitations(ctx context.Context, eventID string, page repository.Page) ([]repository.Invitation, *repository.Cursor, error)
	CreateApplication(ctx context.Context, a *repository.Application) error
	GetApplication(ctx context.Context, eventID, id string) (*repository.Application, error)
	ListApplications(ctx context.Context, eventID string, page repository.Page) ([]repository.Application, *repository.Cursor, error)
	MutateApplication(ctx context.Context, eventID, id, etag string, fn func(ctx context.Context, e *repository.RecruitmentEvent, a *repository.Application) error) (*repository.Application, error)
	RecruitmentFigures(ctx context.Context, eventID string) (*repository.RecruitmentFigures, error)
	PositionTaken(ctx context.Context, eventID, positionID, except string) (*repository.RecruitmentEvent, int, error)
}

// placementRecorder records a placement on an employment-placement case the
// way a caseworker's update does (*Cases).
type placementRecorder interface {
	RecordPlacement(ctx context.Context, caseID string, p *pb.EmploymentPlacement, method string) (*repository.Case, error)
}

// Recruitment implements pb.RecruitmentServiceServer.
type Recruitment struct {
	pb.UnimplementedRecruitmentServiceServer
	base
	store RecruitmentStore
	cases placementRecorder
	towns *towns.Table
}

// NewRecruitment builds the recruitment service; cases records the
// placements accepted offers make.
func NewRecruitment(store RecruitmentStore, cases placementRecorder, t *towns.Table, v protovalidate.Validator, o Options) *Recruitment {
	return &Recruitment{base: newBase(v, o), store: store, cases: cases, towns: t}
}

var recruitmentEventUpdatable = updatable{
	"title": true, "event_date": true, "place": true, "organiser": true, "town_codes": true, "employers": true,
}

func eventID(field, name string) (string, error) {
	n, err := nameOf[names.RecruitmentEvent](field, name)
	return n.ID, err
}

// checkTowns refuses town codes that are not the county's.
func (s *Recruitment) checkTowns(field string, codes []string) error {
	for i, c := range codes {
		if s.towns != nil && !s.towns.Contains(c) {
			return domain.Invalid(field, "item %d is not a town of the county", i)
		}
	}
	return nil
}

func (s *Recruitment) CreateRecruitmentEvent(ctx context.Context, req *pb.CreateRecruitmentEventRequest) (*pb.RecruitmentEvent, error) {
	p := req.GetRecruitmentEvent()
	if err := s.checkTowns("recruitment_event.town_codes", p.GetTownCodes()); err != nil {
		return nil, err
	}
	e := &repository.RecruitmentEvent{ID: newID(), Creator: s.actor(ctx)}
	if err := convert.RecruitmentEventFromProto(p, e); err != nil {
		return nil, err
	}
	if err := s.store.CreateRecruitmentEvent(ctx, e); err != nil {
		return nil, err
	}
	return convert.RecruitmentEventToProto(e), nil
}

func (s *Recruitment) GetRecruitmentEvent(ctx context.Context, req *pb.GetRecruitmentEventRequest) (*pb.RecruitmentEvent, error) {
	id, err := eventID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	e, err := s.store.GetRecruitmentEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	return convert.RecruitmentEventToProto(e), nil
}

func (s *Recruitment) ListRecruitmentEvents(ctx context.Context, req *pb.ListRecruitmentEventsRequest) (*pb.ListRecruitmentEventsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.RecruitmentEventFilter)
	if err != nil {
		return nil, filterError(err)
	}
	query := listQuery("recruitmentEvents", req.GetFilter())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListRecruitmentEvents(ctx, repository.RecruitmentEventQuery{
		Filter: f, Page: repository.Page{Size: int(req.GetPageSize()), After: after},
	})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListRecruitmentEventsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.RecruitmentEvents = append(resp.RecruitmentEvents, convert.RecruitmentEventToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Recruitment) UpdateRecruitmentEvent(ctx context.Context, req *pb.UpdateRecruitmentEventRequest) (*pb.RecruitmentEvent, error) {
	patch := req.GetRecruitmentEvent()
	n, paths, err := updateOf[names.RecruitmentEvent]("recruitment_event", patch, req.GetUpdateMask(), recruitmentEventUpdatable)
	if err != nil {
		return nil, err
	}
	e, err := s.store.UpdateRecruitmentEvent(ctx, n.ID, patch.GetEtag(), func(_ context.Context, row *repository.RecruitmentEvent) error {
		merged := convert.RecruitmentEventToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		merged.Etag = ""
		if err := s.validate("recruitment_event", merged); err != nil {
			return err
		}
		if err := s.checkTowns("recruitment_event.town_codes", merged.GetTownCodes()); err != nil {
			return err
		}
		return convert.RecruitmentEventFromProto(merged, row)
	})
	if err != nil {
		return nil, err
	}
	return convert.RecruitmentEventToProto(e), nil
}

func (s *Recruitment) InviteRecruitmentEvent(ctx context.Context, req *pb.InviteRecruitmentEventRequest) (*pb.InviteRecruitmentEventResponse, error) {
	id, err := eventID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	added, err := s.store.InviteToRecruitmentEvent(ctx, id, s.actor(ctx))
	if err != nil {
		return nil, err
	}
	resp := &pb.InviteRecruitmentEventResponse{}
	for i := range added {
		resp.Invitations = append(resp.Invitations, convert.InvitationToProto(&added[i]))
	}
	return resp, nil
}

func (s *Recruitment) ListInvitations(ctx context.Context, req *pb.ListInvitationsRequest) (*pb.ListInvitationsResponse, error) {
	id, err := eventID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("invitations", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListInvitations(ctx, id, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListInvitationsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Invitations = append(resp.Invitations, convert.InvitationToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Recruitment) CreateApplication(ctx context.Context, req *pb.CreateApplicationRequest) (*pb.Application, error) {
	id, err := eventID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	inv, err := nameOf[names.Invitation]("application.invitation", req.GetApplication().GetInvitation())
	if err != nil {
		return nil, err
	}
	if inv.EventID != id {
		return nil, domain.Invalid("application.invitation", "must be an invitation to this event")
	}
	a := &repository.Application{ID: newID(), EventID: id, InvitationID: inv.ID, PositionID: req.GetApplication().GetPositionId()}
	if err := s.store.CreateApplication(ctx, a); err != nil {
		return nil, err
	}
	return convert.ApplicationToProto(a), nil
}

func (s *Recruitment) GetApplication(ctx context.Context, req *pb.GetApplicationRequest) (*pb.Application, error) {
	n, err := nameOf[names.Application]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetApplication(ctx, n.EventID, n.ID)
	if err != nil {
		return nil, err
	}
	return convert.ApplicationToProto(a), nil
}

func (s *Recruitment) ListApplications(ctx context.Context, req *pb.ListApplicationsRequest) (*pb.ListApplicationsResponse, error) {
	id, err := eventID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("applications", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListApplications(ctx, id, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListApplicationsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Applications = append(resp.Applications, convert.ApplicationToProto(&rows[i]))
	}
	return resp, nil
}

// step moves an application by a; then, if given, runs also in the same
// transaction (the placement of an accepted offer).
func (s *Recruitment) step(ctx context.Context, name, etag string, a domain.ApplicationAction,
	also func(ctx context.Context, e *repository.RecruitmentEvent, app *repository.Application) error,
) (*pb.Application, error) {
	n, err := nameOf[names.Application]("name", name)
	if err != nil {
		return nil, err
	}
	app, err := s.store.MutateApplication(ctx, n.EventID, n.ID, etag, func(ctx context.Context, e *repository.RecruitmentEvent, app *repository.Application) error {
		to, err := domain.ApplicationTransition(app.Status, a)
		if err != nil {
			if p, ok := domain.AsPrecondition(err); ok {
				p.Subject = n.String()
			}
			return err
		}
		app.Status = to
		if to != domain.ApplicationDeclined {
			app.Stage = to
		}
		if also != nil {
			return also(ctx, e, app)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return convert.ApplicationToProto(app), nil
}

func (s *Recruitment) InterviewApplication(ctx context.Context, req *pb.InterviewApplicationRequest) (*pb.Application, error) {
	return s.step(ctx, req.GetName(), req.GetEtag(), domain.ApplicationInterview, nil)
}

func (s *Recruitment) OfferApplication(ctx context.Context, req *pb.OfferApplicationRequest) (*pb.Application, error) {
	return s.step(ctx, req.GetName(), req.GetEtag(), domain.ApplicationOffer, nil)
}

func (s *Recruitment) DeclineApplication(ctx context.Context, req *pb.DeclineApplicationRequest) (*pb.Application, error) {
	return s.step(ctx, req.GetName(), req.GetEtag(), domain.ApplicationDecline, nil)
}

// AcceptApplication records, with the accepted offer, the placement on the
// spouse's case through the same change a caseworker's UpdateCase makes.
func (s *Recruitment) AcceptApplication(ctx context.Context, req *pb.AcceptApplicationRequest) (*pb.Application, error) {
	var given *time.Time
	if req.GetPlacementDate() != nil {
		d, err := convert.TimeOfDate("placement_date", req.GetPlacementDate())
		if err != nil {
			return nil, err
		}
		given = &d
	}
	return s.step(ctx, req.GetName(), req.GetEtag(), domain.ApplicationAccept,
		func(ctx context.Context, e *repository.RecruitmentEvent, app *repository.Application) error {
			// The event as it stands under its lock: places are counted
			// against acceptances that committed before this one.
			e, accepted, err := s.store.PositionTaken(ctx, e.ID, app.PositionID, app.ID)
			if err != nil {
				return err
			}
			event := names.RecruitmentEvent{ID: e.ID}.String()
			employer, position, ok := domain.FindPosition(e.Employers.V, app.PositionID)
			if !ok {
				return &domain.PreconditionError{Type: "POSITION_IN_USE", Subject: event,
					Description: "the event no longer offers the application's position"}
			}
			if err := domain.CheckPlaces(event, position, accepted); err != nil {
				return err
			}
			d := domain.PlacementDate(given, s.now())
			app.PlacementDate = &d
			_, err = s.cases.RecordPlacement(ctx, app.CaseID, &pb.EmploymentPlacement{
				Employer:      employer.Employer,
				Position:      position.Title,
				PlacementDate: convert.DateOf(d),
				Channel:       pb.PlacementChannel_PLACEMENT_CHANNEL_TARGETED_RECRUITMENT,
				Route:         pb.PlacementRoute_PLACEMENT_ROUTE_TARGETED_RECRUITMENT,
			}, "AcceptApplication")
			return err
		})
}

func (s *Recruitment) GetRecruitmentFigures(ctx context.Context, req *pb.GetRecruitmentFiguresRequest) (*pb.RecruitmentFigures, error) {
	id, err := eventID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	f, err := s.store.RecruitmentFigures(ctx, id)
	if err != nil {
		return nil, err
	}
	return &pb.RecruitmentFigures{Name: req.GetName(), Invited: count(f.Invited), Registered: count(f.Registered),
		Interviewed: count(f.Interviewed), Offered: count(f.Offered), Placed: count(f.Placed)}, nil
}

// count is a number of spouses as the contract carries it (a JSON number):
// a county has far fewer than 2^31.
func count(n int64) int32 {
	return int32(min(n, math.MaxInt32)) //nolint:gosec // capped on the line itself
}
