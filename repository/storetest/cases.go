package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/repository"
)

var caseTests = []test{
	{"CallbackReadsInsideTheTransaction", func(t *testing.T, e *env) {
		// A store call made with the callback's context joins the write's
		// transaction: on SQLite's single connection a call with any other
		// context would wait for the write until its deadline.
		f := e.newFamily()
		c := e.newCase(f)
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		defer cancel()
		_, err := e.s.MutateCase(ctx, c.ID, "", func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
			if _, err := e.s.GetHousehold(ctx, row.HouseholdID, false); err != nil {
				return nil, err
			}
			if _, err := e.s.GetMember(ctx, f.h.ID, f.m.ID); err != nil {
				return nil, err
			}
			row.Assignee = "users/inside"
			return nil, nil
		})
		must(t, err, "MutateCase reading through the callback's context")
		_, err = e.s.UpdateHousehold(ctx, f.h.ID, "", func(ctx context.Context, h *repository.Household) error {
			cs, _, err := e.s.ListCases(ctx, repository.CaseQuery{})
			if err != nil || len(cs) != 1 || cs[0].Assignee != "users/inside" {
				return fmt.Errorf("inside the household's write: %d cases: %w", len(cs), err)
			}
			h.Address = "Test inside"
			return nil
		})
		must(t, err, "UpdateHousehold reading through the callback's context")
	}},
	{"NumbersAreSequentialPerYear", func(t *testing.T, e *env) {
		f := e.newFamily()
		// Closed, so that one member may have them all (OPEN_CASE_PER_KIND).
		closed := withStatus(domain.StatusClosed)
		for i := 1; i <= 3; i++ {
			c := e.newCase(f, closed)
			if want := fmt.Sprintf("FD-2026-%06d", i); c.CaseNumber != want {
				t.Fatalf("case %d: number %q, want %q", i, c.CaseNumber, want)
			}
		}
		// The year is China time's: 16:00 UTC on 31 December is already
		// the next year in Fengdu, and its numbers start again at 1.
		e.clock.Set(time.Date(2026, 12, 31, 15, 59, 58, 0, time.UTC))
		if c := e.newCase(f, closed); c.CaseNumber != "FD-2026-000004" {
			t.Fatalf("last case of 2026: number %q, want FD-2026-000004", c.CaseNumber)
		}
		for i := 1; i <= 2; i++ {
			if c := e.newCase(f); c.CaseNumber != fmt.Sprintf("FD-2027-%06d", i) {
				t.Fatalf("case %d of 2027: number %q", i, c.CaseNumber)
			}
		}
		repository.WithCaseNumberPrefix("XX")(e.s)
		if c := e.newCase(f); c.CaseNumber != "XX-2027-000003" {
			t.Fatalf("with prefix XX: number %q, want XX-2027-000003", c.CaseNumber)
		}
	}},
	{"CreateGetRoundTrip", func(t *testing.T, e *env) {
		f := e.newFamily()
		due := e.nowStored().Add(72 * time.Hour)
		c := e.newCase(f, withStatus(domain.StatusSubmitted), withDue(&due), func(c *repository.Case) {
			placedIn(ptr(2026))(c)
			c.Assignee, c.Priority, c.PriorityReasons = "users/a", domain.PriorityFirst, repository.List[domain.Reason]{domain.ReasonMartyrFamily}
			c.SubmitTime = ptr(due.Add(-72 * time.Hour))
		})
		now := e.nowStored()
		if c.Revision != 1 || !c.CreateTime.Equal(now) || !c.UpdateTime.Equal(now) || c.CaseNumber == "" {
			t.Fatalf("after create: revision %d, create %v, update %v, number %q", c.Revision, c.CreateTime, c.UpdateTime, c.CaseNumber)
		}
		checkStamped(t, c.CreateTime, "CreateTime")
		got, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		sameRow(t, got, c, "GetCase")
		h := e.history(c.ID)
		if len(h) != 1 || h[0].CaseID != c.ID || h[0].Method != "CreateCase" || !h[0].Time.Equal(now) {
			t.Fatalf("history after create: %+v", h)
		}
		_, err = e.s.GetCase(e.ctx, "no-such-case")
		wantErr(t, err, repository.ErrNotFound, "GetCase of a missing case")
	}},
	{"PlacementYearFollowsDetails", func(t *testing.T, e *env) {
		// placement_year is a filter column the store derives from the
		// details on every write; a value a caller leaves in it is replaced.
		f := e.newFamily()
		stray := func(c *repository.Case) { c.PlacementYear = ptr(1999) }
		wantYear := func(id string, want *int, what string) {
			t.Helper()
			got, err := e.s.GetCase(e.ctx, id)
			must(t, err, "GetCase")
			if (got.PlacementYear == nil) != (want == nil) || (want != nil && *got.PlacementYear != *want) {
				t.Fatalf("%s: placement year %v, want %v", what, deref(got.PlacementYear), deref(want))
			}
		}
		c := e.newCase(f, placedIn(ptr(2026)), stray)
		wantYear(c.ID, ptr(2026), "CreateCase")
		batch := []*repository.Case{e.openCaseFor(f, placedIn(ptr(2027)), stray), e.openCaseFor(f, stray)}
		must(t, e.s.CreateCases(e.ctx, batch, []*repository.HistoryEntry{creationEntry(batch[0]), creationEntry(batch[1])}), "CreateCases")
		wantYear(batch[0].ID, ptr(2027), "CreateCases, a placement")
		wantYear(batch[1].ID, nil, "CreateCases, legal aid")
		for _, step := range []struct {
			what    string
			details string
			want    *int
		}{
			{"MutateCase changing the year", `{"placement_year":2028,"eligible":true}`, ptr(2028)},
			{"MutateCase leaving the details", "", ptr(2028)},
			{"MutateCase with a quoted year, as protojson also reads it", `{"placement_year":"2030"}`, ptr(2030)},
			{"MutateCase removing the year", `{"eligible":true}`, nil},
		} {
			_, err := e.s.MutateCase(e.ctx, c.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
				if step.details != "" {
					c.Details = step.details
				}
				stray(c)
				return nil, nil
			})
			must(t, err, "%s", step.what)
			wantYear(c.ID, step.want, step.what)
		}
	}},
	{"ListsAreCommaJoinedText", func(t *testing.T, e *env) {
		// Typed lists keep the format the columns always had, so rows
		// written before the types read the same, and rows written now
		// read the same to anything that reads the text.
		reasons := repository.List[domain.Reason]{domain.ReasonMartyrFamily, domain.ReasonHardshipHousehold}
		c := e.newCase(e.newFamily(), func(c *repository.Case) { c.PriorityReasons = reasons })
		raw := func(query string, args ...any) string {
			t.Helper()
			var s string
			must(t, e.db.Raw(query, args...).Scan(&s).Error, "%s", query)
			return s
		}
		if got := raw("SELECT priority_reasons FROM cases WHERE id = ?", c.ID); got != "MARTYR_FAMILY,HARDSHIP_HOUSEHOLD" {
			t.Fatalf("priority_reasons stored as %q", got)
		}
		_, err := e.s.MutateCase(e.ctx, c.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.Status = domain.StatusSubmitted // a mutation that changes nothing records nothing
			return &repository.HistoryEntry{Method: "Test", ChangedFields: repository.List[string]{"status", "due_time"}}, nil
		})
		must(t, err, "MutateCase")
		if got := raw("SELECT changed_fields FROM case_history WHERE case_id = ? ORDER BY id LIMIT 1", c.ID); got != "" {
			t.Fatalf("the creation entry's empty list stored as %q", got)
		}
		if got := raw("SELECT changed_fields FROM case_history WHERE case_id = ? ORDER BY id DESC LIMIT 1", c.ID); got != "status,due_time" {
			t.Fatalf("changed_fields stored as %q", got)
		}
		for _, stored := range []struct {
			text string
			want repository.List[domain.Reason]
		}{
			{"BORDER_COASTAL_DEFENCE,MISSION_UNIT", repository.List[domain.Reason]{domain.ReasonBorderCoastalDefence, domain.ReasonMissionUnit}},
			{"MERITORIOUS", repository.List[domain.Reason]{domain.ReasonMeritorious}},
			{"", nil}, // last: the refused write below must leave it
		} {
			text, want := stored.text, stored.want
			must(t, e.db.Exec("UPDATE cases SET priority_reasons = ? WHERE id = ?", text, c.ID).Error, "write %q", text)
			got, err := e.s.GetCase(e.ctx, c.ID)
			must(t, err, "GetCase")
			if !slices.Equal(got.PriorityReasons, want) || (want == nil) != (got.PriorityReasons == nil) {
				t.Fatalf("%q read as %#v, want %#v", text, got.PriorityReasons, want)
			}
		}
		// An element holding a comma would read back as two: refused.
		_, err = e.s.MutateCase(e.ctx, c.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.PriorityReasons = repository.List[domain.Reason]{"MARTYR_FAMILY,MISSION_UNIT"}
			return nil, nil
		})
		if err == nil {
			t.Fatalf("a list element holding a comma was stored")
		}
		if got := raw("SELECT priority_reasons FROM cases WHERE id = ?", c.ID); got != "" {
			t.Fatalf("after the refused write priority_reasons is %q", got)
		}
	}},
	{"CreateNeedsLiveHouseholdAndSubject", func(t *testing.T, e *env) {
		f, other := e.newFamily(), e.newFamily()
		e.newCase(f) // FD-2026-000001
		gone := e.newMember(f.h)
		must(t, e.s.DeleteMember(e.ctx, f.h.ID, gone.ID, ""), "DeleteMember")
		deleted := e.newFamily()
		_, err := e.s.DeleteHousehold(e.ctx, deleted.h.ID, "")
		must(t, err, "DeleteHousehold")
		for what, fam := range map[string]family{
			"a deleted household":             deleted,
			"a deleted member":                {f.h, gone},
			"a member of another household":   {f.h, other.m},
			"a household that does not exist": {&repository.Household{ID: "no-such-household"}, f.m},
		} {
			c := e.caseFor(fam)
			wantErr(t, e.s.CreateCase(e.ctx, c, creationEntry(c)), repository.ErrNotFound, "CreateCase for %s", what)
			_, err := e.s.GetCase(e.ctx, c.ID)
			wantErr(t, err, repository.ErrNotFound, "GetCase of the refused case for %s", what)
		}
		// Refused cases use up no number.
		if c := e.newCase(f); c.CaseNumber != "FD-2026-000002" {
			t.Fatalf("case after refusals: number %q, want FD-2026-000002", c.CaseNumber)
		}
	}},
	{"MutateBumpsRevisionAndRecordsHistory", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		e.clock.Advance(time.Hour)
		got, err := e.s.MutateCase(e.ctx, c.ID, repository.Etag(1), func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.Status, c.Assignee = domain.StatusSubmitted, "users/b"
			return &repository.HistoryEntry{Actor: "users/b", Method: "SubmitCase", FromStatus: "DRAFT", ToStatus: c.Status, ChangedFields: repository.List[string]{"status", "assignee"}}, nil
		})
		must(t, err, "MutateCase")
		want := *c
		want.Status, want.Assignee, want.Revision, want.UpdateTime = "SUBMITTED", "users/b", 2, e.nowStored()
		sameRow(t, got, &want, "MutateCase result")
		read, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		sameRow(t, read, &want, "GetCase after MutateCase")
		h := e.history(c.ID)
		if len(h) != 2 {
			t.Fatalf("%d history entries, want 2", len(h))
		}
		wantEntry := repository.HistoryEntry{ID: h[1].ID, CaseID: c.ID, Time: e.nowStored(), Actor: "users/b", Method: "SubmitCase",
			FromStatus: "DRAFT", ToStatus: "SUBMITTED", ChangedFields: repository.List[string]{"status", "assignee"}}
		sameRow(t, &h[1], &wantEntry, "history entry")
		// A mutation may record no history entry.
		_, err = e.s.MutateCase(e.ctx, c.ID, repository.Etag(2), func(_ context.Context, _ *repository.Case) (*repository.HistoryEntry, error) { return nil, nil })
		must(t, err, "MutateCase without history")
		if n := len(e.history(c.ID)); n != 2 {
			t.Fatalf("%d history entries after a mutation without one, want 2", n)
		}
	}},
	{"MutateStaleEtagChangesNothing", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		c = e.setStatus(c, domain.StatusSubmitted)
		before := e.history(c.ID)
		// The current etag is v2: other spellings of 2 are not it.
		for _, etag := range []string{repository.Etag(1), repository.Etag(3), "nonsense", "v02", "v+2", "v2 ", " v2", "V2", "v2.0"} {
			called := false
			_, err := e.s.MutateCase(e.ctx, c.ID, etag, func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
				called, c.Status = true, "REJECTED"
				return &repository.HistoryEntry{Actor: "users/x", Method: "Stale"}, nil
			})
			wantErr(t, err, repository.ErrEtagMismatch, "MutateCase with etag %q", etag)
			if called {
				t.Errorf("MutateCase with etag %q called the callback", etag)
			}
		}
		got, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		sameRow(t, got, c, "case after stale etags")
		if after := e.history(c.ID); len(after) != len(before) {
			t.Fatalf("stale MutateCase wrote history: %d entries, want %d", len(after), len(before))
		}
		_, err = e.s.MutateCase(e.ctx, "no-such-case", "", func(_ context.Context, _ *repository.Case) (*repository.HistoryEntry, error) { return nil, nil })
		wantErr(t, err, repository.ErrNotFound, "MutateCase of a missing case")
	}},
	{"MutateErrorRollsBack", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		e.clock.Advance(time.Hour)
		_, err := e.s.MutateCase(e.ctx, c.ID, repository.Etag(1), func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			c.Status, c.OutcomeSummary = "RESOLVED", "should not stick"
			return &repository.HistoryEntry{Actor: "users/x", Method: "Refused"}, errRefused
		})
		wantErr(t, err, errRefused, "MutateCase whose callback fails")
		got, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		sameRow(t, got, c, "case after failed mutation")
		if h := e.history(c.ID); len(h) != 1 {
			t.Fatalf("failed MutateCase left %d history entries, want only the creation", len(h))
		}
		// A precondition from the rules comes back as it was returned.
		_, err = e.s.MutateCase(e.ctx, c.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
			_, err := domain.Transition(c.Status, domain.ActionClose)
			return nil, err
		})
		wantPrecondition(t, err, "ILLEGAL_TRANSITION", "MutateCase with an illegal transition")
	}},
	{"HistoryInOrder", func(t *testing.T, e *env) {
		f := e.newFamily()
		c := e.newCase(f)
		other := e.newCase(f)
		steps := []domain.Status{domain.StatusSubmitted, domain.StatusAccepted, domain.StatusInProgress, domain.StatusResolved, domain.StatusClosed}
		for _, st := range steps {
			e.setStatus(c, st)
			e.setStatus(other, domain.StatusWithdrawn)
		}
		check := func(h []repository.HistoryEntry, what string) {
			t.Helper()
			if len(h) != len(steps)+1 {
				t.Fatalf("%s: %d history entries, want %d", what, len(h), len(steps)+1)
			}
			from := domain.StatusDraft
			for i, st := range steps {
				got := h[i+1]
				if got.CaseID != c.ID || got.FromStatus != from || got.ToStatus != st || got.ID <= h[i].ID || got.Time.Before(h[i].Time) {
					t.Fatalf("%s: entry %d is %+v, want %s -> %s after %+v", what, i+1, got, from, st, h[i])
				}
				from = st
			}
		}
		check(e.history(c.ID), "ListHistory")
		paged, n := pages(t, 2, func(p repository.Page) ([]repository.HistoryEntry, *repository.Cursor, error) {
			return e.s.ListHistory(e.ctx, c.ID, p)
		})
		check(paged, "ListHistory in pages of 2")
		if n != 3 {
			t.Errorf("%d pages of 2 for 6 entries, want 3", n)
		}
		_, _, err := e.s.ListHistory(e.ctx, "no-such-case", repository.Page{})
		wantErr(t, err, repository.ErrNotFound, "ListHistory of a missing case")
	}},
	{"Notes", func(t *testing.T, e *env) {
		f := e.newFamily()
		c, other := e.newCase(f, withStatus(domain.StatusAccepted)), e.newCase(f)
		var want []repository.Note
		for i := range 5 {
			e.clock.Advance(time.Second)
			n := &repository.Note{ID: fmt.Sprintf("note-%d", i), CaseID: c.ID, Body: fmt.Sprintf("Test note %d", i), Author: "users/a"}
			must(t, e.s.CreateNote(e.ctx, n), "CreateNote")
			if !n.CreateTime.Equal(e.nowStored()) {
				t.Fatalf("note create time %v, want %v", n.CreateTime, e.nowStored())
			}
			checkStamped(t, n.CreateTime, "note CreateTime")
			want = append(want, *n)
			must(t, e.s.CreateNote(e.ctx, &repository.Note{ID: fmt.Sprintf("other-%d", i), CaseID: other.ID, Body: "x", Author: "users/a"}), "CreateNote")
		}
		got, n := pages(t, 2, func(p repository.Page) ([]repository.Note, *repository.Cursor, error) {
			return e.s.ListNotes(e.ctx, c.ID, p)
		})
		if len(got) != len(want) || n != 3 {
			t.Fatalf("ListNotes: %d notes in %d pages, want %d in 3", len(got), n, len(want))
		}
		for i := range got {
			sameRow(t, &got[i], &want[i], fmt.Sprintf("note %d", i))
		}
		h := e.history(c.ID)
		if len(h) != 1+len(want) {
			t.Fatalf("%d history entries, want creation plus one per note", len(h))
		}
		for _, x := range h[1:] {
			if x.Method != "CreateNote" || x.FromStatus != "ACCEPTED" || x.ToStatus != "ACCEPTED" || x.Actor != "users/a" {
				t.Fatalf("note history entry %+v", x)
			}
		}
		wantErr(t, e.s.CreateNote(e.ctx, &repository.Note{ID: "orphan", CaseID: "no-such-case", Body: "x", Author: "users/a"}),
			repository.ErrNotFound, "CreateNote on a missing case")
		_, _, err := e.s.ListNotes(e.ctx, "no-such-case", repository.Page{})
		wantErr(t, err, repository.ErrNotFound, "ListNotes of a missing case")
	}},
}

// writers is how many goroutines the concurrency tests run at once.
const writers = 20

var concurrencyTests = []test{
	// On PostgreSQL a create's last statement and its COMMIT go in one
	// pipeline on a connection whose transaction the store began by hand:
	// a statement that fails there must roll everything back, answer the
	// duplicate as a conflict, and give the connection back clean.
	{"CreateFailingUnderTheHeadsLeavesNothing", func(t *testing.T, e *env) {
		f := e.newFamily()
		first := e.newCase(f)
		casesAudited := func() (n int64) {
			must(t, e.db.Model(&repository.AuditRecord{}).Where("resource LIKE 'cases/%'").Count(&n).Error, "count case audit entries")
			return n
		}
		audited := casesAudited()
		// The sequence handed out the first number again: the case
		// insert in the locked statement breaks case_number's uniqueness.
		must(t, e.db.Exec("UPDATE case_number_sequences SET last_value = last_value - 1").Error, "rewind the case numbers")
		// More than the pool's connections, so a connection left in a
		// transaction would be handed out again.
		for range 25 {
			c := e.openCaseFor(f)
			err := e.s.CreateCase(e.ctx, c, creationEntry(c))
			var conflict *repository.ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("create with a taken number: %v, want a ConflictError", err)
			}
		}
		if n := casesAudited(); n != audited {
			t.Fatalf("failed creates left %d audit entries", n-audited)
		}
		must(t, e.db.Exec("UPDATE case_number_sequences SET last_value = last_value + 1").Error, "restore the case numbers")
		next := e.newCase(f)
		if next.CaseNumber == first.CaseNumber {
			t.Fatalf("the next create took number %s again", next.CaseNumber)
		}
		var cases int64
		must(t, e.db.Model(&repository.Case{}).Count(&cases).Error, "count cases")
		if cases != 2 {
			t.Fatalf("%d cases stored, want 2", cases)
		}
		if _, err := e.s.VerifyAudit(e.ctx); err != nil {
			t.Fatalf("VerifyAudit: %v", err)
		}
	}},
	{"CaseNumbersUnderConcurrentCreates", func(t *testing.T, e *env) {
		f := e.newFamily()
		e.newCase(f) // number 1 exists before the burst
		start := make(chan struct{})
		var wg sync.WaitGroup
		made := make([]*repository.Case, writers)
		errs := make([]error, writers)
		for i := range writers {
			made[i] = e.openCaseFor(f)
			wg.Go(func() {
				<-start
				errs[i] = e.s.CreateCase(e.ctx, made[i], creationEntry(made[i]))
			})
		}
		close(start)
		wg.Wait()
		seen := map[string]bool{}
		for i, err := range errs {
			must(t, err, "concurrent CreateCase %d", i)
			seen[made[i].CaseNumber] = true
		}
		for n := 2; n <= writers+1; n++ {
			if num := fmt.Sprintf("FD-2026-%06d", n); !seen[num] {
				t.Errorf("no case got number %s; numbers handed out: %v", num, seen)
			}
		}
		if len(seen) != writers {
			t.Fatalf("%d distinct numbers for %d cases", len(seen), writers)
		}
		if c := e.newCase(f); c.CaseNumber != fmt.Sprintf("FD-2026-%06d", writers+2) {
			t.Fatalf("case after the burst: number %q", c.CaseNumber)
		}
		if all := e.allCases(repository.CaseQuery{}); len(all) != writers+2 {
			t.Fatalf("%d cases stored, want %d", len(all), writers+2)
		}
	}},
	{"ManyCreatesOneNumberChainAndFeed", func(t *testing.T, e *env) {
		// 64 creates at once, with batches and updates of cases among
		// them: every kind of writer that takes the case numbers or the
		// audit and feed heads, so a lock taken out of order deadlocks here.
		const creates, batchers, rounds, updates = 64, 4, 4, 8
		const batches = batchers * rounds
		// A family each: creates lock their household and subject, and
		// one shared family would queue them all there, before the heads.
		updated := make([]*repository.Case, updates)
		for i := range updated {
			updated[i] = e.newCase(e.newFamily())
		}
		made := make([]*repository.Case, creates)
		for i := range made {
			made[i] = e.openCaseFor(e.newFamily())
		}
		// Each batcher writes its batches one after the other, so that
		// batches keep arriving while the creates queue on the heads.
		batch := make([][][]*repository.Case, batchers)
		for i := range batch {
			for range rounds {
				batch[i] = append(batch[i], []*repository.Case{e.openCaseFor(e.newFamily()), e.openCaseFor(e.newFamily())})
			}
		}
		before := len(e.allEvents(repository.EventQuery{}))
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, creates+batches+updates)
		for _, c := range made {
			wg.Go(func() {
				<-start
				errs <- e.s.CreateCase(e.ctx, c, creationEntry(c))
			})
		}
		for _, mine := range batch {
			wg.Go(func() {
				<-start
				for _, cs := range mine {
					errs <- e.s.CreateCases(e.ctx, cs, []*repository.HistoryEntry{creationEntry(cs[0]), creationEntry(cs[1])})
				}
			})
		}
		for i, c := range updated {
			wg.Go(func() {
				<-start
				_, err := e.s.MutateCase(e.ctx, c.ID, repository.Etag(1), func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
					c.Assignee = fmt.Sprintf("users/u%d", i)
					return &repository.HistoryEntry{Actor: c.Assignee, Method: "AssignCase"}, nil
				})
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err, "a concurrent write")
		}
		total := updates + creates + 2*batches
		seen := map[string]bool{}
		for _, c := range e.allCases(repository.CaseQuery{}) {
			seen[c.CaseNumber] = true
		}
		for n := 1; n <= total; n++ {
			if num := fmt.Sprintf("FD-2026-%06d", n); !seen[num] {
				t.Errorf("no case has number %s", num)
			}
		}
		if len(seen) != total {
			t.Fatalf("%d distinct case numbers for %d cases", len(seen), total)
		}
		for _, c := range made {
			h := e.history(c.ID)
			if len(h) != 1 || h[0].ID == 0 || h[0].Method != "CreateCase" {
				t.Fatalf("history of a concurrent create: %+v", h)
			}
		}
		// Every create, batch item and update: one audit entry and one
		// event each, after the fixtures' own.
		events := e.allEvents(repository.EventQuery{})
		positions(t, events, before+creates+2*batches+updates)
		if n := e.verified(); n != int64(len(e.auditLog())) || n < int64(creates+2*batches+updates) {
			t.Fatalf("VerifyAudit checked %d entries of %d", n, len(e.auditLog()))
		}
	}},
	{"OneWinnerPerEtag", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() {
				<-start
				_, errs[i] = e.s.MutateCase(e.ctx, c.ID, repository.Etag(1), func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
					c.Assignee = fmt.Sprintf("users/w%d", i)
					return &repository.HistoryEntry{Actor: c.Assignee, Method: "AssignCase"}, nil
				})
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !isEtagMismatch(err):
				t.Errorf("writer %d: %v, want success or ErrEtagMismatch", i, err)
			}
		}
		got, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		if wins != 1 || got.Revision != 2 {
			t.Fatalf("%d writers won with one etag (revision now %d); want exactly 1 and revision 2", wins, got.Revision)
		}
		if h := e.history(c.ID); len(h) != 2 || h[1].Actor != got.Assignee {
			t.Fatalf("history after the race: %+v; want the creation and the winner's entry", h)
		}
	}},
}

func isEtagMismatch(err error) bool { return err != nil && errors.Is(err, repository.ErrEtagMismatch) }
