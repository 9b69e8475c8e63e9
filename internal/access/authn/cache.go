package authn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
)

// TokenChecker verifies a bearer token; Verifiers is one.
type TokenChecker interface {
	Verify(ctx context.Context, raw string) (*principal.Principal, error)
}

// TokenCache remembers tokens that verified, so a client that sends the same
// token with every call pays for one signature check, not one per call:
// checking an ES256 or RS256 signature costs more CPU than the rest of a
// typical request. An entry lasts until the token expires, and at most ttl,
// which bounds how long a token signed by a key the issuer has since
// withdrawn is still taken. Refusals are never cached: they are cheap to
// repeat and must give their reason each time.
type TokenCache struct {
	next TokenChecker
	ttl  time.Duration
	max  int
	now  func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	p     principal.Principal
	until time.Time
}

// NewTokenCache caches next's successes: up to max tokens, each for at most
// ttl. now is the clock the tokens' expiry is judged by (nil: time.Now).
func NewTokenCache(next TokenChecker, max int, ttl time.Duration, now func() time.Time) *TokenCache {
	if now == nil {
		now = time.Now
	}
	return &TokenCache{next: next, ttl: ttl, max: max, now: now, entries: map[[sha256.Size]byte]cachedToken{}}
}

// Verify answers from the cache, or verifies and remembers.
func (c *TokenCache) Verify(ctx context.Context, raw string) (*principal.Principal, error) {
	key := sha256.Sum256([]byte(raw))
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return clonePrincipal(&e.p), nil
	}
	p, err := c.next.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	until := now.Add(c.ttl)
	if exp, ok := expiry(raw); ok && exp.Before(until) {
		until = exp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Full: drop what has expired, and if that is not enough, start
		// over. Simple, and a busy server refills it in moments.
		for k, v := range c.entries {
			if !now.Before(v.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[key] = cachedToken{p: *clonePrincipal(p), until: until}
	return p, nil
}

// expiry reads the exp claim of a token that has already verified.
func expiry(raw string) (time.Time, bool) {
	_, payload, err := peek(raw)
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Exp == nil {
		return time.Time{}, false
	}
	secs, err := c.Exp.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(secs), 0), true
}

func clonePrincipal(p *principal.Principal) *principal.Principal {
	out := *p
	out.Roles, out.Towns = slices.Clone(p.Roles), slices.Clone(p.Towns)
	return &out
}
