package authn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fengdu-county/casework/internal/access/principal"
)

func newLocal(t *testing.T) *LocalSigner {
	t.Helper()
	s, err := LoadOrCreateLocalSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLocalRoundTrip(t *testing.T) {
	s := newLocal(t)
	roles := []principal.Role{principal.Caseworker, principal.Supervisor}
	towns := []string{"500230101"}
	tok, err := s.Mint("dev-li", roles, towns, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		now    func() time.Time
		reason string
	}{
		{"now", nil, ""},
		{"just before expiry", func() time.Time { return time.Now().Add(59 * time.Minute) }, ""},
		{"after expiry", func() time.Time { return time.Now().Add(2 * time.Hour) }, "token expired"},
		{"before issue beyond skew", func() time.Time { return time.Now().Add(-5 * time.Minute) }, "token not yet valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.Verifier(tt.now).Verify(context.Background(), tok)
			wantReason(t, err, tt.reason, tok)
			want := &principal.Principal{ID: "dev-li", Kind: principal.User, Roles: roles, Towns: towns, Credential: "local-token"}
			if tt.reason == "" && !samePrincipal(p, want) {
				t.Fatalf("got %+v, want %+v", p, want)
			}
		})
	}

	hdr, _, err := peek(tok)
	if err != nil || hdr.Alg != "ES256" || hdr.Kid != s.KeyID() {
		t.Fatalf("header %+v (%v), want ES256 with kid %q", hdr, err, s.KeyID())
	}
	// Another developer's key must not verify this token.
	if _, err := newLocal(t).Verifier(nil).Verify(context.Background(), tok); err == nil {
		t.Fatal("token verified under a different local key")
	}
}

func TestLocalKeyPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not yet created
	first, err := LoadOrCreateLocalSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := first.Mint("dev", []principal.Role{principal.Admin}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateLocalSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.KeyID() != second.KeyID() {
		t.Fatalf("kid changed across loads: %q then %q", first.KeyID(), second.KeyID())
	}
	if _, err := second.Verifier(nil).Verify(context.Background(), tok); err != nil {
		t.Fatalf("token from first load refused after reload: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, "local-signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func TestLocalKeyFileCorrupt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "local-signing-key.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateLocalSigner(dir); err == nil {
		t.Fatal("loaded a corrupt key file")
	}
}

func TestMintRefuses(t *testing.T) {
	s := newLocal(t)
	cw := []principal.Role{principal.Caseworker}
	tests := []struct {
		name  string
		user  string
		roles []principal.Role
		towns []string
		ttl   time.Duration
		ok    bool
	}{
		{"24h is the limit", "dev", cw, nil, 24 * time.Hour, true},
		{"over 24h", "dev", cw, nil, 24*time.Hour + time.Second, false},
		{"zero ttl", "dev", cw, nil, 0, false},
		{"negative ttl", "dev", cw, nil, -time.Minute, false},
		{"unknown role", "dev", []principal.Role{principal.Caseworker, "root"}, nil, time.Hour, false},
		{"no role", "dev", nil, nil, time.Hour, false},
		{"bad town", "dev", cw, []string{"50023010"}, time.Hour, false},
		{"empty user", "", cw, nil, time.Hour, false},
		{"reserved user", "apikey:batch", cw, nil, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Mint(tt.user, tt.roles, tt.towns, tt.ttl)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// The published key set lets any standard verifier, ours included, check
// local tokens.
func TestLocalJWKS(t *testing.T) {
	s := newLocal(t)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(s.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].KeyID != s.KeyID() || !set.Keys[0].IsPublic() {
		t.Fatalf("key set %s: want one public key with kid %q", s.JWKS(), s.KeyID())
	}
	if strings.Contains(string(s.JWKS()), `"d"`) {
		t.Fatal("key set leaks the private key")
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.JWKS())
	}))
	defer srv.Close()
	v, err := NewOIDC(context.Background(), OIDCConfig{Issuer: LocalIssuer, Audience: LocalAudience, JWKSURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Mint("dev", []principal.Role{principal.Auditor}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("local token refused via published JWKS: %v", err)
	}
}

// TestLocalLifetimeCap: a token signed with the local key but living longer
// than MaxLocalTTL is refused, however it was made: Mint's own check binds
// only Mint.
func TestLocalLifetimeCap(t *testing.T) {
	s := newLocal(t)
	now := time.Now()
	at := func(d time.Duration) *jwt.NumericDate { return jwt.NewNumericDate(now.Add(d)) }
	sign := func(iat, nbf, exp *jwt.NumericDate) string {
		t.Helper()
		tok, err := jwt.Signed(s.signer).Claims(jwt.Claims{Issuer: LocalIssuer, Audience: jwt.Audience{LocalAudience},
			Subject: "dev", IssuedAt: iat, NotBefore: nbf, Expiry: exp}).
			Claims(map[string]any{"roles": []string{"supervisor"}}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name          string
		iat, nbf, exp *jwt.NumericDate
		reason        string
	}{
		{"24h exactly", at(-time.Hour), at(-time.Hour), at(23 * time.Hour), ""},
		{"a year", at(-time.Minute), at(-time.Minute), at(365 * 24 * time.Hour), "token lifetime too long"},
		{"24h and a second", at(-time.Hour), at(-time.Hour), at(23*time.Hour + time.Second), "token lifetime too long"},
		{"old iat, exp soon", at(-30 * time.Hour), at(-time.Minute), at(time.Hour), "token lifetime too long"},
		{"no iat: counts from nbf", nil, at(-time.Minute), at(48 * time.Hour), "token lifetime too long"},
		{"no iat, short from nbf", nil, at(-time.Minute), at(time.Hour), ""},
		{"neither iat nor nbf", nil, nil, at(time.Hour), "token lifetime unknown"},
		{"iat in the future", at(10 * time.Hour), nil, at(11 * time.Hour), "token issued in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := sign(tt.iat, tt.nbf, tt.exp)
			_, err := s.Verifier(nil).Verify(context.Background(), tok)
			wantReason(t, err, tt.reason, tok)
		})
	}
	// The cap is the local verifier's: a provider decides its own tokens'
	// lifetimes, and the same long token verifies through the JWKS.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(s.JWKS()) }))
	defer srv.Close()
	v, err := NewOIDC(context.Background(), OIDCConfig{Issuer: LocalIssuer, Audience: LocalAudience, JWKSURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), sign(at(-time.Minute), at(-time.Minute), at(48*time.Hour))); err != nil {
		t.Fatalf("an OIDC verifier refused a 48h token: %v", err)
	}
}
