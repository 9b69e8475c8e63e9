package towns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultTable(t *testing.T) {
	tab := Default()
	if tab.County() != "500230" {
		t.Errorf("County() = %q, want 500230 (Fengdu)", tab.County())
	}
	// NBS 2023: 2 sub-districts, 23 towns, 5 townships.
	var jiedao, zhen, xiang int
	for _, town := range tab.List() {
		switch {
		case strings.HasSuffix(town.Name, "街道") && town.Code[6] == '0':
			jiedao++
		case strings.HasSuffix(town.Name, "镇") && town.Code[6] == '1':
			zhen++
		case strings.HasSuffix(town.Name, "乡") && town.Code[6] == '2':
			xiang++
		default:
			t.Errorf("%s %s: the name's kind does not match the code's kind digit", town.Code, town.Name)
		}
	}
	if jiedao != 2 || zhen != 23 || xiang != 5 || tab.Len() != 30 {
		t.Errorf("got %d sub-districts, %d towns, %d townships (%d in all); want 2, 23, 5 (30)", jiedao, zhen, xiang, tab.Len())
	}
}

func TestLookup(t *testing.T) {
	tab := Default()
	tests := []struct {
		code, name string
		ok         bool
	}{
		{"500230001", "三合街道", true}, // the county seat
		{"500230002", "名山街道", true},
		// The made-up codes existing tests use happen to be real towns.
		{"500230101", "虎威镇", true},
		{"500230102", "社坛镇", true},
		{"500230125", "仙女湖镇", true},
		{"500230210", "三建乡", true},
		{"500230108", "", false}, // a gap in the numbering
		{"500231001", "", false}, // 垫江县's first sub-district, another county
		{"50023000", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		town, ok := tab.Lookup(tt.code)
		if ok != tt.ok || town.Name != tt.name || (ok && town.Code != tt.code) {
			t.Errorf("Lookup(%q) = %+v, %v; want %q, %v", tt.code, town, ok, tt.name, tt.ok)
		}
		if got := tab.Name(tt.code); got != tt.name {
			t.Errorf("Name(%q) = %q, want %q", tt.code, got, tt.name)
		}
		if got := tab.Contains(tt.code); got != tt.ok {
			t.Errorf("Contains(%q) = %v, want %v", tt.code, got, tt.ok)
		}
	}
}

func TestListIsSortedAndACopy(t *testing.T) {
	tab := Default()
	l := tab.List()
	for i := 1; i < len(l); i++ {
		if l[i-1].Code >= l[i].Code {
			t.Fatalf("List not sorted at %d: %s then %s", i, l[i-1].Code, l[i].Code)
		}
	}
	l[0].Name = "changed"
	if tab.List()[0].Name == "changed" {
		t.Error("List returned the table's own slice")
	}
}

func TestIsCode(t *testing.T) {
	for s, want := range map[string]bool{
		"500230001": true, "50023000": false, "5002300010": false, "50023000a": false,
		"５00230001": false, "": false, " 50023001": false,
	} {
		if got := IsCode(s); got != want {
			t.Errorf("IsCode(%q) = %v, want %v", s, got, want)
		}
	}
}

// A county that re-districts replaces the list with a file.
func TestLoadFileOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "towns.tsv")
	body := "# after a made-up merger\n\n500230001\t三合街道\r\n500230003\t新设街道\n500230101\t虎威镇\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	tab, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if tab.Len() != 3 || tab.Name("500230003") != "新设街道" || tab.Contains("500230002") {
		t.Errorf("override table = %+v", tab.List())
	}
	if Default().Contains("500230003") {
		t.Error("loading a file changed the default table")
	}
}

func TestParseRefusesBadTables(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty", "# nothing\n", "no towns"},
		{"no tab", "500230001 三合街道\n", "line 1"},
		{"short code", "50023001\t三合街道\n", "9 digits"},
		{"letters in code", "50023000x\t三合街道\n", "9 digits"},
		{"empty name", "500230001\t \n", "name is empty"},
		{"control character", "500230001\t三合\x1b街道\n", "control"},
		{"two counties", "500230001\t三合街道\n500231001\t桂溪街道\n", "line 2: code 500231001 is not in county 500230"},
		{"duplicate code", "500230001\t三合街道\n500230001\t名山街道\n", "listed twice"},
		{"duplicate name", "500230001\t三合街道\n500230002\t三合街道\n", "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	if _, err := LoadFile(filepath.Join(t.TempDir(), "none.tsv")); err == nil {
		t.Fatal("want an error for a missing file")
	}
}
