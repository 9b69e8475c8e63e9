package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/metrics"
	"github.com/fengdu-county/casework/internal/ratelimit"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
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

// TestLimitStoreFailuresCounted: each failed visit to a real shared store
// is counted by store and reason, and the call is judged by the server's
// own buckets meanwhile. PostgreSQL is made to time out by a transaction
// that holds the bucket's row; Redis to fail by a closed client.
func TestLimitStoreFailuresCounted(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	quiet := slog.New(slog.DiscardHandler)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	lim := newLimit(1, 2)

	db := testdb.Postgres(t)
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		t.Fatal(err)
	}
	holder, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback() }()
	if _, err := holder.ExecContext(ctx, "INSERT INTO rate_buckets (key, tat, admitted) VALUES ('held', 0, TRUE)"); err != nil {
		t.Fatal(err)
	}
	pg := &limits{shared: ratelimit.NewSQL(sqlDB, repository.Postgres), local: ratelimit.NewMemory(), log: quiet,
		kind: LimitStorePostgres, countFailure: m.LimitStoreFailed}
	for i := range 2 {
		if d := pg.take(ctx, "held", lim, 1, now); d != 0 {
			t.Fatalf("call %d within the burst refused while the store times out", i+1)
		}
	}
	_ = holder.Rollback()
	if d := pg.take(ctx, "free", lim, 1, now); d != 0 {
		t.Fatalf("a take from the store once free: wait %v", d)
	}

	c, err := ratelimit.DialRedis(ctx, testdb.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	rd := &limits{shared: ratelimit.NewRedis(c, "casework:test:"+testdb.Suffix()+":"), local: ratelimit.NewMemory(), log: quiet,
		kind: LimitStoreRedis, countFailure: m.LimitStoreFailed}
	rd.take(ctx, "k", lim, 1, now)
	rd.blocked(ctx, "k", now)
	rd.reset(ctx, "k")
	// A caller that went away is not the store's failure.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	rd.take(gone, "k", lim, 1, now)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`casework_rate_limit_store_failures_total{reason="timeout",store="postgres"} 2`,
		`casework_rate_limit_store_failures_total{reason="error",store="postgres"} 0`,
		`casework_rate_limit_store_failures_total{reason="error",store="redis"} 3`,
		`casework_rate_limit_store_failures_total{reason="timeout",store="redis"} 0`,
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("the scrape lacks %s:\n%s", want, grepLines(rec.Body.String(), "rate_limit_store"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
