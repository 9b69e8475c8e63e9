package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

var recruitmentTests = []test{
	{"InviteOpenPlacementCasesInTheCallersTowns", testInviteOpenPlacementCases},
	{"EventScopeAndYearFilter", testRecruitmentEventScope},
	{"ApplicationsAndFigures", testRecruitmentApplications},
	{"UsedPositionCannotBeRemoved", testRecruitmentPositionInUse},
	{"OnePlacementPerCase", testRecruitmentOnePlacement},
}

// placementCase opens a placement case of status s for a new family of town.
func (e *env) placementCase(town string, s domain.Status) *repository.Case {
	e.t.Helper()
	f := e.newFamily(inTown(town))
	return e.newCase(f, func(c *repository.Case) {
		c.Kind, c.Details, c.Status = domain.KindEmploymentPlacement, `{"placement_year":2026}`, s
	})
}

func (e *env) newRecruitmentEvent(towns ...string) *repository.RecruitmentEvent {
	e.t.Helper()
	ev := &repository.RecruitmentEvent{
		ID: uuid.NewString(), Title: "Test event", EventDate: time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC),
		Place: "Test place", Organiser: "Test organiser", TownCodes: towns, Creator: "users/test",
		Employers: repository.JSON[[]domain.RecruitmentEmployer]{V: []domain.RecruitmentEmployer{
			{Employer: "Test employer", Positions: []domain.RecruitmentPosition{
				{ID: "clerk", Title: "Clerk", Places: 2}, {ID: "nurse", Title: "Nurse", Places: 1}}},
		}},
	}
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateRecruitmentEvent(e.ctx, ev), "CreateRecruitmentEvent")
	return ev
}

func townACtx() context.Context {
	return repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})
}

func testInviteOpenPlacementCases(t *testing.T, e *env) {
	openA := e.placementCase(townA, domain.StatusSubmitted)
	inProgressA := e.placementCase(townA, domain.StatusInProgress)
	e.placementCase(townA, domain.StatusDraft)
	e.placementCase(townA, domain.StatusResolved)
	e.newCase(e.newFamily(), withStatus(domain.StatusSubmitted)) // legal aid
	openB := e.placementCase(townB, domain.StatusAccepted)
	e.placementCase("500230103", domain.StatusSubmitted) // a town the event does not serve
	ev := e.newRecruitmentEvent(townA, townB)

	head := e.eventHead()
	got, err := e.s.InviteToRecruitmentEvent(townACtx(), ev.ID, "users/a")
	must(t, err, "InviteToRecruitmentEvent in town A")
	var ids []string
	for _, i := range got {
		ids = append(ids, i.CaseID)
	}
	sameIDs(t, ids, []string{openA.ID, inProgressA.ID}, "town A's invitations")
	if n := e.eventHead() - head; n != 2 {
		t.Errorf("feed grew by %d events, want 2", n)
	}
	again, err := e.s.InviteToRecruitmentEvent(townACtx(), ev.ID, "users/a")
	must(t, err, "InviteToRecruitmentEvent again")
	if len(again) != 0 {
		t.Errorf("re-inviting added %d invitations, want none", len(again))
	}
	all, err := e.s.InviteToRecruitmentEvent(e.ctx, ev.ID, "users/county")
	must(t, err, "InviteToRecruitmentEvent county-wide")
	if len(all) != 1 || all[0].CaseID != openB.ID {
		t.Errorf("county-wide invite added %v, want only town B's case", all)
	}
	listA, _, err := e.s.ListInvitations(townACtx(), ev.ID, repository.Page{})
	must(t, err, "ListInvitations in town A")
	if len(listA) != 2 {
		t.Errorf("town A sees %d invitations, want 2", len(listA))
	}
}

func testRecruitmentEventScope(t *testing.T, e *env) {
	onlyB := e.newRecruitmentEvent(townB)
	both := e.newRecruitmentEvent(townA, townB)
	_, err := e.s.GetRecruitmentEvent(townACtx(), onlyB.ID)
	wantErr(t, err, repository.ErrNotFound, "town A reading town B's event")
	_, err = e.s.GetRecruitmentEvent(townACtx(), both.ID)
	must(t, err, "town A reading an event serving A and B")
	bad := &repository.RecruitmentEvent{ID: uuid.NewString(), Title: "x", EventDate: time.Now(), TownCodes: []string{townA, townB}}
	wantErr(t, e.s.CreateRecruitmentEvent(townACtx(), bad), repository.ErrOutOfScope, "town A creating an event serving B")
	_, err = e.s.UpdateRecruitmentEvent(townACtx(), both.ID, "", func(context.Context, *repository.RecruitmentEvent) error { return nil })
	wantErr(t, err, repository.ErrOutOfScope, "town A changing an event serving B too")

	rows, _, err := e.s.ListRecruitmentEvents(townACtx(), repository.RecruitmentEventQuery{})
	must(t, err, "ListRecruitmentEvents in town A")
	if len(rows) != 1 || rows[0].ID != both.ID {
		t.Errorf("town A lists %d events, want only the one serving A", len(rows))
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{{"year = 2026", 2}, {"year = 2025", 0}, {`town_code = "500230102"`, 2}, {`town_code = "500230101"`, 1}} {
		rows, _, err := e.s.ListRecruitmentEvents(e.ctx, repository.RecruitmentEventQuery{Filter: parse(t, tc.filter, repository.RecruitmentEventFilter)})
		must(t, err, "ListRecruitmentEvents %s", tc.filter)
		if len(rows) != tc.want {
			t.Errorf("filter %s: %d events, want %d", tc.filter, len(rows), tc.want)
		}
	}
}

func (e *env) moveApplication(ev *repository.RecruitmentEvent, a *repository.Application, to domain.ApplicationStatus) *repository.Application {
	e.t.Helper()
	got, err := e.s.MutateApplication(e.ctx, ev.ID, a.ID, "", func(_ context.Context, _ *repository.RecruitmentEvent, a *repository.Application) error {
		a.Status = to
		if to != domain.ApplicationDeclined {
			a.Stage = to
		}
		return nil
	})
	must(e.t, err, "MutateApplication to %s", to)
	return got
}

func testRecruitmentApplications(t *testing.T, e *env) {
	for range 3 {
		e.placementCase(townA, domain.StatusSubmitted)
	}
	ev := e.newRecruitmentEvent(townA)
	invs, err := e.s.InviteToRecruitmentEvent(e.ctx, ev.ID, "users/a")
	must(t, err, "InviteToRecruitmentEvent")
	apply := func(inv repository.Invitation, pos string) (*repository.Application, error) {
		a := &repository.Application{ID: uuid.NewString(), EventID: ev.ID, InvitationID: inv.ID, PositionID: pos}
		return a, e.s.CreateApplication(e.ctx, a)
	}
	a0, err := apply(invs[0], "clerk")
	must(t, err, "CreateApplication")
	if a0.CaseID != invs[0].CaseID || a0.Status != domain.ApplicationRegistered || a0.TownCode != townA {
		t.Errorf("application = %+v, want the invitation's case and town, REGISTERED", a0)
	}
	_, err = apply(invs[0], "clerk")
	wantErr(t, err, repository.ErrAlreadyExists, "a second application to the same position")
	_, err = apply(invs[0], "pilot")
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("an application to a position the event lacks: %v, want a ValidationError", err)
	}
	a1, err := apply(invs[1], "nurse")
	must(t, err, "CreateApplication 2")
	a2, err := apply(invs[2], "clerk")
	must(t, err, "CreateApplication 3")
	e.moveApplication(ev, a0, domain.ApplicationInterviewed)
	e.moveApplication(ev, a0, domain.ApplicationOffered)
	if got := e.moveApplication(ev, a0, domain.ApplicationAccepted); got.Revision != 4 {
		t.Errorf("accepted application revision %d, want 4", got.Revision)
	}
	e.moveApplication(ev, a1, domain.ApplicationInterviewed)
	e.moveApplication(ev, a1, domain.ApplicationDeclined)
	_ = a2

	f, err := e.s.RecruitmentFigures(e.ctx, ev.ID)
	must(t, err, "RecruitmentFigures")
	want := repository.RecruitmentFigures{Invited: 3, Registered: 3, Interviewed: 2, Offered: 1, Placed: 1}
	if *f != want {
		t.Errorf("figures = %+v, want %+v", *f, want)
	}
	none := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townB}})
	_, err = e.s.RecruitmentFigures(none, ev.ID)
	wantErr(t, err, repository.ErrNotFound, "figures of an event serving no town of the caller")
}

func testRecruitmentPositionInUse(t *testing.T, e *env) {
	e.placementCase(townA, domain.StatusSubmitted)
	ev := e.newRecruitmentEvent(townA)
	invs, err := e.s.InviteToRecruitmentEvent(e.ctx, ev.ID, "users/a")
	must(t, err, "InviteToRecruitmentEvent")
	must(t, e.s.CreateApplication(e.ctx, &repository.Application{ID: uuid.NewString(), EventID: ev.ID, InvitationID: invs[0].ID, PositionID: "clerk"}), "CreateApplication")
	_, err = e.s.UpdateRecruitmentEvent(e.ctx, ev.ID, "v1", func(_ context.Context, ev *repository.RecruitmentEvent) error {
		ev.Employers.V[0].Positions = ev.Employers.V[0].Positions[1:] // drop the clerk
		return nil
	})
	wantPrecondition(t, err, "POSITION_IN_USE", "removing a position an application refers to")
	got, err := e.s.UpdateRecruitmentEvent(e.ctx, ev.ID, "v1", func(_ context.Context, ev *repository.RecruitmentEvent) error {
		ev.Employers.V[0].Positions = ev.Employers.V[0].Positions[:1] // drop the nurse
		ev.Place = "Another place"
		return nil
	})
	must(t, err, "removing an unused position")
	if got.Revision != 2 || len(got.Employers.V[0].Positions) != 1 {
		t.Errorf("updated event: revision %d, %d positions; want 2, 1", got.Revision, len(got.Employers.V[0].Positions))
	}
}

func testRecruitmentOnePlacement(t *testing.T, e *env) {
	c := e.placementCase(townA, domain.StatusSubmitted)
	ev := e.newRecruitmentEvent(townA)
	invs, err := e.s.InviteToRecruitmentEvent(e.ctx, ev.ID, "users/a")
	must(t, err, "InviteToRecruitmentEvent")
	clerk := &repository.Application{ID: uuid.NewString(), EventID: ev.ID, InvitationID: invs[0].ID, PositionID: "clerk"}
	nurse := &repository.Application{ID: uuid.NewString(), EventID: ev.ID, InvitationID: invs[0].ID, PositionID: "nurse"}
	must(t, e.s.CreateApplication(e.ctx, clerk), "CreateApplication clerk")
	must(t, e.s.CreateApplication(e.ctx, nurse), "CreateApplication nurse")
	e.moveApplication(ev, clerk, domain.ApplicationAccepted)
	_, err = e.s.MutateApplication(e.ctx, ev.ID, nurse.ID, "", func(_ context.Context, _ *repository.RecruitmentEvent, a *repository.Application) error {
		a.Status = domain.ApplicationAccepted
		return nil
	})
	wantPrecondition(t, err, "ALREADY_PLACED", "accepting a second offer for one case")
	later := e.newRecruitmentEvent(townA)
	again, err := e.s.InviteToRecruitmentEvent(e.ctx, later.ID, "users/a")
	must(t, err, "InviteToRecruitmentEvent to a later event")
	for _, i := range again {
		if i.CaseID == c.ID {
			t.Errorf("a placed spouse was invited to a later event")
		}
	}
}
