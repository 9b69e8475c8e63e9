package authn

import (
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
)

func TestCertificatePrincipal(t *testing.T) {
	now := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	record := func(edit func(*APIKeyRecord)) *APIKeyRecord {
		r := &APIKeyRecord{
			ID: "abcdefgh2345", Name: "va-system",
			Roles: []principal.Role{principal.Integration, "retired-role"},
			Towns: []string{"500230101", "bad"},
			// The hash is irrelevant: the certificate is the proof.
			SecretHash: "",
			ExpireTime: &future,
		}
		if edit != nil {
			edit(r)
		}
		return r
	}
	tests := []struct {
		name   string
		record *APIKeyRecord
		reason string
	}{
		{"valid", record(nil), ""},
		{"no expiry", record(func(r *APIKeyRecord) { r.ExpireTime = nil }), ""},
		{"revoked", record(func(r *APIKeyRecord) { r.RevokeTime = &past }), "api key revoked"},
		{"expired", record(func(r *APIKeyRecord) { r.ExpireTime = &past }), "api key expired"},
		{"expires now", record(func(r *APIKeyRecord) { r.ExpireTime = &now }), "api key expired"},
		{"no valid role", record(func(r *APIKeyRecord) { r.Roles = []principal.Role{"retired-role"} }), "api key has no valid role"},
		{"no name", record(func(r *APIKeyRecord) { r.Name = "" }), "api key has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.record.CertificatePrincipal(now)
			wantReason(t, err, tt.reason, "")
			// The same ID as the account's API key principal, so the audit
			// log names one caller whichever credential it used.
			want := &principal.Principal{
				ID: "apikey:va-system", Kind: principal.Service, Roles: []principal.Role{principal.Integration},
				Towns: []string{"500230101"}, Credential: "mtls",
			}
			if tt.reason == "" && !samePrincipal(p, want) {
				t.Fatalf("got %+v, want %+v", p, want)
			}
		})
	}
}
