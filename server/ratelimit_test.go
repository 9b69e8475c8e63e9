package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/ratelimit"
)

// TestBatchRoleLimits: a principal of the batch role alone counts against
// the batch buckets, anyone else (a mixed credential too) against people's.
func TestBatchRoleLimits(t *testing.T) {
	ctx := context.Background()
	l := &limits{local: ratelimit.NewMemory()}
	r := roleLimits{name: "rate", people: newLimit(1, 1), batch: newLimit(100, 100)}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	job := &principal.Principal{ID: "job", Roles: []principal.Role{principal.Batch}}
	for i := range 100 {
		k, lim := r.of(job)
		if d := l.take(ctx, k, lim, 1, now); d != 0 {
			t.Fatalf("batch call %d delayed %v", i+1, d)
		}
	}
	for _, p := range []*principal.Principal{
		{ID: "person", Roles: []principal.Role{principal.Caseworker}},
		{ID: "mixed", Roles: []principal.Role{principal.Batch, principal.Supervisor}},
	} {
		k, lim := r.of(p)
		l.take(ctx, k, lim, 1, now)
		if d := l.take(ctx, k, lim, 1, now); d == 0 {
			t.Errorf("%s's second call in a second went through people's limit of one", p.ID)
		}
	}
	if newLimit(0, 5) != (ratelimit.Limit{}) {
		t.Error("a zero rate must disable limiting")
	}
	if got := newLimit(2.5, 0); got.Burst != 3 {
		t.Errorf("burst 0 at 2.5/s became %d, want one second's worth (3)", got.Burst)
	}
}

// failingStore answers every visit with an error, as an unreachable Redis
// or database would.
type failingStore struct{}

var errDown = errors.New("store down")

func (failingStore) Take(context.Context, string, ratelimit.Limit, int, time.Time) (time.Duration, error) {
	return 0, errDown
}
func (failingStore) Blocked(context.Context, string, time.Time) (time.Duration, error) {
	return 0, errDown
}
func (failingStore) Miss(context.Context, string, time.Time, func(int) time.Duration) (int, error) {
	return 0, errDown
}
func (failingStore) Reset(context.Context, string) error { return errDown }

// TestLimitsFallBack: while the shared store fails, the server limits with
// its own buckets: neither admitting everything nor refusing everyone.
func TestLimitsFallBack(t *testing.T) {
	ctx := context.Background()
	l := &limits{shared: failingStore{}, local: ratelimit.NewMemory(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	lim := newLimit(1, 2)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range 2 {
		if d := l.take(ctx, "k", lim, 1, now); d != 0 {
			t.Fatalf("call %d within the burst refused while the store is down", i+1)
		}
	}
	if d := l.take(ctx, "k", lim, 1, now); d != time.Second {
		t.Fatalf("call past the burst while the store is down: wait %v, want 1s (limited by this server)", d)
	}
	for range missesBeforeSlowdown {
		l.miss(ctx, "s", now, penalty)
	}
	if d := l.blocked(ctx, "s", now); d != firstPenalty {
		t.Fatalf("streak while the store is down: blocked %v, want %v", d, firstPenalty)
	}
}

// TestPenaltyWithinStreak: no penalty outlasts the time a streak is kept,
// or a shared store would forget a streak while it still bars.
func TestPenaltyWithinStreak(t *testing.T) {
	if maxPenalty > ratelimit.StreakIdle {
		t.Fatalf("maxPenalty %v outlasts ratelimit.StreakIdle %v", maxPenalty, ratelimit.StreakIdle)
	}
}
