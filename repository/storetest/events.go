package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/repository"
)

// allEvents reads the whole feed through ListEvents, a small page at a time.
func (e *env) allEvents(q repository.EventQuery) []repository.EventRecord {
	e.t.Helper()
	var out []repository.EventRecord
	q.Limit = 3
	for {
		rows, next, err := e.s.ListEvents(e.ctx, q)
		if err != nil {
			e.t.Fatalf("ListEvents: %v", err)
		}
		out = append(out, rows...)
		if next == q.After {
			return out
		}
		q.After = next
	}
}

// positions checks that events carry exactly 1..n, in order.
func positions(t *testing.T, evs []repository.EventRecord, n int) {
	t.Helper()
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for i, ev := range evs {
		if ev.Position != int64(i+1) {
			t.Fatalf("event %d has position %d: the feed must be gap-free and ordered", i, ev.Position)
		}
	}
}

var eventTests = []test{
	{"EachChangeAppendsOneEvent", func(t *testing.T, e *env) {
		e.ctx = audit.NewContext(e.ctx, &audit.Record{Principal: "u1", Method: "/casework.v1.HouseholdService/CreateHousehold"})
		f := e.newFamily()
		h, err := e.s.UpdateHousehold(e.ctx, f.h.ID, "", func(_ context.Context, h *repository.Household) error { h.Address = "新地址"; return nil })
		if err != nil {
			t.Fatal(err)
		}
		// A refused change appends nothing.
		if _, err := e.s.UpdateHousehold(e.ctx, f.h.ID, "v999", func(_ context.Context, _ *repository.Household) error { return nil }); !errors.Is(err, repository.ErrEtagMismatch) {
			t.Fatalf("stale update = %v", err)
		}
		evs := e.allEvents(repository.EventQuery{})
		positions(t, evs, 3)
		want := []struct{ resource, rtype, etag string }{
			{"households/" + f.h.ID, "households", "v1"},
			{"households/" + f.h.ID + "/members/" + f.m.ID, "members", "v1"},
			{"households/" + f.h.ID, "households", repository.Etag(h.Revision)},
		}
		for i, w := range want {
			ev := evs[i]
			if ev.Resource != w.resource || ev.ResourceType != w.rtype || ev.Etag != w.etag || ev.Type != "CreateHousehold" {
				t.Errorf("event %d = %+v, want %+v", i, ev, w)
			}
		}
		if !slices.Equal(evs[2].ChangedFields, repository.List[string]{"address"}) {
			t.Errorf("changed fields = %q, want address (names, never values)", evs[2].ChangedFields)
		}
		if head, err := e.s.EventHead(e.ctx); err != nil || head != 3 {
			t.Fatalf("EventHead = %d, %v", head, err)
		}
	}},
	{"FiltersAdvancePastSkippedEvents", func(t *testing.T, e *env) {
		f := e.newFamily()
		e.newCase(f)
		got, next, err := e.s.ListEvents(e.ctx, repository.EventQuery{ResourceTypes: []string{"cases"}})
		if err != nil || len(got) != 1 || got[0].ResourceType != "cases" || next != 3 {
			t.Fatalf("cases only = %+v, next %d, %v; want the one case event and next 3", got, next, err)
		}
		if rest := e.allEvents(repository.EventQuery{After: next}); len(rest) != 0 {
			t.Fatalf("events after the end: %+v", rest)
		}
	}},
	{"ConcurrentWritersGetGapFreePositions", func(t *testing.T, e *env) {
		const writers = 20
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := 0; i < writers; i++ {
			h := e.newHousehold()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.s.UpdateHousehold(e.ctx, h.ID, "", func(_ context.Context, h *repository.Household) error { h.Hardship = true; return nil })
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		positions(t, e.allEvents(repository.EventQuery{}), 2*writers)
	}},
	{"PrunedPositionsAreRefused", func(t *testing.T, e *env) {
		e.newHousehold()
		e.newHousehold()
		e.clock.Advance(48 * time.Hour)
		e.newHousehold()
		n, err := e.s.PruneEvents(e.ctx, e.clock.Now().Add(-24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PruneEvents = %d, %v; want 2", n, err)
		}
		if _, _, err := e.s.ListEvents(e.ctx, repository.EventQuery{After: 1}); !errors.Is(err, repository.ErrEventsPruned) {
			t.Fatalf("after a pruned position: %v, want ErrEventsPruned", err)
		}
		got, _, err := e.s.ListEvents(e.ctx, repository.EventQuery{After: 2})
		if err != nil || len(got) != 1 || got[0].Position != 3 {
			t.Fatalf("after the pruned ones = %+v, %v", got, err)
		}
	}},
}
