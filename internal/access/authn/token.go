package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fengdu-county/casework/internal/access/principal"
)

// OIDCConfig configures verification of bearer tokens from an OpenID Connect
// provider.
type OIDCConfig struct {
	Issuer   string // required; must equal the token's iss
	Audience string // required; must be among the token's aud
	JWKSURL  string // required; https, or http to a loopback host

	// Claim names; defaults "sub", "roles", "towns".
	UserClaim, RolesClaim, TownsClaim string

	// ClockSkew is the leeway on exp and nbf; default 60s. (go-oidc also
	// refuses nbf over five minutes ahead of its skewed-back clock, so skews
	// above 2.5 minutes make nbf stricter than the skew alone.)
	ClockSkew time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

const (
	defaultSkew = 60 * time.Second
	// jwksTimeout bounds a key set fetch. go-oidc runs one fetch at a time and
	// makes every verification needing fresh keys wait for it, so a hung
	// provider without a timeout would stall refetching for good.
	jwksTimeout = 10 * time.Second
	// maxJWKSBytes and maxTokenBytes cap what we read from the network or the
	// caller; real key sets and tokens are a few kilobytes.
	maxJWKSBytes  = 1 << 20
	maxTokenBytes = 16 << 10
)

// remoteAlgs are the asymmetric algorithms accepted from a provider. HMAC is
// left out on purpose: with a public key set it invites key confusion.
var remoteAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
}

// TokenVerifier checks signed JWTs from one issuer and maps their claims to a
// principal. It is safe for concurrent use.
type TokenVerifier struct {
	issuer, audience                  string
	userClaim, rolesClaim, townsClaim string
	credential                        string
	skew                              time.Duration
	now                               func() time.Time
	algs                              []string
	keys                              *keySet
	oidc                              *oidc.IDTokenVerifier
	// maxLifetime, when set, caps exp − iat (see lifetimeProblem).
	maxLifetime time.Duration
}

// NewOIDC returns a verifier for tokens from cfg.Issuer. Keys are fetched from
// cfg.JWKSURL on first use, cached, and refetched when a token names a key id
// not in the cache, so provider key rotation needs no restart. ctx configures
// the fetches (not their cancellation); its HTTP client, if any, is replaced
// by one with a timeout.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*TokenVerifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.JWKSURL == "" {
		return nil, errors.New("authn: OIDC issuer, audience and JWKS URL are required")
	}
	if cfg.ClockSkew < 0 {
		return nil, errors.New("authn: negative OIDC clock skew")
	}
	if err := checkJWKSURL(cfg.JWKSURL); err != nil {
		return nil, err
	}
	rec := &kidRecorder{base: http.DefaultTransport}
	ctx = oidc.ClientContext(ctx, &http.Client{Timeout: jwksTimeout, Transport: rec})
	keys := &keySet{inner: oidc.NewRemoteKeySet(ctx, cfg.JWKSURL), known: rec.known}
	return newVerifier(cfg, keys, remoteAlgs, "oidc"), nil
}

// checkJWKSURL refuses plain http except to loopback (tests, local
// providers): keys fetched in the clear could be swapped on the way.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("authn: bad JWKS URL: %w", err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if u.Hostname() == "localhost" {
			return nil
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("authn: JWKS URL must be https (or http to loopback), got scheme %q", u.Scheme)
}

func newVerifier(cfg OIDCConfig, keys *keySet, algs []string, credential string) *TokenVerifier {
	v := &TokenVerifier{
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		userClaim:  orDefault(cfg.UserClaim, "sub"),
		rolesClaim: orDefault(cfg.RolesClaim, "roles"),
		townsClaim: orDefault(cfg.TownsClaim, "towns"),
		credential: credential,
		skew:       cfg.ClockSkew,
		now:        cfg.Now,
		algs:       algs,
		keys:       keys,
	}
	if v.skew == 0 {
		v.skew = defaultSkew
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.oidc = oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: algs,
		// go-oidc allows no leeway on exp; judging it against a clock set
		// back by the skew gives that leeway. nbf is checked in claimProblem.
		Now: func() time.Time { return v.now().Add(-v.skew) },
	})
	return v
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Verify checks raw's signature, issuer, audience, exp and nbf, and returns
// the principal its claims describe.
func (v *TokenVerifier) Verify(ctx context.Context, raw string) (*principal.Principal, error) {
	hdr, _, err := peek(raw)
	if err != nil {
		return nil, err
	}
	// go-oidc would refuse these too; checking first gives a clear reason.
	if !slices.Contains(v.algs, hdr.Alg) {
		return nil, unauthenticated("unsupported signing algorithm")
	}
	var out outcome
	_, err = v.oidc.Verify(context.WithValue(ctx, outcomeKey{}, &out), raw)
	switch {
	case out.sigErr != nil:
		if !v.keys.known(hdr.Kid) {
			return nil, unauthenticated("unknown signing key")
		}
		return nil, unauthenticated("bad signature")
	case out.payload == nil:
		return nil, unauthenticated("malformed token")
	}
	// Past this point the payload is authentic. Run our own claim checks
	// whether go-oidc accepted or not: on refusal they name the reason (go-oidc
	// only has untyped messages); on acceptance they enforce nbf with our skew,
	// since go-oidc's own nbf leeway is a fixed five minutes.
	if reason := v.claimProblem(out.payload); reason != "" {
		return nil, unauthenticated(reason)
	}
	if err != nil {
		return nil, unauthenticated("invalid token")
	}
	return v.principal(out.payload)
}

// claimProblem returns why the registered claims in payload are unacceptable,
// or "" if they are fine.
func (v *TokenVerifier) claimProblem(payload []byte) string {
	var c jwt.Claims
	if json.Unmarshal(payload, &c) != nil {
		return "malformed claims"
	}
	now := v.now()
	switch {
	case c.Issuer != v.issuer:
		return "wrong issuer"
	case !c.Audience.Contains(v.audience):
		return "wrong audience"
	case c.Expiry == nil || now.Add(-v.skew).After(c.Expiry.Time()):
		return "token expired"
	case c.NotBefore != nil && now.Add(v.skew).Before(c.NotBefore.Time()):
		return "token not yet valid"
	case v.maxLifetime > 0:
		return v.lifetimeProblem(c, now)
	}
	return ""
}

// lifetimeProblem enforces maxLifetime on a token that is otherwise valid.
// Its life counts from iat, or from nbf when iat is absent. A token with
// neither cannot show how long it lives and is refused: counting from the
// moment it is presented would let one signed to expire in a year pass on
// each of its last days. An iat in the future is refused too, or it could
// shorten the span on paper while the token already works.
func (v *TokenVerifier) lifetimeProblem(c jwt.Claims, now time.Time) string {
	start := c.IssuedAt
	if start == nil {
		start = c.NotBefore
	}
	switch {
	case start == nil:
		return "token lifetime unknown"
	case c.IssuedAt != nil && now.Add(v.skew).Before(c.IssuedAt.Time()):
		return "token issued in the future"
	case c.Expiry.Time().Sub(start.Time()) > v.maxLifetime:
		return "token lifetime too long"
	}
	return ""
}

// apiKeyPrincipalPrefix starts the IDs of API key principals; no token
// subject may take it, or a provider user could pass for a system in the
// audit log.
const apiKeyPrincipalPrefix = "apikey:"

func (v *TokenVerifier) principal(payload []byte) (*principal.Principal, error) {
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return nil, unauthenticated("malformed claims")
	}
	var user string
	if json.Unmarshal(claims[v.userClaim], &user) != nil || user == "" {
		return nil, unauthenticated("missing user claim")
	}
	if strings.HasPrefix(user, apiKeyPrincipalPrefix) {
		return nil, unauthenticated("reserved user id")
	}
	names, err := stringList(claims[v.rolesClaim])
	if err != nil {
		return nil, unauthenticated("malformed roles claim")
	}
	roles := validRoles(names)
	if len(roles) == 0 {
		return nil, unauthenticated("no valid role")
	}
	towns, err := stringList(claims[v.townsClaim])
	if err != nil {
		return nil, unauthenticated("malformed towns claim")
	}
	var std jwt.Claims
	if json.Unmarshal(payload, &std) != nil || std.Expiry == nil {
		return nil, unauthenticated("malformed claims")
	}
	return &principal.Principal{
		ID:         user,
		Kind:       principal.User,
		Roles:      roles,
		Towns:      validTowns(towns),
		Credential: v.credential,
		Expiry:     std.Expiry.Time(),
	}, nil
}

// stringList reads a claim that providers send either as a JSON array of
// strings or as one space-separated string (OAuth "scope" style). An absent
// or null claim is an empty list.
func stringList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.Fields(s), nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	return list, nil
}

type joseHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// peek decodes a compact JWS's header and payload WITHOUT verifying anything.
// Use it only to choose how to verify, or to explain a refusal.
func peek(raw string) (joseHeader, []byte, error) {
	var h joseHeader
	if raw == "" {
		return h, nil, unauthenticated("missing token")
	}
	if len(raw) > maxTokenBytes {
		return h, nil, unauthenticated("token too large")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return h, nil, unauthenticated("malformed token")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &h) != nil {
		return h, nil, unauthenticated("malformed token")
	}
	return h, payload, nil
}

// keySet wraps a go-oidc key set to record, per Verify call, whether the
// signature failed and which payload it proved: go-oidc flattens signature
// and claim failures alike into untyped error strings.
type keySet struct {
	inner oidc.KeySet
	// known reports whether a key id is in the set, to tell an unknown key
	// (rotation trouble, wrong provider) from a forged signature.
	known func(kid string) bool
}

type outcomeKey struct{}

type outcome struct {
	payload []byte
	sigErr  error
}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	if o, ok := ctx.Value(outcomeKey{}).(*outcome); ok {
		o.payload, o.sigErr = payload, err
	}
	return payload, err
}

// kidRecorder is the transport for JWKS fetches. It remembers the key ids of
// the last key set fetched, which go-oidc does not expose, and caps the
// response size, which go-oidc does not.
type kidRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	kids map[string]bool
}

func (r *kidRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("authn: JWKS response too large")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if json.Unmarshal(body, &set) == nil {
		kids := make(map[string]bool, len(set.Keys))
		for _, k := range set.Keys {
			kids[k.Kid] = true
		}
		r.mu.Lock()
		r.kids = kids
		r.mu.Unlock()
	}
	return resp, nil
}

// known treats an empty kid as known: go-oidc then tries every key, so a
// failure can only mean a bad signature.
func (r *kidRecorder) known(kid string) bool {
	if kid == "" {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kids[kid]
}

// Verifiers tries the verifier whose issuer matches the token's iss claim.
type Verifiers []*TokenVerifier

// Verify picks a verifier by the token's unverified iss claim; the chosen
// verifier then checks everything, iss included.
func (vs Verifiers) Verify(ctx context.Context, raw string) (*principal.Principal, error) {
	_, payload, err := peek(raw)
	if err != nil {
		return nil, err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return nil, unauthenticated("malformed token")
	}
	for _, v := range vs {
		if v != nil && v.issuer == c.Iss {
			return v.Verify(ctx, raw)
		}
	}
	return nil, unauthenticated("unknown issuer")
}
