package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/repository"
)

// The Referrals category: the partner agencies the migration seeds,
// referrals of cases to them (sealed, scoped by their case, recorded in
// its history) and the alerts of deadlines, raised once per case (or
// referral), kind and deadline.

// alertWindow is the window the tests raise alerts with.
const alertWindow = 72 * time.Hour

const secretReferral = "ask the school for a place for the child; the mother is ill"

// newReferral stores a referral of c to agency, sent today and due for a
// follow-up in days.
func (e *env) newReferral(c *repository.Case, agency string, days int) *repository.Referral {
	e.t.Helper()
	today := domain.LedgerToday(e.clock.Now())
	sent, _ := time.Parse(domain.DateLayout, today)
	r := &repository.Referral{ID: uuid.NewString(), CaseID: c.ID, AgencyID: agency, SentDate: today,
		Request: secretReferral, FollowUpDueDate: sent.AddDate(0, 0, days).Format(domain.DateLayout), Creator: "users/test-caseworker"}
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateReferral(e.ctx, r), "CreateReferral")
	return r
}

func (e *env) raise() int {
	e.t.Helper()
	n, err := e.s.RaiseAlerts(context.Background(), e.clock.Now(), alertWindow, uuid.NewString)
	must(e.t, err, "RaiseAlerts")
	return n
}

func (e *env) alertsOf(ctx context.Context, q repository.AlertQuery, f string) []repository.Alert {
	e.t.Helper()
	parsed, err := filter.Parse(f, repository.AlertFilter)
	must(e.t, err, "filter %q", f)
	q.Filter = parsed
	rows, _, err := e.s.ListAlerts(ctx, q)
	must(e.t, err, "ListAlerts")
	return rows
}

func alertKindsOf(rows []repository.Alert) []string {
	var out []string
	for _, a := range rows {
		out = append(out, string(a.Kind)+" "+a.CaseID+" "+a.ReferralID)
	}
	slices.Sort(out)
	return out
}

func methodsOf(hs []repository.HistoryEntry) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Method)
	}
	return out
}

func due(t time.Time) func(*repository.Case) {
	return func(c *repository.Case) { c.DueTime = &t; c.Status = domain.StatusSubmitted }
}

var referralTests = []test{
	{"AgenciesSeeded", func(t *testing.T, e *env) {
		rows, next, err := e.s.ListAgencies(e.ctx, filter.Filter{}, repository.Page{Size: 4})
		must(t, err, "ListAgencies")
		rest, _, err := e.s.ListAgencies(e.ctx, filter.Filter{}, repository.Page{After: next})
		must(t, err, "ListAgencies page 2")
		var got []string
		for _, a := range append(rows, rest...) {
			got = append(got, a.ID+"="+a.DisplayName)
		}
		want := []string{"rsj=人社局", "rwb=人武部", "sfj-flyz=司法局法律援助中心", "wjw=卫健委", "xjw=县教委", "ybj=医保局"}
		if !slices.Equal(got, want) {
			t.Fatalf("seeded agencies %v, want %v", got, want)
		}
		rsj, err := e.s.GetAgency(e.ctx, "rsj")
		must(t, err, "GetAgency")
		if !rsj.Active || !slices.Equal(rsj.CaseTypes, repository.List[domain.Kind]{domain.KindEmploymentPlacement}) {
			t.Errorf("rsj: %+v, want active, employment placement", rsj)
		}
	}},
	{"AgencyKeptAndInactiveRefused", func(t *testing.T, e *env) {
		a := &repository.Agency{ID: "mzj", DisplayName: "民政局", Active: true}
		must(t, e.s.CreateAgency(e.ctx, a), "CreateAgency")
		wantErr(t, e.s.CreateAgency(e.ctx, &repository.Agency{ID: "mzj", DisplayName: "again"}), repository.ErrAlreadyExists, "a second mzj")
		_, err := e.s.UpdateAgency(e.ctx, "mzj", "v9", func(context.Context, *repository.Agency) error { return nil })
		wantErr(t, err, repository.ErrEtagMismatch, "a stale etag")
		up, err := e.s.UpdateAgency(e.ctx, "mzj", repository.Etag(1), func(_ context.Context, a *repository.Agency) error {
			a.Active = false
			return nil
		})
		must(t, err, "UpdateAgency")
		if up.Active || up.Revision != 2 {
			t.Fatalf("after deactivating: %+v", up)
		}
		c := e.newCase(e.newFamily())
		r := &repository.Referral{ID: uuid.NewString(), CaseID: c.ID, AgencyID: "mzj", SentDate: "2026-03-02",
			Request: "x", FollowUpDueDate: "2026-03-09", Creator: "u"}
		wantPrecondition(t, e.s.CreateReferral(e.ctx, r), "AGENCY_INACTIVE", "a referral to an inactive agency")
		r.AgencyID = "nope"
		if _, ok := domain.AsValidation(e.s.CreateReferral(e.ctx, r)); !ok {
			t.Errorf("a referral to no agency is not refused as invalid")
		}
	}},
	{"ReferralSealedScopedAndInHistory", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		r := e.newReferral(c, "xjw", 7)
		for _, row := range e.rawRows("SELECT request_sealed FROM referrals WHERE id = ?", r.ID) {
			if strings.Contains(row["request_sealed"], "school") {
				t.Errorf("the request is stored in plaintext")
			}
		}
		got, err := e.s.GetReferral(e.ctx, c.ID, r.ID)
		must(t, err, "GetReferral")
		if got.Request != secretReferral || got.AgencyID != "xjw" || got.ReplyDate != nil {
			t.Errorf("read back %+v", got)
		}
		other := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townB}})
		_, err = e.s.GetReferral(other, c.ID, r.ID)
		wantErr(t, err, repository.ErrNotFound, "another town's referral")
		_, err = e.s.UpdateReferral(other, c.ID, r.ID, "", "u", "UpdateReferral", func(context.Context, *repository.Referral) error { return nil })
		wantErr(t, err, repository.ErrNotFound, "another town's referral, changed")

		reply := "2026-03-03"
		up, err := e.s.UpdateReferral(e.ctx, c.ID, r.ID, repository.Etag(1), "users/w", "RecordReferralReply", func(_ context.Context, r *repository.Referral) error {
			r.Reply, r.ReplyDate = "a place at the county school", &reply
			return nil
		})
		must(t, err, "UpdateReferral")
		if up.Revision != 2 || up.Reply != "a place at the county school" {
			t.Errorf("after the reply: %+v", up)
		}
		hist := e.history(c.ID)
		if m := methodsOf(hist); !slices.Contains(m, "CreateReferral") || !slices.Contains(m, "RecordReferralReply") {
			t.Fatalf("case history %v lacks the referral's entries", m)
		}
		last := hist[len(hist)-1]
		if !slices.Equal(last.ChangedFields, repository.List[string]{"referrals.reply", "referrals.reply_date"}) || last.Actor != "users/w" {
			t.Errorf("the reply's history entry: %+v", last)
		}
		// An update that changes nothing writes nothing, history included.
		_, err = e.s.UpdateReferral(e.ctx, c.ID, r.ID, "", "u", "UpdateReferral", func(context.Context, *repository.Referral) error { return nil })
		must(t, err, "an empty update")
		if n := len(e.history(c.ID)); n != len(hist) {
			t.Errorf("an empty update wrote history: %d entries, want %d", n, len(hist))
		}
	}},
	{"ReferralFilters", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		awaiting := e.newReferral(c, "rsj", 7)
		overdue := e.newReferral(c, "xjw", 0)
		replied := e.newReferral(c, "xjw", 7)
		withdrawn := e.newReferral(c, "rsj", 7)
		reply := domain.LedgerToday(e.clock.Now())
		_, err := e.s.UpdateReferral(e.ctx, c.ID, replied.ID, "", "u", "RecordReferralReply", func(_ context.Context, r *repository.Referral) error {
			r.Reply, r.ReplyDate = "yes", &reply
			return nil
		})
		must(t, err, "reply")
		_, err = e.s.UpdateReferral(e.ctx, c.ID, withdrawn.ID, "", "u", "DeleteReferral", func(_ context.Context, r *repository.Referral) error {
			now := e.clock.Now()
			r.DeleteTime = &now
			return nil
		})
		must(t, err, "withdraw")
		e.clock.Advance(24 * time.Hour)
		list := func(f string, deleted bool) []string {
			parsed, err := filter.Parse(f, repository.ReferralFilter)
			must(t, err, "filter %q", f)
			rows, _, err := e.s.ListReferrals(e.ctx, repository.ReferralQuery{CaseID: c.ID, Filter: parsed, ShowDeleted: deleted})
			must(t, err, "ListReferrals %q", f)
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.ID)
			}
			return sorted(ids...)
		}
		for _, tc := range []struct {
			f       string
			deleted bool
			want    []string
		}{
			{"", false, sorted(awaiting.ID, overdue.ID, replied.ID)},
			{"", true, sorted(awaiting.ID, overdue.ID, replied.ID, withdrawn.ID)},
			{"state = AWAITING_REPLY", false, []string{awaiting.ID}},
			{"state = OVERDUE", false, []string{overdue.ID}},
			{"state = REPLIED", false, []string{replied.ID}},
			{"state = WITHDRAWN", true, []string{withdrawn.ID}},
			{`agency = "agencies/xjw"`, false, sorted(overdue.ID, replied.ID)},
		} {
			if got := list(tc.f, tc.deleted); !slices.Equal(got, tc.want) {
				t.Errorf("filter %q (deleted %v): %v, want %v", tc.f, tc.deleted, got, tc.want)
			}
		}
	}},
	{"AlertsRaisedOncePerDeadline", func(t *testing.T, e *env) {
		now := e.clock.Now()
		f := e.newFamily()
		soon := e.newCase(f, due(now.Add(24*time.Hour)))
		late := e.newCase(f, due(now.Add(-time.Hour)))
		e.newCase(f, due(now.Add(10*24*time.Hour))) // outside the window
		e.newCase(f)                                // no clock runs
		ref := e.newReferral(late, "rsj", 0)
		replied := e.newReferral(late, "xjw", 0)
		reply := domain.LedgerToday(e.clock.Now())
		_, err := e.s.UpdateReferral(e.ctx, late.ID, replied.ID, "", "u", "RecordReferralReply", func(_ context.Context, r *repository.Referral) error {
			r.Reply, r.ReplyDate = "done", &reply
			return nil
		})
		must(t, err, "reply")
		if n := e.raise(); n != 2 {
			t.Fatalf("first scan raised %d, want 2 (due soon, overdue)", n)
		}
		// The referral is overdue from the day after its follow-up date.
		e.clock.Advance(24 * time.Hour)
		if n := e.raise(); n != 2 {
			t.Fatalf("a day later raised %d, want 2 (the soon case now overdue, the referral)", n)
		}
		for range 3 {
			if n := e.raise(); n != 0 {
				t.Fatalf("a scan again raised %d, want 0", n)
			}
		}
		got := alertKindsOf(e.alertsOf(e.ctx, repository.AlertQuery{}, ""))
		want := sorted("CASE_DUE_SOON "+soon.ID+" ", "CASE_OVERDUE "+soon.ID+" ", "CASE_OVERDUE "+late.ID+" ",
			"REFERRAL_OVERDUE "+late.ID+" "+ref.ID)
		if !slices.Equal(got, want) {
			t.Fatalf("alerts %v, want %v", got, want)
		}
		// A page at a time, earliest deadline first, every alert once.
		var paged []repository.Alert
		page := repository.Page{Size: 1}
		for range 10 {
			rows, next, err := e.s.ListAlerts(e.ctx, repository.AlertQuery{Page: page})
			must(t, err, "ListAlerts page")
			paged = append(paged, rows...)
			if next == nil {
				break
			}
			page.After = next
		}
		if len(paged) != 4 || !slices.IsSortedFunc(paged, func(a, b repository.Alert) int { return a.DueTime.Compare(b.DueTime) }) {
			t.Errorf("paged alerts: %d, sorted by deadline %v", len(paged),
				slices.IsSortedFunc(paged, func(a, b repository.Alert) int { return a.DueTime.Compare(b.DueTime) }))
		}
		if m := methodsOf(e.history(late.ID)); !slices.Contains(m, "RaiseAlert") {
			t.Errorf("raising wrote no history on the case: %v", m)
		}
		// A new deadline (a resumed hold) is a new alert.
		_, err = e.s.MutateCase(e.ctx, late.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			t := e.clock.Now().Add(-time.Minute)
			c.DueTime = &t
			return nil, nil
		})
		must(t, err, "MutateCase")
		if n := e.raise(); n != 1 {
			t.Errorf("a new due time raised %d, want 1", n)
		}
	}},
	{"AlertsRaisedOnceByConcurrentScans", func(t *testing.T, e *env) {
		// Several servers scanning at the same instant: the unique key
		// lets one of them raise each alert.
		now := e.clock.Now()
		f := e.newFamily()
		for i := range 5 {
			e.newCase(f, due(now.Add(time.Duration(i-2)*time.Hour)))
		}
		const scans = 4
		raised := make(chan int, scans)
		errs := make(chan error, scans)
		for range scans {
			go func() {
				n, err := e.s.RaiseAlerts(context.Background(), now, alertWindow, uuid.NewString)
				raised <- n
				errs <- err
			}()
		}
		total := 0
		for range scans {
			total += <-raised
			must(t, <-errs, "a concurrent RaiseAlerts")
		}
		if total != 5 {
			t.Errorf("%d concurrent scans raised %d alerts in all, want 5", scans, total)
		}
		if rows := e.rawRows("SELECT id FROM alerts"); len(rows) != 5 {
			t.Errorf("%d alert rows, want 5", len(rows))
		}
	}},
	{"AlertsSeenAndAcknowledged", func(t *testing.T, e *env) {
		now := e.clock.Now()
		mine := e.newCase(e.newFamily(), due(now.Add(-time.Hour)), func(c *repository.Case) { c.Assignee = "users/w1" })
		theirs := e.newCase(e.newFamily(), due(now.Add(-time.Hour)), func(c *repository.Case) { c.Assignee = "users/w2" })
		far := e.newCase(e.newFamily(func(h *repository.Household) { h.TownCode = townB }), due(now.Add(-time.Hour)))
		if n := e.raise(); n != 3 {
			t.Fatalf("raised %d, want 3", n)
		}
		inA := repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})
		if got := e.alertsOf(inA, repository.AlertQuery{}, ""); len(got) != 2 {
			t.Errorf("a supervisor of town A sees %d alerts, want 2 (not town B's %s)", len(got), far.ID)
		}
		w1 := e.alertsOf(inA, repository.AlertQuery{Assignee: "users/w1"}, "")
		if len(w1) != 1 || w1[0].CaseID != mine.ID || w1[0].Assignee != "users/w1" || w1[0].TownCode != townA {
			t.Fatalf("w1 sees %+v, want the alert of %s only", w1, mine.ID)
		}
		_, err := e.s.AcknowledgeAlert(inA, w1[0].ID, "", "users/w2", "users/w2")
		wantErr(t, err, repository.ErrNotFound, "acknowledging another's alert")
		e.clock.Advance(time.Minute)
		acked, err := e.s.AcknowledgeAlert(inA, w1[0].ID, repository.Etag(1), "users/w1", "users/w1")
		must(t, err, "AcknowledgeAlert")
		if acked.AcknowledgedBy != "users/w1" || acked.AcknowledgeTime == nil || acked.Revision != 2 {
			t.Fatalf("acknowledged: %+v", acked)
		}
		again, err := e.s.AcknowledgeAlert(inA, w1[0].ID, "", "users/w1", "users/w1")
		must(t, err, "AcknowledgeAlert again")
		if again.Revision != 2 {
			t.Errorf("acknowledging again wrote: revision %d", again.Revision)
		}
		if got := e.alertsOf(inA, repository.AlertQuery{}, ""); len(got) != 1 || got[0].CaseID != theirs.ID {
			t.Errorf("after acknowledging, the default list is %+v, want %s's only", got, theirs.ID)
		}
		if got := e.alertsOf(inA, repository.AlertQuery{}, "acknowledged = true"); len(got) != 1 || got[0].CaseID != mine.ID {
			t.Errorf("acknowledged = true lists %+v, want %s's", got, mine.ID)
		}
		hist := e.history(mine.ID)
		if last := hist[len(hist)-1]; last.Method != "AcknowledgeAlert" || last.Actor != "users/w1" {
			t.Errorf("the case's last history entry: %+v, want the acknowledgement", last)
		}
	}},
}
