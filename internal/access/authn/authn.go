// Package authn turns a presented credential (an OIDC bearer token, a local
// development token or an API key) into a *principal.Principal. It knows
// nothing of gRPC: callers extract the header value and pass it in.
//
// Every refusal wraps ErrUnauthenticated with a short reason meant for logs.
// Reasons never contain the credential itself.
package authn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// ErrUnauthenticated is wrapped by every error that means "this credential
// does not prove who the caller is". Test with errors.Is.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrMissingCredentials refuses a call that came with no credential at all.
var ErrMissingCredentials = errors.New("missing credentials")

func unauthenticated(reason string) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
}

// Refused is a refusal of a credential for reason, which must not quote the
// credential.
func Refused(reason string) error { return unauthenticated(reason) }

// validRoles keeps the known roles of names, in order, without duplicates.
// Unknown names are dropped rather than refused so that an identity provider
// may carry roles meant for other applications in the same claim.
func validRoles[S ~string](names []S) []principal.Role {
	var roles []principal.Role
	for _, n := range names {
		r := principal.Role(n)
		if r.Valid() && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles
}

// validTowns keeps the well-formed town codes, in order, without duplicates.
func validTowns(codes []string) []string {
	var towns []string
	for _, c := range codes {
		if domain.IsTownCode(c) && !slices.Contains(towns, c) {
			towns = append(towns, c)
		}
	}
	return towns
}
