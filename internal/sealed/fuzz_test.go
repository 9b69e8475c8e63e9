package sealed

import (
	"errors"
	"testing"
)

// FuzzOpen checks that Open never panics, fails only with its documented
// errors and an empty result, and opens nothing but genuine values for
// their own context. Random input must never open: that would be a
// forgery.
func FuzzOpen(f *testing.F) {
	k := testKeyring(f)
	genuine := map[string]bool{}
	for _, p := range []string{"110101199003071234", "13800138000"} {
		genuine[p] = true
		s := mustSeal(f, k, p, ctxID)
		f.Add(s, ctxID)
		f.Add(s, ctxPhone)
		f.Add(s[:len(s)-2], ctxID)
	}
	f.Add("", ctxID)
	f.Add("13800138000", ctxPhone)
	f.Add("sealed:v1:kdeadbeef:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ctxID)
	f.Fuzz(func(t *testing.T, value, context string) {
		got, err := k.Open(value, context)
		if err != nil {
			if got != "" {
				t.Fatalf("Open failed (%v) but returned %q", err, got)
			}
			if !errors.Is(err, ErrNotSealed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if value == "" {
			if got != "" {
				t.Fatalf(`Open("") = %q`, got)
			}
			return
		}
		if context != ctxID || !genuine[got] {
			t.Fatalf("Open(%q, %q) = %q; only genuine seeds may open", value, context, got)
		}
	})
}
