// Package ratelimit keeps the state behind the per-principal limits: token
// buckets (the general rate limit and the lookup budget) and streaks of
// missed lookups. It has three homes for that state: this process's memory,
// the PostgreSQL database every replica shares, and Redis. With either of
// the shared ones, n replicas behind a load balancer give a caller one
// budget, not n.
//
// Every bucket is a GCRA (generic cell rate algorithm): its whole state is
// one number per key, the theoretical arrival time (TAT) of the next call,
// so a take is one atomic read-and-write of one value — a single SQL
// statement or a single Redis script — with nothing to race. It admits the
// same calls as a token bucket of the same rate and burst that starts full.
//
// Times come from the caller (the replica's clock), so replicas must keep
// their clocks in step (NTP); a skew of s seconds lends a caller at most s
// seconds' worth of extra calls.
package ratelimit

import (
	"math"
	"time"
)

// Limit is a bucket's shape: Rate takes a second, up to Burst at once.
type Limit struct {
	Rate  float64
	Burst int
}

// StreakIdle is how long a streak of misses is kept after its last miss:
// a caller who stops for that long starts again from none. Penalties are
// never longer, or a streak would be forgotten while it still bars.
const StreakIdle = time.Hour

// gcra is a bucket's arithmetic in nanoseconds since the epoch: inc is what
// taking n tokens adds to the TAT, tau how far ahead of now the TAT may run.
type gcra struct {
	inc, tau int64
}

func newGCRA(l Limit, n int) gcra {
	interval := int64(math.Round(float64(time.Second) / l.Rate))
	interval = max(interval, 1)
	return gcra{inc: int64(n) * interval, tau: int64(l.Burst) * interval}
}

// take returns the new TAT and 0 if n tokens may be taken at now from a
// bucket whose TAT is tat, or tat unchanged and how long until they may.
func (g gcra) take(tat, now int64) (int64, time.Duration) {
	next := max(tat, now) + g.inc
	if allowAt := next - g.tau; allowAt > now {
		return tat, time.Duration(allowAt - now)
	}
	return next, 0
}

// refused is the wait a store answers for a take that n > burst makes
// impossible: no wait would let it through.
const refused = time.Duration(-1)

// checkTake answers the takes no store needs to see: a disabled limit
// admits everything (0, true), and n above the burst never fits (refused,
// true).
func checkTake(l Limit, n int) (time.Duration, bool) {
	switch {
	case l.Rate <= 0 || n <= 0:
		return 0, true
	case n > l.Burst:
		return refused, true
	}
	return 0, false
}
