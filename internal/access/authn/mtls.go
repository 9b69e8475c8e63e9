package authn

import (
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
)

// CertificatePrincipal returns the service principal of an account whose
// client certificate the TLS handshake has already verified against the
// configured CA. The certificate stands in for the secret, so no secret is
// checked here; the record's revocation and expiry still apply, so revoking
// an account's key also shuts out its certificate.
func (r *APIKeyRecord) CertificatePrincipal(now time.Time) (*principal.Principal, error) {
	return r.servicePrincipal(now, "mtls")
}

// servicePrincipal checks everything about the record except possession of
// the secret, and returns the principal it stands for. Whichever credential
// proves the account, the principal ID is the same, so the audit log shows
// one caller.
//
// APIKeyRecord.Principal repeats these checks after its secret check; it
// could call this with credential "api-key" instead.
func (r *APIKeyRecord) servicePrincipal(now time.Time, credential string) (*principal.Principal, error) {
	if r.Name == "" {
		return nil, unauthenticated("api key has no name")
	}
	if r.RevokeTime != nil {
		return nil, unauthenticated("api key revoked")
	}
	if r.ExpireTime != nil && !now.Before(*r.ExpireTime) {
		return nil, unauthenticated("api key expired")
	}
	if r.AwaitsApproval {
		return nil, unauthenticated("api key awaits a second admin's approval")
	}
	roles := validRoles(r.Roles)
	if len(roles) == 0 {
		return nil, unauthenticated("api key has no valid role")
	}
	var expiry time.Time
	if r.ExpireTime != nil {
		expiry = *r.ExpireTime
	}
	return &principal.Principal{
		ID:         apiKeyPrincipalPrefix + r.Name,
		Kind:       principal.Service,
		Roles:      roles,
		Towns:      validTowns(r.Towns),
		Credential: credential,
		KeyID:      r.ID,
		Expiry:     expiry,
	}, nil
}
