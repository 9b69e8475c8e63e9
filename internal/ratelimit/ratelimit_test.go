package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/ratelimit"
	"github.com/fengdu-county/casework/internal/testdb"
)

// store is every implementation's methods, as the server uses them.
type store interface {
	Take(ctx context.Context, key string, l ratelimit.Limit, n int, now time.Time) (time.Duration, error)
	Blocked(ctx context.Context, key string, now time.Time) (time.Duration, error)
	Miss(ctx context.Context, key string, now time.Time, penalty func(int) time.Duration) (int, error)
	Reset(ctx context.Context, key string) error
}

// stores opens each implementation: the conformance cases below run on all
// of them, against a real PostgreSQL, SQLite and Redis.
func stores() map[string]func(t testing.TB) store {
	return map[string]func(t testing.TB) store{
		"memory": func(testing.TB) store { return ratelimit.NewMemory() },
		"postgres": func(t testing.TB) store {
			return sqlStore(t, testdb.Postgres(t))
		},
		"sqlite": func(t testing.TB) store {
			return sqlStore(t, testdb.SQLite(t))
		},
		"redis": func(t testing.TB) store {
			c, err := ratelimit.DialRedis(context.Background(), testdb.Redis(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return ratelimit.NewRedis(c, "casework-test:"+testdb.Suffix()+":")
		},
	}
}

func sqlStore(t testing.TB, db testdb.DB) store {
	t.Helper()
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		t.Fatal(err)
	}
	return ratelimit.NewSQL(sqlDB, db.Dialect)
}

// base is the tests' clock: every time is passed in, so no case waits.
var base = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

func TestConformance(t *testing.T) {
	cases := map[string]func(t *testing.T, s store){
		"burst":            testBurst,
		"refill":           testRefill,
		"keys_apart":       testKeysApart,
		"n_at_once":        testNAtOnce,
		"above_burst":      testAboveBurst,
		"refusal_is_free":  testRefusalFree,
		"disabled":         testDisabled,
		"concurrent":       testConcurrent,
		"streak":           testStreak,
		"streak_goes_idle": testStreakIdle,
	}
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			for c, run := range cases {
				t.Run(c, func(t *testing.T) { run(t, s) })
			}
		})
	}
}

// benchStore opens the store name for a benchmark.
func benchStore(b *testing.B, name string) store { return stores()[name](b) }

// key is a bucket of the test's own.
func key(t *testing.T) string { return t.Name() }

func take(t *testing.T, s store, k string, l ratelimit.Limit, n int, now time.Time) time.Duration {
	t.Helper()
	d, err := s.Take(context.Background(), k, l, n, now)
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	return d
}

// testBurst: a fresh bucket admits burst calls at one instant, then refuses,
// saying to come back after one interval.
func testBurst(t *testing.T, s store) {
	l := ratelimit.Limit{Rate: 10, Burst: 5}
	for i := range 5 {
		if d := take(t, s, key(t), l, 1, base); d != 0 {
			t.Fatalf("call %d of the burst refused (wait %v)", i+1, d)
		}
	}
	if d := take(t, s, key(t), l, 1, base); d != 100*time.Millisecond {
		t.Fatalf("call after the burst: wait %v, want 100ms", d)
	}
}

// testRefill: tokens come back at the rate, and no more than the burst.
func testRefill(t *testing.T, s store) {
	l := ratelimit.Limit{Rate: 10, Burst: 3}
	for range 3 {
		take(t, s, key(t), l, 1, base)
	}
	if d := take(t, s, key(t), l, 1, base.Add(50*time.Millisecond)); d != 50*time.Millisecond {
		t.Fatalf("half an interval later: wait %v, want 50ms", d)
	}
	if d := take(t, s, key(t), l, 1, base.Add(100*time.Millisecond)); d != 0 {
		t.Fatalf("one interval later: refused, wait %v", d)
	}
	// An hour idle refills to the burst, not beyond.
	later := base.Add(time.Hour)
	admitted := 0
	for range 10 {
		if take(t, s, key(t), l, 1, later) == 0 {
			admitted++
		}
	}
	if admitted != 3 {
		t.Fatalf("after an hour idle: %d admitted at once, want the burst (3)", admitted)
	}
}

// testKeysApart: one key's empty bucket leaves another's full.
func testKeysApart(t *testing.T, s store) {
	l := ratelimit.Limit{Rate: 1, Burst: 2}
	a, b := key(t)+"/a", key(t)+"/b"
	take(t, s, a, l, 2, base)
	if d := take(t, s, a, l, 1, base); d <= 0 {
		t.Fatalf("a's third call admitted")
	}
	if d := take(t, s, b, l, 2, base); d != 0 {
		t.Fatalf("b refused after a's calls: wait %v", d)
	}
}

// testNAtOnce: n tokens are taken all or none.
func testNAtOnce(t *testing.T, s store) {
	l := ratelimit.Limit{Rate: 1, Burst: 10}
	if d := take(t, s, key(t), l, 7, base); d != 0 {
		t.Fatalf("7 of 10: refused")
	}
	if d := take(t, s, key(t), l, 4, base); d != time.Second {
		t.Fatalf("4 with 3 left: wait %v, want 1s", d)
	}
	if d := take(t, s, key(t), l, 3, base); d != 0 {
		t.Fatalf("3 with 3 left: refused (wait %v); the refused 4 took some", d)
	}
}

// testAboveBurst: more than the burst can never be taken, and trying takes
// nothing.
func testAboveBurst(t *testing.T, s store) {
	l := ratelimit.Limit{Rate: 1, Burst: 5}
	if d := take(t, s, key(t), l, 6, base); d >= 0 {
		t.Fatalf("6 with a burst of 5: wait %v, want negative (never)", d)
	}
	if d := take(t, s, key(t), l, 5, base); d != 0 {
		t.Fatalf("the whole burst after the refusal: wait %v", d)
	}
}

// testRefusalFree: a refused call does not push the next admission later,
// or a client retrying too early would lock itself out.
func testRefusalFree(t *testing.T, s store) {
	l := ratelimit.Limit{Rate: 2, Burst: 1}
	take(t, s, key(t), l, 1, base)
	for range 20 {
		if d := take(t, s, key(t), l, 1, base.Add(100*time.Millisecond)); d != 400*time.Millisecond {
			t.Fatalf("refusal: wait %v, want 400ms every time", d)
		}
	}
	if d := take(t, s, key(t), l, 1, base.Add(500*time.Millisecond)); d != 0 {
		t.Fatalf("after the wait: refused (%v)", d)
	}
}

func testDisabled(t *testing.T, s store) {
	for range 100 {
		if d := take(t, s, key(t), ratelimit.Limit{}, 1, base); d != 0 {
			t.Fatalf("no limit refused a call")
		}
	}
}

// testConcurrent: takers racing on one key at one instant get exactly the
// burst between them, however the store interleaves them.
func testConcurrent(t *testing.T, s store) {
	l := ratelimit.Limit{Rate: 1, Burst: 40}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 15 {
				d, err := s.Take(context.Background(), key(t), l, 1, base)
				if err != nil {
					t.Error(err)
					return
				}
				if d == 0 {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != 40 {
		t.Fatalf("120 racing calls: %d admitted, want the burst (40)", n)
	}
}

// penalty bars from the third miss on, a minute per miss beyond two.
func penalty(misses int) time.Duration {
	if misses < 3 {
		return 0
	}
	return time.Duration(misses-2) * time.Minute
}

// testStreak: misses count up, bar from the threshold, and a reset ends them.
func testStreak(t *testing.T, s store) {
	ctx := context.Background()
	k := key(t)
	for i := 1; i <= 4; i++ {
		n, err := s.Miss(ctx, k, base, penalty)
		if err != nil || n != i {
			t.Fatalf("miss %d: counted %d, %v", i, n, err)
		}
	}
	if d, err := s.Blocked(ctx, k, base.Add(30*time.Second)); err != nil || d != 90*time.Second {
		t.Fatalf("after 4 misses: blocked %v (%v), want 90s", d, err)
	}
	if d, _ := s.Blocked(ctx, k+"/other", base); d != 0 {
		t.Fatalf("another key blocked %v", d)
	}
	if d, _ := s.Blocked(ctx, k, base.Add(2*time.Minute)); d != 0 {
		t.Fatalf("blocked after the bar ended: %v", d)
	}
	if err := s.Reset(ctx, k); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Miss(ctx, k, base.Add(3*time.Minute), penalty); n != 1 {
		t.Fatalf("first miss after a reset counted %d", n)
	}
	if d, _ := s.Blocked(ctx, k, base.Add(3*time.Minute)); d != 0 {
		t.Fatalf("one miss after a reset blocks %v", d)
	}
}

// testStreakIdle: a streak idle for StreakIdle starts over.
func testStreakIdle(t *testing.T, s store) {
	ctx := context.Background()
	k := key(t)
	for range 3 {
		_, _ = s.Miss(ctx, k, base, penalty)
	}
	// Redis expires the key by its own clock; the stores that judge by the
	// given time see the same thing from the idle rule.
	if n, err := s.Miss(ctx, k, base.Add(ratelimit.StreakIdle+time.Second), penalty); err != nil || n != 1 {
		t.Fatalf("miss after an idle hour counted %d (%v), want 1", n, err)
	}
}

// TestSQLSweep: the sweep deletes full buckets and idle streaks only, on
// both dialects, and what it deleted answers as it did before.
func TestSQLSweep(t *testing.T) {
	for _, open := range []func(testing.TB) testdb.DB{testdb.SQLite, testdb.Postgres} {
		db := open(t)
		t.Run(string(db.Dialect), func(t *testing.T) {
			sqlDB, err := db.Gorm.DB()
			if err != nil {
				t.Fatal(err)
			}
			s := ratelimit.NewSQL(sqlDB, db.Dialect)
			ctx := context.Background()
			l := ratelimit.Limit{Rate: 1, Burst: 2}
			take(t, s, "full-soon", l, 1, base)
			take(t, s, "busy", l, 2, base.Add(2*time.Second))
			_, _ = s.Miss(ctx, "old-streak", base.Add(-2*ratelimit.StreakIdle), penalty)
			_, _ = s.Miss(ctx, "new-streak", base, penalty)
			n, err := s.Sweep(ctx, base.Add(2*time.Second))
			if err != nil || n != 2 {
				t.Fatalf("sweep deleted %d rows (%v), want 2 (a full bucket, an idle streak)", n, err)
			}
			if d := take(t, s, "busy", l, 1, base.Add(2*time.Second)); d != time.Second {
				t.Fatalf("the busy bucket after the sweep: wait %v, want 1s", d)
			}
			if n, _ := s.Miss(ctx, "new-streak", base, penalty); n != 2 {
				t.Fatalf("the recent streak after the sweep counted %d, want 2", n)
			}
		})
	}
}
