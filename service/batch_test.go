package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// TestBatchUpdateKeepsUpdateHouseholdsRules: a re-run row applied in
// UPDATE mode is an UpdateHousehold: a change of the servicemember's facts
// is recorded in the status history and re-prioritises open cases, and the
// same row again changes nothing and records nothing.
func TestBatchUpdateKeepsUpdateHouseholdsRules(t *testing.T) {
	h := newHandlers(t)
	body := h.householdBody("500230101")
	body.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_NCO
	run := func(mode pb.BatchCreateHouseholdsRequest_ExistingMode, hs ...*pb.Household) *pb.BatchCreateHouseholdsResponse {
		t.Helper()
		req := &pb.BatchCreateHouseholdsRequest{ExistingMode: mode}
		for _, hh := range hs {
			req.Requests = append(req.Requests, &pb.CreateHouseholdRequest{Household: proto.Clone(hh).(*pb.Household)})
		}
		resp, err := h.households.BatchCreateHouseholds(h.ctx, req)
		if err != nil {
			t.Fatalf("BatchCreateHouseholds: %v", err)
		}
		return resp
	}
	first := run(pb.BatchCreateHouseholdsRequest_EXISTING_MODE_UPDATE, body)
	name := first.GetResults()[0].GetHousehold()
	spouse, _ := h.member(name, pb.Relation_RELATION_SPOUSE, time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC))
	c, err := h.cases.CreateCase(h.ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: name, Subject: spouse.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION}}}})
	if err != nil {
		t.Fatal(err)
	}

	body.Servicemember.PostType = pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE
	second := run(pb.BatchCreateHouseholdsRequest_EXISTING_MODE_UPDATE, body)
	if r := second.GetResults()[0]; r.GetOutcome() != pb.BatchCreateHouseholdResult_OUTCOME_UPDATED || r.GetHousehold() != name {
		t.Fatalf("a changed post type: %v", r)
	}
	changes, err := h.households.ListStatusChanges(h.ctx, &pb.ListStatusChangesRequest{Parent: name})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(changes.GetStatusChanges()); n != 1 || !strings.Contains(changes.GetStatusChanges()[0].GetNote(), "BatchCreateHouseholds: post_type") {
		t.Fatalf("status history after the re-run: %v", changes.GetStatusChanges())
	}
	after, err := h.cases.GetCase(h.ctx, &pb.GetCaseRequest{Name: c.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetPriority() == c.GetPriority() {
		t.Errorf("the open case kept priority %v after the post became a border post", c.GetPriority())
	}

	third := run(pb.BatchCreateHouseholdsRequest_EXISTING_MODE_UPDATE, body)
	if r := third.GetResults()[0]; r.GetOutcome() != pb.BatchCreateHouseholdResult_OUTCOME_UNCHANGED || r.GetEtag() != second.GetResults()[0].GetEtag() {
		t.Errorf("the same row again: %v, want UNCHANGED at %s", r, second.GetResults()[0].GetEtag())
	}
	changes, _ = h.households.ListStatusChanges(h.ctx, &pb.ListStatusChangesRequest{Parent: name})
	if n := len(changes.GetStatusChanges()); n != 1 {
		t.Errorf("%d status changes after an unchanged row, want 1", n)
	}

	// A caller of another town cannot update, skip or even learn of it:
	// the batch is refused as a whole, naming no row.
	p := &principal.Principal{ID: "users/cw", Kind: principal.User, Roles: []principal.Role{principal.Caseworker}}
	other := principal.WithScope(principal.NewContext(context.Background(), p), principal.Scope{Towns: []string{"500230102"}})
	other = audit.NewContext(other, &audit.Record{Principal: p.ID, Roles: "caseworker", Credential: "test", Method: "test"})
	moved := proto.Clone(body).(*pb.Household)
	moved.TownCode = "500230102"
	_, err = h.households.BatchCreateHouseholds(other, &pb.BatchCreateHouseholdsRequest{
		ExistingMode: pb.BatchCreateHouseholdsRequest_EXISTING_MODE_SKIP, AllowPartialSuccess: true,
		Requests: []*pb.CreateHouseholdRequest{{Household: moved}}})
	if !errors.Is(err, repository.ErrConflictOutOfScope) {
		t.Errorf("a row registered in another town: %v, want ErrConflictOutOfScope", err)
	}
}

// TestBatchReapplyFromAnEarlierRead: reapply tells an unchanged item from
// the household as its caller read it, without a lock; a change written
// since that read is not lost either way. An item equal to the earlier
// read writes nothing (as if applied before the change), and an item that
// differs is merged into the household as stored now, under the lock, on
// both databases.
func TestBatchReapplyFromAnEarlierRead(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			h := newHandlersOn(t, dialect, func() time.Time { return handlerNow })
			body := h.householdBody("500230101")
			body.Address = "丰都县名山街道"
			row := func(address string) *repository.Household {
				t.Helper()
				b := proto.Clone(body).(*pb.Household)
				b.Address = address
				r, err := h.households.newHousehold(&pb.CreateHouseholdRequest{Household: b})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			created, err := h.households.CreateHousehold(h.ctx, &pb.CreateHouseholdRequest{ConfirmPossibleDuplicate: true, Household: proto.Clone(body).(*pb.Household)})
			if err != nil {
				t.Fatal(err)
			}
			id := strings.TrimPrefix(created.GetName(), "households/")
			read, err := h.store.GetHousehold(h.ctx, id, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.households.UpdateHousehold(h.ctx, &pb.UpdateHouseholdRequest{
				Household: &pb.Household{Name: created.GetName(), Etag: created.GetEtag(), Address: "丰都县三合街道"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"address"}}}); err != nil {
				t.Fatal(err)
			}
			head, _ := h.store.EventHead(h.ctx)
			got, outcome, err := h.households.reapply(h.ctx, read, row(body.Address))
			if err != nil || outcome != pb.BatchCreateHouseholdResult_OUTCOME_UNCHANGED || got.Revision != read.Revision {
				t.Fatalf("the item as read: %v at revision %d, %v", outcome, got.Revision, err)
			}
			if after, _ := h.store.EventHead(h.ctx); after != head {
				t.Errorf("an unchanged item moved the feed from %d to %d", head, after)
			}
			stored, _ := h.store.GetHousehold(h.ctx, id, false)
			if stored.Address != "丰都县三合街道" || stored.Revision != read.Revision+1 {
				t.Fatalf("the change since the read: %q at revision %d", stored.Address, stored.Revision)
			}
			got, outcome, err = h.households.reapply(h.ctx, read, row("丰都县龙河镇"))
			if err != nil || outcome != pb.BatchCreateHouseholdResult_OUTCOME_UPDATED {
				t.Fatalf("a changed item: %v, %v", outcome, err)
			}
			if got.Address != "丰都县龙河镇" || got.Revision != stored.Revision+1 {
				t.Errorf("a changed item wrote %q at revision %d, want it on revision %d", got.Address, got.Revision, stored.Revision+1)
			}
		})
	}
}
