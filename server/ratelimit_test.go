package server

import (
	"testing"
	"time"
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
