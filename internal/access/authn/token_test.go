package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/fengdu-county/casework/internal/access/principal"
)

const (
	testIssuer   = "https://idp.example.test/realms/county"
	testAudience = "casework-frontend"
)

var testNow = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// signingKey is a private key with the kid it is published under.
type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key any // *rsa.PrivateKey or *ecdsa.PrivateKey
}

func (k signingKey) public() jose.JSONWebKey {
	var pub any
	switch p := k.key.(type) {
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	}
	return jose.JSONWebKey{Key: pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

func (k signingKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.key, KeyID: k.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newRSAKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.RS256, key: k}
}

func newECKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, alg: jose.ES256, key: k}
}

// jwksServer serves a key set that tests can swap, counting fetches.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int32
	body atomic.Pointer[[]byte]
}

func newJWKSServer(t *testing.T, keys ...signingKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.serve(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(t *testing.T, keys ...signingKey) {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, k.public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.body.Store(&b)
}

func newTestVerifier(t *testing.T, url string, mod func(*OIDCConfig)) *TokenVerifier {
	t.Helper()
	cfg := OIDCConfig{
		Issuer: testIssuer, Audience: testAudience, JWKSURL: url,
		Now: func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := NewOIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// goodClaims are valid at testNow; cases change what they test.
func goodClaims() map[string]any {
	return map[string]any{
		"iss":   testIssuer,
		"aud":   testAudience,
		"sub":   "u-1001",
		"iat":   testNow.Add(-time.Minute).Unix(),
		"nbf":   testNow.Add(-time.Minute).Unix(),
		"exp":   testNow.Add(5 * time.Minute).Unix(),
		"roles": []string{"caseworker", "janitor"},
		"towns": []string{"500230101", "12345", "500230102"},
	}
}

func with(edit func(c map[string]any)) map[string]any {
	c := goodClaims()
	edit(c)
	return c
}

// wantReason checks err is ErrUnauthenticated with the given reason ("" for
// success) and never echoes the token.
func wantReason(t *testing.T, err error, reason, token string) {
	t.Helper()
	switch {
	case reason == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case reason == "":
		return
	case err == nil:
		t.Fatalf("accepted; want refusal %q", reason)
	case !errors.Is(err, ErrUnauthenticated):
		t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
	case !strings.HasSuffix(err.Error(), ": "+reason):
		t.Fatalf("error %q; want reason %q", err, reason)
	case len(token) > 10 && strings.Contains(err.Error(), token):
		t.Fatalf("error contains the token")
	}
}

func TestVerify(t *testing.T) {
	rsaKey, ecKey := newRSAKey(t, "rsa-1"), newECKey(t, "ec-1")
	impostor := newRSAKey(t, "rsa-1") // same kid, different key
	stranger := newECKey(t, "ec-unpublished")
	srv := newJWKSServer(t, rsaKey, ecKey)
	v := newTestVerifier(t, srv.URL, nil)
	custom := newTestVerifier(t, srv.URL, func(c *OIDCConfig) {
		c.UserClaim, c.RolesClaim, c.TownsClaim = "preferred_username", "groups", "casework_towns"
	})

	unsigned := func(claims map[string]any) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		p, _ := json.Marshal(claims)
		return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
	}
	hmac := func(claims map[string]any) string {
		k := signingKey{kid: "rsa-1", alg: jose.HS256, key: []byte("0123456789abcdef0123456789abcdef")}
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, nil)
		p, _ := json.Marshal(claims)
		jws, _ := s.Sign(p)
		raw, _ := jws.CompactSerialize()
		return raw
	}

	caseworker := &principal.Principal{
		ID: "u-1001", Kind: principal.User, Roles: []principal.Role{principal.Caseworker},
		Towns: []string{"500230101", "500230102"}, Credential: "oidc",
	}
	tests := []struct {
		name     string
		verifier *TokenVerifier
		token    string
		reason   string               // "" means accepted
		want     *principal.Principal // checked when accepted
	}{
		{"rsa valid", v, rsaKey.sign(t, goodClaims()), "", caseworker},
		{"ec valid", v, ecKey.sign(t, goodClaims()), "", caseworker},
		{"space separated claims", v, ecKey.sign(t, with(func(c map[string]any) {
			c["roles"] = "supervisor  caseworker supervisor"
			c["towns"] = "500230101 x"
		})), "", &principal.Principal{
			ID: "u-1001", Kind: principal.User, Roles: []principal.Role{principal.Supervisor, principal.Caseworker},
			Towns: []string{"500230101"}, Credential: "oidc",
		}},
		{"audience in list", v, rsaKey.sign(t, with(func(c map[string]any) { c["aud"] = []string{"other", testAudience} })), "", caseworker},
		{"no towns", v, rsaKey.sign(t, with(func(c map[string]any) { delete(c, "towns") })), "", &principal.Principal{
			ID: "u-1001", Kind: principal.User, Roles: []principal.Role{principal.Caseworker}, Credential: "oidc",
		}},
		{"custom claim names", custom, rsaKey.sign(t, with(func(c map[string]any) {
			c["preferred_username"] = "zhang.wei"
			c["groups"] = []string{"auditor"}
			c["casework_towns"] = []string{"500230105"}
		})), "", &principal.Principal{
			ID: "zhang.wei", Kind: principal.User, Roles: []principal.Role{principal.Auditor},
			Towns: []string{"500230105"}, Credential: "oidc",
		}},
		{"custom names ignore defaults", custom, rsaKey.sign(t, goodClaims()), "missing user claim", nil},

		{"expired", v, rsaKey.sign(t, with(func(c map[string]any) { c["exp"] = testNow.Add(-2 * time.Minute).Unix() })), "token expired", nil},
		{"expired within skew", v, rsaKey.sign(t, with(func(c map[string]any) { c["exp"] = testNow.Add(-30 * time.Second).Unix() })), "", caseworker},
		{"no exp", v, rsaKey.sign(t, with(func(c map[string]any) { delete(c, "exp") })), "token expired", nil},
		{"nbf beyond skew", v, rsaKey.sign(t, with(func(c map[string]any) { c["nbf"] = testNow.Add(2 * time.Minute).Unix() })), "token not yet valid", nil},
		{"nbf within skew", v, rsaKey.sign(t, with(func(c map[string]any) { c["nbf"] = testNow.Add(30 * time.Second).Unix() })), "", caseworker},
		{"wrong audience", v, rsaKey.sign(t, with(func(c map[string]any) { c["aud"] = "someone-else" })), "wrong audience", nil},
		{"wrong issuer", v, rsaKey.sign(t, with(func(c map[string]any) { c["iss"] = "https://evil.example.test" })), "wrong issuer", nil},

		{"bad signature", v, impostor.sign(t, goodClaims()), "bad signature", nil},
		{"unknown kid", v, stranger.sign(t, goodClaims()), "unknown signing key", nil},
		{"alg none", v, unsigned(goodClaims()), "unsupported signing algorithm", nil},
		{"alg HS256", v, hmac(goodClaims()), "unsupported signing algorithm", nil},
		{"empty", v, "", "missing token", nil},
		{"garbage", v, "not-a-token", "malformed token", nil},
		{"garbage parts", v, "a.b.c", "malformed token", nil},
		{"too large", v, strings.Repeat("a", maxTokenBytes+1), "token too large", nil},

		{"no roles", v, rsaKey.sign(t, with(func(c map[string]any) { delete(c, "roles") })), "no valid role", nil},
		{"only unknown roles", v, rsaKey.sign(t, with(func(c map[string]any) { c["roles"] = []string{"Caseworker", "root"} })), "no valid role", nil},
		{"roles not strings", v, rsaKey.sign(t, with(func(c map[string]any) { c["roles"] = []any{"caseworker", 7} })), "malformed roles claim", nil},
		{"towns not strings", v, rsaKey.sign(t, with(func(c map[string]any) { c["towns"] = 500230101 })), "malformed towns claim", nil},
		{"no subject", v, rsaKey.sign(t, with(func(c map[string]any) { delete(c, "sub") })), "missing user claim", nil},
		{"subject not string", v, rsaKey.sign(t, with(func(c map[string]any) { c["sub"] = 42 })), "malformed claims", nil},
		{"subject poses as api key", v, rsaKey.sign(t, with(func(c map[string]any) { c["sub"] = "apikey:batch" })), "reserved user id", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.verifier.Verify(context.Background(), tt.token)
			wantReason(t, err, tt.reason, tt.token)
			if tt.reason == "" && !samePrincipal(p, tt.want) {
				t.Fatalf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

func samePrincipal(a, b *principal.Principal) bool {
	return a != nil && b != nil && a.ID == b.ID && a.Kind == b.Kind && a.Credential == b.Credential &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Towns, b.Towns)
}

func TestKeyRotationRefetchesJWKS(t *testing.T) {
	oldKey, newKey := newRSAKey(t, "2026-01"), newECKey(t, "2026-03")
	srv := newJWKSServer(t, oldKey)
	v := newTestVerifier(t, srv.URL, nil)
	ctx := context.Background()

	steps := []struct {
		name   string
		rotate bool // serve only newKey before this step
		key    signingKey
		reason string
		hits   int32 // JWKS fetches so far
	}{
		{"first use fetches", false, oldKey, "", 1},
		{"cached key needs no fetch", false, oldKey, "", 1},
		{"new kid refetches", true, newKey, "", 2},
		{"new key now cached", false, newKey, "", 2},
		{"retired kid refetches and fails", false, oldKey, "unknown signing key", 3},
	}
	for _, s := range steps {
		if s.rotate {
			srv.serve(t, newKey)
		}
		// go-oidc wakes the callers waiting on a fetch before it clears the
		// fetch from the key set, so a call made at once can join the fetch
		// that has just ended and get the old keys. Servers see rotations
		// long after a fetch; give the fetch's goroutine time to finish.
		time.Sleep(50 * time.Millisecond)
		tok := s.key.sign(t, goodClaims())
		_, err := v.Verify(ctx, tok)
		wantReason(t, err, s.reason, tok)
		if got := srv.hits.Load(); got != s.hits {
			t.Fatalf("%s: %d JWKS fetches, want %d", s.name, got, s.hits)
		}
	}
}

func TestNewOIDCConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  OIDCConfig
		ok   bool
	}{
		{"https", OIDCConfig{Issuer: "i", Audience: "a", JWKSURL: "https://idp.example.test/jwks"}, true},
		{"http loopback", OIDCConfig{Issuer: "i", Audience: "a", JWKSURL: "http://127.0.0.1:8080/jwks"}, true},
		{"http localhost", OIDCConfig{Issuer: "i", Audience: "a", JWKSURL: "http://localhost/jwks"}, true},
		{"http remote", OIDCConfig{Issuer: "i", Audience: "a", JWKSURL: "http://idp.example.test/jwks"}, false},
		{"no issuer", OIDCConfig{Audience: "a", JWKSURL: "https://idp.example.test/jwks"}, false},
		{"no audience", OIDCConfig{Issuer: "i", JWKSURL: "https://idp.example.test/jwks"}, false},
		{"no jwks", OIDCConfig{Issuer: "i", Audience: "a"}, false},
		{"negative skew", OIDCConfig{Issuer: "i", Audience: "a", JWKSURL: "https://idp.example.test/jwks", ClockSkew: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewOIDC(context.Background(), tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestClockSkewConfig(t *testing.T) {
	k := newRSAKey(t, "k")
	srv := newJWKSServer(t, k)
	tok := k.sign(t, with(func(c map[string]any) { c["exp"] = testNow.Add(-90 * time.Second).Unix() }))
	tests := []struct {
		skew   time.Duration
		reason string
	}{
		{0, "token expired"}, // default 60s
		{2 * time.Minute, ""},
	}
	for _, tt := range tests {
		v := newTestVerifier(t, srv.URL, func(c *OIDCConfig) { c.ClockSkew = tt.skew })
		_, err := v.Verify(context.Background(), tok)
		wantReason(t, err, tt.reason, tok)
	}
}

func TestVerifiersChain(t *testing.T) {
	k := newECKey(t, "ec-1")
	srv := newJWKSServer(t, k)
	local, err := LoadOrCreateLocalSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chain := Verifiers{newTestVerifier(t, srv.URL, nil), local.Verifier(nil)}
	localTok, err := local.Mint("dev", []principal.Role{principal.Admin}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Claims an issuer it was not signed by: the chosen verifier must refuse.
	forged := k.sign(t, with(func(c map[string]any) { c["iss"] = LocalIssuer; c["aud"] = LocalAudience }))

	tests := []struct {
		name, token, reason, credential string
	}{
		{"oidc", k.sign(t, goodClaims()), "", "oidc"},
		{"local", localTok, "", "local-token"},
		{"unknown issuer", k.sign(t, with(func(c map[string]any) { c["iss"] = "https://other.test" })), "unknown issuer", ""},
		{"issuer picks verifier, not trust", forged, "unknown signing key", ""},
		{"garbage", "x.y", "malformed token", ""},
		{"payload not json", "e30.bm90IGpzb24.c2ln", "malformed token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := chain.Verify(context.Background(), tt.token)
			wantReason(t, err, tt.reason, tt.token)
			if tt.reason == "" && p.Credential != tt.credential {
				t.Fatalf("credential %q, want %q", p.Credential, tt.credential)
			}
		})
	}
}
