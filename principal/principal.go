// Package principal says who is calling: the identity that authentication
// proved, with its roles and towns. Everything downstream (authorization,
// town scoping, history, audit) reads it from the context and never from the
// request body.
package principal

import (
	"context"
	"slices"
)

// Role is a job a principal may do.
type Role string

const (
	// Caseworker reads and writes households and cases of their own towns.
	Caseworker Role = "caseworker"
	// Supervisor works county-wide and decides: accept, reject, close, reopen.
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

// countyWide roles see every town; the others see only their own.
var countyWide = []Role{Supervisor, Auditor, Integration}

// Kind tells people from systems.
type Kind string

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
	// Towns are the town codes a town-scoped principal may see.
	Towns []string
	// Credential says how the principal proved itself (e.g. "oidc",
	// "local-token", "api-key", "mtls"), for the audit log.
	Credential string
}

// Has reports whether p holds role r.
func (p *Principal) Has(r Role) bool { return p != nil && slices.Contains(p.Roles, r) }

// CountyWide reports whether p sees every town.
func (p *Principal) CountyWide() bool {
	for _, r := range countyWide {
		if p.Has(r) {
			return true
		}
	}
	return false
}

// Scope is the set of towns a principal may see: All, or exactly Towns
// (which may be empty, meaning none).
type Scope struct {
	All   bool
	Towns []string
}

// Scope returns the towns p may see. Batch keys with no towns listed are
// county-wide: nightly imports cover the county.
func (p *Principal) Scope() Scope {
	if p == nil {
		return Scope{}
	}
	if p.CountyWide() || (p.Has(Batch) && len(p.Towns) == 0) {
		return Scope{All: true}
	}
	return Scope{Towns: slices.Clone(p.Towns)}
}

// Allows reports whether the scope includes town.
func (s Scope) Allows(town string) bool { return s.All || slices.Contains(s.Towns, town) }

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
