package server

import (
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
)

func TestLimiters(t *testing.T) {
	if newLimiters(0, 5).delay("anyone", time.Now()) != 0 {
		t.Fatal("a zero rate must disable limiting")
	}
	l := newLimiters(1, 2) // one call a second, two at once
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 2 {
		if d := l.delay("a", now); d != 0 {
			t.Fatalf("call %d within the burst delayed %v", i+1, d)
		}
	}
	if d := l.delay("a", now); d != time.Second {
		t.Fatalf("third call: delay %v, want 1s", d)
	}
	// Being refused takes no token: after the second, a call goes through.
	if d := l.delay("a", now.Add(time.Second)); d != 0 {
		t.Fatalf("call after waiting: delay %v, want 0", d)
	}
	if d := l.delay("b", now); d != 0 {
		t.Fatalf("another principal delayed %v", d)
	}

	// Once "a" has been idle long enough for its bucket to refill, a sweep
	// forgets it; "b" just called, so it stays.
	later := now.Add(sweepEvery + time.Second)
	l.delay("b", later.Add(-time.Millisecond))
	l.delay("c", later)
	if _, ok := l.byID["a"]; ok {
		t.Error("idle principal a was not evicted")
	}
	if _, ok := l.byID["b"]; !ok {
		t.Error("active principal b was evicted")
	}
}

// TestBatchRoleLimits: a principal of the batch role alone counts against
// the batch buckets, anyone else (a mixed credential too) against people's.
func TestBatchRoleLimits(t *testing.T) {
	r := roleLimits{people: newLimiters(1, 1), batch: newLimiters(100, 100)}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	job := &principal.Principal{ID: "job", Roles: []principal.Role{principal.Batch}}
	for i := range 100 {
		if d := r.of(job).delay(job.ID, now); d != 0 {
			t.Fatalf("batch call %d delayed %v", i+1, d)
		}
	}
	for _, p := range []*principal.Principal{
		{ID: "person", Roles: []principal.Role{principal.Caseworker}},
		{ID: "mixed", Roles: []principal.Role{principal.Batch, principal.Supervisor}},
	} {
		r.of(p).delay(p.ID, now)
		if d := r.of(p).delay(p.ID, now); d == 0 {
			t.Errorf("%s's second call in a second went through people's limit of one", p.ID)
		}
	}
	// A batch of lookups takes one token per number, or none at all.
	l := newLimiters(0.5, 30)
	if d := l.delayN("job", now, 31); d >= 0 {
		t.Errorf("31 numbers against a budget of 30: delay %v, want never", d)
	}
	if d := l.delayN("job", now, 30); d != 0 {
		t.Errorf("30 numbers against a budget of 30: delay %v", d)
	}
	if d := l.delayN("job", now, 1); d <= 0 {
		t.Errorf("a lookup past a spent budget went through")
	}
}
