package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/repository"
)

// lookupMethod finds a household by an ID number. Each call answers "is
// this number registered?", so a caller who can see a masked number could
// try every candidate that fits it: lookups get a budget of their own,
// far below the general rate limit, and a caller who keeps missing is
// slowed down and reported.
const lookupMethod = "/casework.v1.HouseholdService/LookupHousehold"

// batchLookupMethod looks up many numbers at once; each of them counts
// against the same budget as a single lookup.
const batchLookupMethod = "/casework.v1.HouseholdService/BatchLookupHouseholds"

const (
	// missesBeforeSlowdown is how many lookups in a row may find nothing
	// before the caller is slowed down and flagged. A caseworker mistyping
	// a number misses once or twice; a search through candidates misses
	// hundreds of times.
	missesBeforeSlowdown = 5
	// firstPenalty is the wait after the streak reaches the threshold; it
	// doubles with every further miss, up to maxPenalty.
	firstPenalty = time.Minute
	// maxPenalty is no longer than ratelimit.StreakIdle, for which a
	// streak is kept after its last miss.
	maxPenalty = time.Hour
)

// lookupGuard enforces the lookup budget and the slowdown. Both are kept
// where the rate limit is (--rate-limit-store): with PostgreSQL or Redis
// every replica takes from one budget and counts one streak of misses, so
// a caller gains nothing by spreading a search over the replicas behind a
// load balancer; in memory (the embedded SQLite's one server) they are the
// process's. Every miss is in the audit log whichever server saw it.
type lookupGuard struct {
	budget roleLimits
	limits *limits
	log    *slog.Logger
	audit  func(ctx context.Context, e *audit.Entry) error
}

// newLookupGuard allows perMinute lookups per principal, batchPerMinute
// to a principal of the batch role alone (<= 0: no budget of their own
// beyond the general limit), taken from and counted in l.
func newLookupGuard(perMinute, batchPerMinute int, l *limits, log *slog.Logger, appendAudit func(context.Context, *audit.Entry) error) *lookupGuard {
	g := &lookupGuard{budget: roleLimits{name: "lookup"}, limits: l, log: log, audit: appendAudit}
	if perMinute > 0 {
		g.budget.people = newLimit(float64(perMinute)/60, perMinute)
	}
	if batchPerMinute > 0 {
		g.budget.batch = newLimit(float64(batchPerMinute)/60, batchPerMinute)
	}
	return g
}

// streakKey is the key of p's streak of misses.
func streakKey(id string) string { return "lookup-misses:" + id }

// errLookupBatchTooLarge: the batch holds more numbers than the caller's
// budget allows in a minute, so no wait would let it through.
var errLookupBatchTooLarge = apierr.New(codes.ResourceExhausted, pb.ErrorReason_LOOKUP_BATCH_TOO_LARGE,
	"the batch holds more ID numbers than the caller's lookup budget allows per minute: send smaller batches")

// lookupCount is how many lookups req makes: one per ID number of a batch,
// one for a single lookup, none for any other method.
func lookupCount(method string, req any) int {
	switch method {
	case lookupMethod:
		return 1
	case batchLookupMethod:
		if r, ok := req.(interface{ GetIdNumbers() []string }); ok {
			return max(1, len(r.GetIdNumbers()))
		}
		return 1
	}
	return 0
}

// unary applies the guard to lookups; every other method passes.
func (g *lookupGuard) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p := principal.FromContext(ctx)
		n := lookupCount(info.FullMethod, req)
		if n == 0 || p == nil || g.limits == nil {
			return handler(ctx, req)
		}
		now := time.Now()
		if d := g.limits.blocked(ctx, streakKey(p.ID), now); d > 0 {
			return nil, rateLimited(d)
		}
		key, budget := g.budget.of(p)
		switch d := g.limits.take(ctx, key, budget, n, now); {
		case d < 0:
			return nil, errLookupBatchTooLarge
		case d > 0:
			return nil, rateLimited(d)
		}
		resp, err := handler(ctx, req)
		switch {
		case err == nil && info.FullMethod == batchLookupMethod:
			g.batchOutcome(ctx, p.ID, resp)
		case err == nil:
			g.limits.reset(ctx, streakKey(p.ID))
		case errors.Is(err, repository.ErrNotFound):
			g.miss(ctx, p.ID, time.Now())
		}
		return resp, err
	}
}

// batchOutcome counts a batch of lookups towards the caller's streak: one
// that found nothing is a miss, one that found something leaves the streak
// as it was. The budget already counts every number; a file of new families
// often finds none, and one batch must not lock a nightly job out for an
// hour, while a search through candidates that keeps finding nothing is
// still slowed down after a few batches. A batch that finds something does
// not reset the streak, or one known number would.
func (g *lookupGuard) batchOutcome(ctx context.Context, id string, resp any) {
	r, ok := resp.(interface {
		GetResults() []*pb.HouseholdLookupResult
	})
	if !ok {
		return
	}
	for _, res := range r.GetResults() {
		if res.GetHousehold() != nil {
			return
		}
	}
	g.miss(ctx, id, time.Now())
}

func (g *lookupGuard) miss(ctx context.Context, id string, now time.Time) {
	misses := g.limits.miss(ctx, streakKey(id), now, penalty)
	if misses != missesBeforeSlowdown {
		return
	}
	// Flagged once per streak, when it crosses the threshold: the audit log
	// then shows who searched, and each lookup after it is there too.
	g.log.WarnContext(ctx, "lookups keep missing: caller slowed down", "principal", id, "misses", misses)
	e := audit.FromContext(ctx).Entry(audit.ActionFlagged, "", audit.OutcomeLookupMisses, nil)
	if err := g.audit(ctx, e); err != nil {
		g.log.ErrorContext(ctx, "audit of flagged lookups failed", "error_type", fmt.Sprintf("%T", err))
	}
}

// penalty is the wait after the n-th miss in a row: none before the
// threshold.
func penalty(n int) time.Duration {
	if n < missesBeforeSlowdown {
		return 0
	}
	d := firstPenalty
	for i := missesBeforeSlowdown; i < n && d < maxPenalty; i++ {
		d *= 2
	}
	return min(d, maxPenalty)
}
