package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/ratelimit"
	"github.com/fengdu-county/casework/repository"
)

// limitStore keeps the buckets of the rate limit and the lookup budget, and
// the streaks of missed lookups: in this process, or in PostgreSQL or Redis
// where every replica takes from the same bucket (internal/ratelimit).
type limitStore interface {
	Take(ctx context.Context, key string, l ratelimit.Limit, n int, now time.Time) (time.Duration, error)
	Blocked(ctx context.Context, key string, now time.Time) (time.Duration, error)
	Miss(ctx context.Context, key string, now time.Time, penalty func(int) time.Duration) (int, error)
	Reset(ctx context.Context, key string) error
}

// The stores --rate-limit-store names.
const (
	LimitStoreAuto     = "auto"
	LimitStoreMemory   = "memory"
	LimitStorePostgres = "postgres"
	LimitStoreRedis    = "redis"
)

// limitStoreTimeout bounds each visit to a shared store: the rate limit is
// on every call's path, and a store that hangs must not hang the API.
const limitStoreTimeout = 250 * time.Millisecond

// limits is where the server takes its tokens. When the shared store fails
// (unreachable, timed out) the call is judged by this process's own buckets
// instead: the limits are then per replica, as they were before they were
// shared, but neither gone (fail-open would let a caller flood the API
// while Redis is down) nor refusing everyone (fail-closed would make a
// Redis outage an outage of the whole API, and a database outage already
// answers UNAVAILABLE from the calls that need the database).
type limits struct {
	shared limitStore // nil: memory only
	local  *ratelimit.Memory
	log    *slog.Logger
	// closer releases the shared store's connection (Redis) on shutdown.
	closer io.Closer
	// lastWarn spaces the warnings of a failing store a minute apart.
	lastWarn atomic.Int64
	// kind names the shared store (LimitStorePostgres or LimitStoreRedis)
	// and countFailure, when set, counts each of its failures by kind and
	// reason: the metrics' counter.
	kind         string
	countFailure func(store, reason string)
}

// newLimits opens the store kind names (LimitStore*; "" is auto: the
// database on PostgreSQL, or Redis when redisURL is set, else memory).
func newLimits(ctx context.Context, kind, redisURL string, store Store, log *slog.Logger) (*limits, error) {
	l := &limits{local: ratelimit.NewMemory(), log: log}
	if kind == "" || kind == LimitStoreAuto {
		switch {
		case redisURL != "":
			kind = LimitStoreRedis
		case store.Dialect() == repository.Postgres:
			kind = LimitStorePostgres
		default:
			kind = LimitStoreMemory
		}
	}
	l.kind = kind
	switch kind {
	case LimitStoreMemory:
	case LimitStorePostgres:
		if store.Dialect() != repository.Postgres {
			return nil, errors.New("server: --rate-limit-store=postgres needs a PostgreSQL database (the embedded SQLite has one server, whose limits are in its memory)")
		}
		db, err := store.SQLDB()
		if err != nil {
			return nil, err
		}
		l.shared = ratelimit.NewSQL(db, store.Dialect())
	case LimitStoreRedis:
		if redisURL == "" {
			return nil, errors.New("server: --rate-limit-store=redis needs --redis-url")
		}
		c, err := ratelimit.DialRedis(ctx, redisURL)
		if err != nil {
			return nil, fmt.Errorf("server: rate limit store: %w", err)
		}
		l.shared, l.closer = ratelimit.NewRedis(c, "casework:limits:"), c
	default:
		return nil, fmt.Errorf("server: unknown rate limit store %q (auto, memory, postgres or redis)", kind)
	}
	log.Info("rate limits", "store", kind)
	return l, nil
}

// take takes n tokens from key's bucket under lim; see ratelimit.
// A nil *limits admits everything.
func (l *limits) take(ctx context.Context, key string, lim ratelimit.Limit, n int, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	return sharedOrLocal(ctx, l, func(ctx context.Context, st limitStore) (time.Duration, error) {
		return st.Take(ctx, key, lim, n, now)
	})
}

func (l *limits) blocked(ctx context.Context, key string, now time.Time) time.Duration {
	return sharedOrLocal(ctx, l, func(ctx context.Context, st limitStore) (time.Duration, error) {
		return st.Blocked(ctx, key, now)
	})
}

func (l *limits) miss(ctx context.Context, key string, now time.Time, penalty func(int) time.Duration) int {
	return sharedOrLocal(ctx, l, func(ctx context.Context, st limitStore) (int, error) {
		return st.Miss(ctx, key, now, penalty)
	})
}

// sharedOrLocal asks the shared store, given limitStoreTimeout to answer,
// and this process's buckets when there is none or it failed.
func sharedOrLocal[T any](ctx context.Context, l *limits, op func(context.Context, limitStore) (T, error)) T {
	if l.shared != nil {
		sctx, cancel := context.WithTimeout(ctx, limitStoreTimeout)
		v, err := op(sctx, l.shared)
		cancel()
		if err == nil {
			return v
		}
		l.failed(ctx, err)
	}
	v, _ := op(ctx, l.local)
	return v
}

func (l *limits) reset(ctx context.Context, key string) {
	if l.shared != nil {
		sctx, cancel := context.WithTimeout(ctx, limitStoreTimeout)
		err := l.shared.Reset(sctx, key)
		cancel()
		if err != nil {
			l.failed(ctx, err)
		}
	}
	_ = l.local.Reset(ctx, key)
}

// failed counts a failure of the shared store and warns, at most once a
// minute, that this server limits on its own. A call whose caller went
// away is not the store's failure and is not counted.
func (l *limits) failed(ctx context.Context, err error) {
	if l.countFailure != nil && ctx.Err() == nil {
		l.countFailure(l.kind, failureReason(err))
	}
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(time.Minute) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.WarnContext(ctx, "rate limit store failed: limiting per server until it answers", "error", err.Error())
}

// failureReason is what the failures counter says of err: a timeout
// (limitStoreTimeout passed, or the connection timed out) or any other
// error. Never the error's text, which may name a key.
func failureReason(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "error"
}

// sweep deletes the shared store's idle rows, where it has rows to delete.
func (l *limits) sweep(ctx context.Context, now time.Time) (int64, error) {
	if s, ok := l.shared.(interface {
		Sweep(context.Context, time.Time) (int64, error)
	}); ok {
		return s.Sweep(ctx, now)
	}
	return 0, nil
}

func (l *limits) close() {
	if l.closer != nil {
		_ = l.closer.Close()
	}
}

// roleLimits keeps the batch role's buckets apart from people's: a nightly
// import makes thousands of calls in minutes where a person makes a few a
// second, so each gets limits of its own (--batch-rate-limit beside
// --rate-limit) instead of one setting too tight for the job or too loose
// for people. Each principal has a bucket of its own, so one busy or
// runaway caller cannot starve the others; name keeps the buckets of the
// rate limit and the lookup budget apart.
type roleLimits struct {
	name          string
	people, batch ratelimit.Limit
}

// of is the bucket that p's calls count against and its limit: the batch
// role's for a principal that holds it alone, people's for everyone else (a
// credential that mixes roles is limited like the person it also is).
func (r roleLimits) of(p *principal.Principal) (string, ratelimit.Limit) {
	if batchOnly(p) {
		return r.name + ":batch:" + p.ID, r.batch
	}
	return r.name + ":" + p.ID, r.people
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

// newLimit allows perSecond calls with bursts of burst; perSecond <= 0
// disables limiting. A burst below one would refuse every call, so it
// defaults to one second's worth.
func newLimit(perSecond float64, burst int) ratelimit.Limit {
	if perSecond <= 0 {
		return ratelimit.Limit{}
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return ratelimit.Limit{Rate: perSecond, Burst: burst}
}
