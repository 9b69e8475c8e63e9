package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters keeps one token bucket per principal, so one busy or runaway
// caller cannot starve the others. A nil *limiters admits everything.
type limiters struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	byID      map[string]*rate.Limiter
	lastSweep time.Time
}

// sweepEvery spaces out the scans for idle buckets, so their cost is spread
// over many calls.
const sweepEvery = time.Minute

// newLimiters returns limiters allowing perSecond calls per principal with
// bursts of burst; perSecond <= 0 disables limiting. A burst below one would
// refuse every call, so it defaults to one second's worth.
func newLimiters(perSecond float64, burst int) *limiters {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limiters{limit: rate.Limit(perSecond), burst: burst, byID: map[string]*rate.Limiter{}}
}

// delay takes a token from id's bucket and returns 0, or, when the bucket is
// empty, takes nothing and returns how long until a token will be there.
func (l *limiters) delay(id string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	lim, ok := l.byID[id]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.byID[id] = lim
	}
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d > 0 {
		// A refused call must not use up the token it was told to wait for.
		r.CancelAt(now)
	}
	return d
}

// sweep forgets the buckets that have refilled: a fresh bucket would be the
// same, so forgetting them changes no answer and keeps the map as small as
// the set of recently active principals.
func (l *limiters) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	for id, lim := range l.byID {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.byID, id)
		}
	}
}
