package repository

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/principal"
)

// ErrOutOfScope: a write would put a row in a town the caller may not see.
// Reads never return it: another town's rows are simply not found.
var ErrOutOfScope = errors.New("outside the caller's towns")

type scopeKey struct{}

// WithScope fixes the towns that store calls made with ctx may see, for
// callers with no principal: command-line tools and tests.
func WithScope(ctx context.Context, s principal.Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// scopeOf is the town scope of a call: an explicit one, else the
// authenticated principal's. With neither, nothing is visible: a code path
// that forgets to authenticate fails closed.
func scopeOf(ctx context.Context) principal.Scope {
	if s, ok := ctx.Value(scopeKey{}).(principal.Scope); ok {
		return s
	}
	return principal.FromContext(ctx).Scope()
}

// inScope limits q to rows whose town column the scope allows. It is part of
// the query itself, so lists never carry other towns' rows and a row of
// another town is "not found", with no hint that it exists.
func inScope(ctx context.Context, q *gorm.DB, column string) *gorm.DB {
	s := scopeOf(ctx)
	switch {
	case s.All:
		return q
	case len(s.Towns) == 0:
		return q.Where("1 = 0")
	}
	return q.Where(column+" IN ?", s.Towns)
}

// allows reports whether the call may write a row of town.
func allows(ctx context.Context, town string) error {
	if !scopeOf(ctx).Allows(town) {
		return ErrOutOfScope
	}
	return nil
}
