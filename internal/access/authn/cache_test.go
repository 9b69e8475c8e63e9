package authn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
)

// countingChecker verifies every token but "bad", counting the calls.
type countingChecker struct{ calls int }

func (c *countingChecker) Verify(_ context.Context, raw string) (*principal.Principal, error) {
	c.calls++
	if raw == "bad" {
		return nil, errors.New("bad token")
	}
	return &principal.Principal{ID: raw, Roles: []principal.Role{principal.Caseworker}, Towns: []string{"500230101"}}, nil
}

func TestTokenCache(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	next := &countingChecker{}
	c := NewTokenCache(next, 2, time.Minute, func() time.Time { return now })
	ctx := context.Background()

	p, err := c.Verify(ctx, "a")
	if err != nil || p.ID != "a" {
		t.Fatalf("first Verify = %v, %v", p, err)
	}
	p.Towns[0] = "changed" // a caller's change must not reach the cache
	p, err = c.Verify(ctx, "a")
	if err != nil || next.calls != 1 || p.Towns[0] != "500230101" {
		t.Fatalf("cached Verify = %v, %v after %d checks; want one check and the original towns", p, err, next.calls)
	}
	// Refusals are not cached.
	for range 2 {
		if _, err := c.Verify(ctx, "bad"); err == nil {
			t.Fatal("a bad token verified")
		}
	}
	if next.calls != 3 {
		t.Errorf("%d checks, want 3: refusals are checked each time", next.calls)
	}
	// Past the ttl, the token is checked again.
	now = now.Add(2 * time.Minute)
	if _, err := c.Verify(ctx, "a"); err != nil || next.calls != 4 {
		t.Errorf("after the ttl: %v, %d checks; want a fresh check", err, next.calls)
	}
	// Bounded: a third token in a cache of two does not grow it.
	_, _ = c.Verify(ctx, "b")
	_, _ = c.Verify(ctx, "c")
	if n := len(c.entries); n > 2 {
		t.Errorf("%d entries in a cache of 2", n)
	}
}

func TestTokenCacheHonoursExpiry(t *testing.T) {
	signer, err := LoadOrCreateLocalSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := signer.Mint("u1", []principal.Role{principal.Supervisor}, nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	next := &countingChecker{}
	c := NewTokenCache(next, 10, time.Hour, func() time.Time { return now })
	if _, err := c.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute) // past the token's exp, well within the ttl
	_, _ = c.Verify(context.Background(), tok)
	if next.calls != 2 {
		t.Errorf("%d checks; an expired token must be checked again, not served from the cache", next.calls)
	}
}
