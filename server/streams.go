package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/repository"
)

// A stream is admitted once, when it opens, and may then run for hours. It
// must not outlive its credential: a token's stream ends when the token
// expires, and an API key's within recheckEvery of the key being revoked,
// expiring or disappearing, on whichever server the stream is open.

// errCredentialEnded is the cause given to a stream's context when its
// credential stops being valid; the stream then ends UNAUTHENTICATED.
var errCredentialEnded = errors.New("credential no longer valid")

// defaultRecheck is how often an open stream's API key is read again.
const defaultRecheck = 5 * time.Second

// defaultStreamsPerPrincipal caps the streams one principal may hold open
// on one server: each costs a goroutine and a database poll.
const defaultStreamsPerPrincipal = 8

// streamSlots counts the open streams of each principal.
type streamSlots struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

func newStreamSlots(max int) *streamSlots {
	if max <= 0 {
		max = defaultStreamsPerPrincipal
	}
	return &streamSlots{max: max, open: map[string]int{}}
}

// acquire takes a slot for id, or reports that all of id's are taken. A
// nil *streamSlots has no limit.
func (s *streamSlots) acquire(id string) (release func(), ok bool) {
	if s == nil {
		return func() {}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[id] >= s.max {
		return nil, false
	}
	s.open[id]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.open[id]--; s.open[id] <= 0 {
			delete(s.open, id)
		}
	}, true
}

// stream admits every non-public streaming call as unary does, within the
// principal's stream slots, and ends it when its credential ends.
func (a *authenticator) stream(trustForwarded bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if policy.Public[info.FullMethod] {
			return handler(srv, ss)
		}
		ctx, err := a.admit(ss.Context(), info.FullMethod, nil, trustForwarded)
		if err != nil {
			return err
		}
		p := principal.FromContext(ctx)
		release, ok := a.streams.acquire(p.ID)
		if !ok {
			return apierr.New(codes.ResourceExhausted, pb.ErrorReason_TOO_MANY_STREAMS,
				fmt.Sprintf("too many open streams: at most %d per caller; close one first", a.streams.max))
		}
		defer release()
		ctx, stop := a.bindToCredential(ctx, p)
		defer stop()
		err = handler(srv, withContext(ss, ctx))
		if cause := context.Cause(ctx); errors.Is(cause, errCredentialEnded) {
			return apierr.New(codes.Unauthenticated, pb.ErrorReason_CREDENTIAL_ENDED, cause.Error())
		}
		return err
	}
}

// bindToCredential returns a context that ends, with errCredentialEnded as
// its cause, when p's credential does.
func (a *authenticator) bindToCredential(ctx context.Context, p *principal.Principal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stops := []func(){func() { cancel(nil) }}
	if p.KeyID == "" && !p.Expiry.IsZero() {
		// Tokens are judged by the wall clock, as their verification is.
		var stopDeadline context.CancelFunc
		ctx, stopDeadline = context.WithDeadlineCause(ctx, p.Expiry, fmt.Errorf("%w: the token expired", errCredentialEnded))
		stops = append(stops, stopDeadline)
	}
	if p.KeyID != "" {
		go a.watchKey(ctx, p, cancel)
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
	}
}

// watchKey reads p's API key again every recheck until ctx ends, and
// cancels it when the key no longer admits anyone. A database that does not
// answer ends nothing here: the stream's own reads fail then anyway.
func (a *authenticator) watchKey(ctx context.Context, p *principal.Principal, cancel context.CancelCauseFunc) {
	every := a.recheck
	if every <= 0 {
		every = defaultRecheck
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rec, err := a.store.APIKeyByID(ctx, p.KeyID)
		switch {
		case errors.Is(err, repository.ErrNotFound):
			cancel(fmt.Errorf("%w: the API key no longer exists", errCredentialEnded))
			return
		case err != nil:
			continue
		}
		if _, err := rec.CertificatePrincipal(a.now()); err != nil {
			cancel(fmt.Errorf("%w: %s", errCredentialEnded, authnReason(err)))
			return
		}
	}
}
