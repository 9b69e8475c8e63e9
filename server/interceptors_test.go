package server

import (
	"log/slog"
	"testing"
	"time"
)

// TestOneChainForBothKindsOfCall holds every step of the chain to having a
// streaming form, or a stated reason why streams skip it.
func TestOneChainForBothKindsOfCall(t *testing.T) {
	chain := steps(slog.Default(), nil, nil, time.Second, &authenticator{}, &lookupGuard{}, nil, 0, false)
	names := map[string]bool{}
	for _, s := range chain {
		if names[s.name] {
			t.Errorf("step %q is listed twice", s.name)
		}
		names[s.name] = true
		if s.unary == nil {
			t.Errorf("step %q has no unary form", s.name)
		}
		if (s.stream == nil) == (s.noStream == "") {
			t.Errorf("step %q: a streaming form, or a reason why streams skip it, is required (and not both)", s.name)
		}
	}
	for _, must := range []string{"recover", "access log", "map errors", "authenticate", "audit refusals", "validate"} {
		var streamed bool
		for _, s := range chain {
			if s.name == must && s.stream != nil {
				streamed = true
			}
		}
		if !streamed {
			t.Errorf("streams skip %q", must)
		}
	}
}
