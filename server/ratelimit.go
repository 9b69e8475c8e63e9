package server

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/fengdu-county/casework/internal/access/principal"
)

// roleLimits keeps the batch role's buckets apart from people's: a nightly
// import makes thousands of calls in minutes where a person makes a few a
// second, so each gets limits of its own (--batch-rate-limit beside
// --rate-limit) instead of one setting too tight for the job or too loose
// for people.
type roleLimits struct {
	people, batch *limiters
}

// of is the limiters that p's calls count against: the batch role's for a
// principal that holds it alone, people's for everyone else (a credential
// that mixes roles is limited like the person it also is).
func (r roleLimits) of(p *principal.Principal) *limiters {
	if batchOnly(p) {
		return r.batch
	}
	return r.people
}

func batchOnly(p *principal.Principal) bool {
	if p == nil || len(p.Roles) == 0 {
		return false
	}
	for _, role := range p.Roles {
		if role != principal.Batch {
			return false
		}
	}
	return true
}

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
	return l.delayN(id, now, 1)
}

// delayN takes n tokens at once (a batch of lookups) or none; n larger than
// the burst can never be taken, and is answered with a negative delay.
func (l *limiters) delayN(id string, now time.Time, n int) time.Duration {
	if l == nil {
		return 0
	}
	if n > l.burst {
		return -1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	lim, ok := l.byID[id]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.byID[id] = lim
	}
	r := lim.ReserveN(now, n)
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
