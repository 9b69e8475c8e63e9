// Package principal says who is calling: the identity that authentication
// proved, with its roles and towns. Everything downstream (authorization,
// town scoping, history, audit) reads it from the context and never from the
// request body.
package principal

import (
	"context"
	"slices"
	"time"
)

// Role is a job a principal may do.
type Role string

const (
	// Caseworker reads and writes households and cases of their own towns.
	Caseworker Role = "caseworker"
	// Supervisor works county-wide (or in the towns its credential names)
	// and decides: accept, reject, close, reopen.
	Supervisor Role = "supervisor"
	// Auditor reads everything, the audit log included, and changes nothing.
	Auditor Role = "auditor"
	// Admin manages accounts and keys, and touches no case.
	Admin Role = "admin"
	// Integration is the veterans-affairs system: reads county-wide, opens cases.
	Integration Role = "integration"
	// Batch runs nightly imports and exports.
	Batch Role = "batch"
)

// Roles lists every role, in a fixed order.
var Roles = []Role{Caseworker, Supervisor, Auditor, Admin, Integration, Batch}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Kind tells people from systems.
type Kind string

// The kinds of principal.
const (
	User    Kind = "user"    // a person, through an OIDC or local token
	Service Kind = "service" // a system, through an API key or client certificate
)

// Principal is an authenticated caller.
type Principal struct {
	// ID is stable and unique: the token's subject, or "apikey:NAME".
	ID    string
	Kind  Kind
	Roles []Role
	// Towns are the town codes the credential names. Which of the
	// principal's rights they limit is the policy package's business.
	Towns []string
	// Credential says how the principal proved itself (e.g. "oidc",
	// "local-token", "api-key", "mtls"), for the audit log.
	Credential string
	// KeyID is the API key behind a service principal ("" for people), so
	// that a long-lived call can check the key is still live.
	KeyID string
	// Expiry is when the credential stops being valid (zero: unknown). A
	// stream must not outlive it.
	Expiry time.Time
}

// Has reports whether p holds role r.
func (p *Principal) Has(r Role) bool { return p != nil && slices.Contains(p.Roles, r) }

// Scope is the set of towns a call may reach: All, or exactly Towns
// (which may be empty, meaning none).
type Scope struct {
	All   bool
	Towns []string
}

// Allows reports whether the scope includes town.
func (s Scope) Allows(town string) bool { return s.All || slices.Contains(s.Towns, town) }

// Union is the set of towns either scope reaches.
func (s Scope) Union(o Scope) Scope {
	if s.All || o.All {
		return Scope{All: true}
	}
	out := slices.Clone(s.Towns)
	for _, t := range o.Towns {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return Scope{Towns: out}
}

type key struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, key{}, p)
}

// FromContext returns the principal in ctx, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(key{}).(*Principal)
	return p
}

type scopeKey struct{}

// WithScope returns ctx carrying the towns that calls made with it may
// reach. The server sets it for each call from the policy table (the
// scope of the roles that grant the method); command-line tools and tests
// set it directly.
func WithScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope in ctx. With none, nothing is reachable: a
// code path that forgets to set one fails closed.
func ScopeFrom(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}
