package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// freeTextColumns are the ledgers' sealed free-text columns, by table
// (migration 00015).
var freeTextColumns = map[string][]string{
	"contacts":        {"raised_sealed", "follow_ups_sealed"},
	"assistance":      {"note_sealed"},
	"campaign_visits": {"notes_sealed"},
	"complaints":      {"description_sealed", "resolution_sealed"},
}

// checkFreeText fails if any column of the ledgers' tables holds one of
// the plaintexts, or a free-text column holds a value not sealed under key.
func (e *env) checkFreeText(plaintexts []string, key string) int {
	e.t.Helper()
	checked := 0
	for table, cols := range freeTextColumns {
		for _, row := range e.rawRows("SELECT * FROM " + table) {
			for col, v := range row {
				for _, p := range plaintexts {
					if strings.Contains(v, p) {
						e.t.Fatalf("%s %s: column %s holds plaintext %q", table, row["id"], col, p)
					}
				}
			}
			for _, col := range cols {
				if row[col] == "" {
					continue
				}
				checked++
				if !strings.HasPrefix(row[col], "sealed:v1:"+key+":") {
					e.t.Fatalf("%s %s: column %s = %.24q, want sealed under %s", table, row["id"], col, row[col], key)
				}
			}
		}
	}
	return checked
}

var freeTextTests = []test{
	{"LedgerFreeTextSealedAtRest", func(t *testing.T, e *env) {
		// Each text is distinctive, so a match in any column is a leak.
		raised, followUp, note := "Test raised: 配偶患病住院", "Test follow-up: 联系医院绿色通道", "Test note: 因灾致困"
		visitNotes, complaint, resolution := "Test visit notes: 父亲行动不便", "Test complaint: 拒绝优待", "Test resolution: 已责令整改"

		h := e.newHousehold(border)
		c := &repository.Contact{ID: uuid.NewString(), HouseholdID: h.ID, ContactDate: "2026-03-01",
			Channel: domain.ContactPhone, RecordedBy: "users/test", Raised: raised,
			FollowUps: repository.JSON[[]domain.FollowUp]{V: []domain.FollowUp{{Text: followUp, Due: "2026-04-01"}}}}
		must(t, e.s.CreateContact(e.ctx, c), "CreateContact")
		if c.Raised != raised || len(c.FollowUps.V) != 1 || c.FollowUps.V[0].Text != followUp {
			t.Fatalf("the caller's contact must hold plaintext after the call: %+v", c)
		}
		a := &repository.Assistance{ID: uuid.NewString(), HouseholdID: h.ID, Kind: domain.AssistanceLiving, AmountFen: 50000,
			AssistanceDate: "2026-03-01", SourceOfFunds: "Test fund", Approver: "users/test", Note: note, RecordedBy: "users/test"}
		must(t, e.s.CreateAssistance(e.ctx, a), "CreateAssistance")

		f := e.openCampaign()
		v := &repository.CampaignVisit{ID: uuid.NewString(), CampaignID: f.c.ID, HouseholdID: f.targets[0],
			VisitDate: f.c.StartDate, Form: domain.VisitInPerson, Notes: visitNotes, Recorder: "users/test"}
		must(t, e.s.CreateVisit(e.ctx, v), "CreateVisit")

		o := e.newOrganization(creditCodes[0], day(2028, 1, 1))
		m := e.newMeasure(o)
		cp := &repository.Complaint{ID: uuid.NewString(), OrganizationID: o.ID, MeasureID: m.ID,
			ComplainantName: "Test complainant", Description: complaint}
		must(t, e.s.CreateComplaint(e.ctx, cp), "CreateComplaint")
		n := names.Complaint{OrganizationID: o.ID, MeasureID: m.ID, ID: cp.ID}
		_, err := e.s.MutateComplaint(e.ctx, n, "", func(_ context.Context, row *repository.Complaint) error {
			row.State, row.Resolution = domain.ComplaintDismissed, resolution
			return nil
		})
		must(t, err, "MutateComplaint")

		texts := []string{raised, followUp, note, visitNotes, complaint, resolution}
		if got := e.checkFreeText(texts, e.keys.ActiveKeyID()); got != 6 {
			t.Fatalf("%d sealed free-text values, want 6", got)
		}

		// Reads open them.
		gc, err := e.s.GetContact(e.ctx, h.ID, c.ID)
		must(t, err, "GetContact")
		if gc.Raised != raised || len(gc.FollowUps.V) != 1 || gc.FollowUps.V[0] != c.FollowUps.V[0] || gc.FollowUpsSealed != "" {
			t.Fatalf("GetContact = %+v", gc)
		}
		cs, _, err := e.s.ListContacts(e.ctx, repository.LedgerQuery{HouseholdID: h.ID})
		must(t, err, "ListContacts")
		if len(cs) != 1 || cs[0].Raised != raised || cs[0].FollowUps.V[0].Text != followUp {
			t.Fatalf("ListContacts = %+v", cs)
		}
		as, _, err := e.s.ListAssistance(e.ctx, repository.LedgerQuery{HouseholdID: h.ID})
		must(t, err, "ListAssistance")
		if ga, err := e.s.GetAssistance(e.ctx, h.ID, a.ID); err != nil || ga.Note != note || len(as) != 1 || as[0].Note != note {
			t.Fatalf("assistance note reads %v, %v", ga, err)
		}
		vs, _, err := e.s.ListVisits(e.ctx, f.c.ID, filter.Filter{}, repository.Page{})
		must(t, err, "ListVisits")
		if gv, err := e.s.GetVisit(e.ctx, f.c.ID, v.ID); err != nil || gv.Notes != visitNotes || len(vs) != 1 || vs[0].Notes != visitNotes {
			t.Fatalf("visit notes read %v, %v", gv, err)
		}
		if gp, err := e.s.GetComplaint(e.ctx, n); err != nil || gp.Description != complaint || gp.Resolution != resolution {
			t.Fatalf("complaint reads %v, %v", gp, err)
		}

		// An update that changes nothing writes nothing; one that changes
		// the text seals the new text.
		same, err := e.s.UpdateContact(e.ctx, h.ID, c.ID, "", func(context.Context, *repository.Contact) error { return nil })
		must(t, err, "UpdateContact")
		if same.Revision != 1 {
			t.Fatalf("an update that changed nothing moved the revision to %d", same.Revision)
		}
		raised2 := "Test raised again: 子女入学"
		up, err := e.s.UpdateContact(e.ctx, h.ID, c.ID, "", func(_ context.Context, row *repository.Contact) error {
			row.Raised = raised2
			return nil
		})
		must(t, err, "UpdateContact")
		if up.Raised != raised2 || up.FollowUps.V[0].Text != followUp || up.Revision != 2 {
			t.Fatalf("updated contact = %+v", up)
		}
		texts = append(texts, raised2)
		e.checkFreeText(texts, e.keys.ActiveKeyID())

		// Text written before migration 00015 sealed it is plaintext in
		// the new columns: a reseal seals it, and a rotation reseals all.
		legacy := "Test legacy text: 老人看病"
		must(t, e.db.Exec("UPDATE assistance SET note_sealed = ? WHERE id = ?", legacy, a.ID).Error, "legacy row")
		if ga, err := e.s.GetAssistance(e.ctx, h.ID, a.ID); err != nil || ga.Note != legacy {
			t.Fatalf("an unsealed legacy note reads %v, %v", ga, err)
		}
		rotated, err := e.keys.Rotate()
		must(t, err, "Rotate")
		_, err = e.s.Reseal(e.ctx, 2, nil)
		must(t, err, "Reseal")
		if got := e.checkFreeText(append(texts, legacy), rotated); got != 6 {
			t.Fatalf("%d free-text values resealed, want 6", got)
		}
		if ga, err := e.s.GetAssistance(e.ctx, h.ID, a.ID); err != nil || ga.Note != legacy {
			t.Fatalf("the resealed legacy note reads %v, %v", ga, err)
		}
		if gc, err := e.s.GetContact(e.ctx, h.ID, c.ID); err != nil || gc.Raised != raised2 || gc.FollowUps.V[0].Text != followUp {
			t.Fatalf("the resealed contact reads %v, %v", gc, err)
		}
	}},
}
