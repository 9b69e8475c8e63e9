// Package service implements the casework.v1 gRPC services. Handlers are
// thin: they decode names and masks, ask the domain package whether a change
// is allowed, and call the repository. The grpc-gateway serves the same
// handlers over JSON through the same interceptors, so there is one code path
// for both transports.
package service

import (
	"context"
	"errors"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/pagetoken"
)

// Options configure the services.
type Options struct {
	// PageTokenKey signs page tokens. Servers behind one load balancer must
	// share it, or a token from one is refused by another.
	PageTokenKey []byte
	// Actor names who is making the request, for history and notes.
	Actor func(context.Context) string
	// Now is the clock; tests replace it.
	Now func() time.Time
	// APIKeyPeopleRoles lets API keys carry people's roles, each key
	// working only once a second admin approves it (see policy).
	APIKeyPeopleRoles bool
	// Deadlines counts the cases' periods: the holiday calendar and the
	// county's terms (zero: the defaults on the shipped calendar).
	Deadlines domain.Deadlines
	// MeasureReviewPeriod is how often each preferential measure must be
	// reviewed (0: domain.DefaultReviewPeriod, a year).
	MeasureReviewPeriod time.Duration
}

type base struct {
	validator protovalidate.Validator
	pages     pager
	actor     func(context.Context) string
	now       func() time.Time
}

func newBase(v protovalidate.Validator, o Options) base {
	b := base{validator: v, pages: pager{codec: pagetoken.NewCodec(o.PageTokenKey)}, actor: o.Actor, now: o.Now}
	if b.actor == nil {
		b.actor = func(context.Context) string { return "anonymous" }
	}
	if b.now == nil {
		b.now = time.Now
	}
	// The times the service stamps (submit, resolve, due) are stored to the
	// microsecond, as PostgreSQL keeps them; truncating here makes the answer
	// to a change carry the same instant as a later read of it.
	now := b.now
	b.now = func() time.Time { return now().Truncate(time.Microsecond) }
	return b
}

// validate checks msg against its protovalidate rules, naming violations by
// their path in the request (prefix, e.g. "household"; "" when msg is what
// the paths start from, as a batch's item).
func (b base) validate(prefix string, msg proto.Message) error {
	err := b.validator.Validate(msg)
	if err == nil {
		return nil
	}
	var pv *protovalidate.ValidationError
	if !errors.As(err, &pv) {
		return err
	}
	if prefix != "" {
		prefix += "."
	}
	return &domain.ValidationError{Violations: apierr.Violations(pv, prefix)}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
