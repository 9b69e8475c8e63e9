package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAppendAndReadAnchors(t *testing.T) {
	keys := newTestKeys()
	es := chain(t, 3, keys)
	path := filepath.Join(t.TempDir(), "anchors.jsonl")
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var want []Anchor
	for i, e := range es {
		a := AnchorOf(Head{Seq: e.Seq, Hash: e.Hash, KeyID: e.KeyID, Time: e.Time}, now.Add(time.Duration(i)*time.Minute))
		if err := AppendAnchor(path, a); err != nil {
			t.Fatal(err)
		}
		want = append(want, a)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("anchor file mode %o, want 600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 3 {
		t.Fatalf("anchor file holds %d lines after three appends, want 3:\n%s", n, data)
	}
	f, _ := os.Open(path)
	defer f.Close()
	got, err := ReadAnchors(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d anchors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Hash != w.Hash || g.KeyID != w.KeyID || !g.Recorded.Equal(w.Recorded) || !g.EntryTime.Equal(w.EntryTime) {
			t.Errorf("anchor %d read back as %+v, want %+v", i, g, w)
		}
	}
}

func TestReadAnchorsRefusesDamage(t *testing.T) {
	good := `{"time":"2026-03-02T10:00:00Z","sequence":3,"hash":"` + strings.Repeat("ab", 32) + `"}`
	for _, tc := range []struct{ name, file, want string }{
		{"not json", good + "\n{\n", "line 2"},
		{"unknown field", `{"sequence":1,"hash":"` + strings.Repeat("ab", 32) + `","extra":1}`, "line 1"},
		{"short hash", `{"sequence":1,"hash":"abcd"}`, "line 1"},
		{"negative sequence", `{"sequence":-1,"hash":"` + strings.Repeat("ab", 32) + `"}`, "line 1"},
		{"two objects on a line", good + good, "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadAnchors(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadAnchors = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	got, err := ReadAnchors(strings.NewReader("\n" + good + "\n\n"))
	if err != nil || len(got) != 1 {
		t.Fatalf("blank lines: %d anchors, %v", len(got), err)
	}
}

func TestCheckAnchor(t *testing.T) {
	h := strings.Repeat("ab", 32)
	a := Anchor{Seq: 5, Hash: h}
	for _, tc := range []struct {
		name      string
		hash      string
		found     bool
		last      int64
		ok        bool
		truncated bool
	}{
		{"same entry, chain grown since", h, true, 9, true, false},
		{"same entry, chain ends there", h, true, 5, true, false},
		{"entry rewritten", strings.Repeat("cd", 32), true, 9, false, false},
		{"entry gone from the middle", "", false, 9, false, false},
		{"chain cut before it", "", false, 4, false, true},
		{"chain emptied", "", false, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAnchor(a, tc.hash, tc.found, tc.last)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckAnchor = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Truncated != tc.truncated {
				t.Fatalf("CheckAnchor = %v, want truncated=%v", err, tc.truncated)
			}
			word := "rewritten"
			if tc.truncated {
				word = "truncated"
			}
			if !strings.Contains(err.Error(), word) {
				t.Errorf("error %q does not say %s", err, word)
			}
		})
	}
	if err := CheckAnchor(Anchor{Seq: 0, Hash: GenesisHash}, "", false, 0); err != nil {
		t.Errorf("the empty chain's anchor: %v", err)
	}
}
