package audit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func chain(n int) []*Entry {
	var out []*Entry
	prevSeq, prevHash := int64(0), GenesisHash
	for i := 0; i < n; i++ {
		e := (&Record{Principal: "u1", Roles: "caseworker", Method: "/m"}).Entry(ActionChange, "cases/x", OutcomeOK, []string{"status"})
		e.Time = time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
		e.Seal(prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		out = append(out, e)
	}
	return out
}

func iter(es []*Entry) func() (*Entry, bool, error) {
	i := 0
	return func() (*Entry, bool, error) {
		if i >= len(es) {
			return nil, false, nil
		}
		i++
		return es[i-1], true, nil
	}
}

func TestVerifyIntactChain(t *testing.T) {
	n, err := Verify(context.Background(), iter(chain(5)))
	if err != nil || n != 5 {
		t.Fatalf("Verify = %d, %v; want 5, nil", n, err)
	}
}

func TestVerifyNamesFirstBrokenLink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func([]*Entry) []*Entry
		want   int64
	}{
		{"altered content", func(es []*Entry) []*Entry { es[2].Principal = "someone-else"; return es }, 3},
		{"altered and rehashed", func(es []*Entry) []*Entry { es[1].Outcome = "X"; es[1].Hash = es[1].ComputeHash(); return es }, 3},
		{"deleted entry", func(es []*Entry) []*Entry { return append(es[:3], es[4:]...) }, 4},
		{"deleted last-but-one", func(es []*Entry) []*Entry { return append(es[:1], es[2:]...) }, 2},
		{"reordered", func(es []*Entry) []*Entry { es[0], es[1] = es[1], es[0]; return es }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(context.Background(), iter(tc.tamper(chain(5))))
			var broken *BrokenLinkError
			if !errors.As(err, &broken) || broken.Seq != tc.want {
				t.Fatalf("Verify = %v; want broken link at %d", err, tc.want)
			}
		})
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := chain(1)[0]
	mutations := map[string]func(*Entry){
		"seq": func(e *Entry) { e.Seq++ }, "time": func(e *Entry) { e.Time = e.Time.Add(time.Microsecond) },
		"principal": func(e *Entry) { e.Principal += "x" }, "roles": func(e *Entry) { e.Roles += "x" },
		"credential": func(e *Entry) { e.Credential += "x" }, "method": func(e *Entry) { e.Method += "x" },
		"resource": func(e *Entry) { e.Resource += "x" }, "action": func(e *Entry) { e.Action += "x" },
		"request": func(e *Entry) { e.RequestID += "x" }, "client": func(e *Entry) { e.ClientAddr += "x" },
		"outcome": func(e *Entry) { e.Outcome += "x" }, "fields": func(e *Entry) { e.Fields += "x" },
		"prev": func(e *Entry) { e.PrevHash = "y" },
		// Moving a byte between adjacent fields must change the hash too.
		"boundary": func(e *Entry) { e.Principal, e.Roles = e.Principal+"c", e.Roles[1:] },
	}
	for name, mutate := range mutations {
		e := *base
		mutate(&e)
		if e.ComputeHash() == base.Hash {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
}
