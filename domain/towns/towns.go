// Package towns is the county's list of towns and sub-districts (乡镇、街道):
// the 9-digit codes households, credentials and filters carry, and the names
// people read. The list ships as data (towns.tsv, embedded) and can be
// replaced from a file at startup, because a county re-districts (towns
// merge, a town becomes a sub-district) more often than it releases software.
package towns

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
)

//go:embed towns.tsv
var embedded string

// CodeLength is the length of a town code: the 6-digit county code followed
// by the 3-digit township part of the statistical division code.
const CodeLength = 9

// Town is one town or sub-district.
type Town struct {
	Code string
	Name string
}

// Kind is what kind of place a town is.
type Kind string

// The kinds, told by the code's seventh digit in the statistical division
// codes: 0 for a sub-district, 1 for a town, 2 for a township.
const (
	SubDistrict Kind = "SUB_DISTRICT" // 街道
	TownKind    Kind = "TOWN"         // 镇
	Township    Kind = "TOWNSHIP"     // 乡
)

// Kinds lists every kind of place.
func Kinds() []Kind { return []Kind{SubDistrict, TownKind, Township} }

// Kind says whether t is a sub-district, a town or a township ("" when its
// code says none of them).
func (t Town) Kind() Kind {
	if len(t.Code) != CodeLength {
		return ""
	}
	switch t.Code[6] {
	case '0':
		return SubDistrict
	case '1':
		return TownKind
	case '2':
		return Township
	}
	return ""
}

// Table is an immutable list of one county's towns, safe for concurrent use.
type Table struct {
	county string
	towns  []Town // sorted by code
	byCode map[string]Town
}

var defaultTable = mustParse(embedded)

func mustParse(s string) *Table {
	t, err := Parse(strings.NewReader(s))
	if err != nil {
		panic("towns: embedded towns.tsv: " + err.Error())
	}
	return t
}

// Default returns the table shipped with the program (Fengdu County).
func Default() *Table { return defaultTable }

// LoadFile reads a table from a file in the towns.tsv format, to use instead
// of the shipped one.
func LoadFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: a failed close loses nothing
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse reads a table: one town a line, its code, a tab and its name; blank
// lines and lines starting with # are skipped. Every code must be 9 ASCII
// digits and all must share one county (their first 6 digits); codes and
// names must be unique, names non-empty and free of control characters. A
// bad line fails the whole table, naming its line number.
func Parse(r io.Reader) (*Table, error) {
	t := &Table{byCode: map[string]Town{}}
	names := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code, name, ok := strings.Cut(line, "\t")
		name = strings.TrimSpace(name)
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: want a code, a tab and a name", n)
		case !IsCode(code):
			return nil, fmt.Errorf("line %d: code must be %d digits", n, CodeLength)
		case name == "" || strings.ContainsFunc(name, unicode.IsControl):
			return nil, fmt.Errorf("line %d: name is empty or has control characters", n)
		case t.county == "":
			t.county = code[:6]
		case code[:6] != t.county:
			return nil, fmt.Errorf("line %d: code %s is not in county %s; a table holds one county", n, code, t.county)
		}
		if _, dup := t.byCode[code]; dup {
			return nil, fmt.Errorf("line %d: code %s is listed twice", n, code)
		}
		if names[name] {
			return nil, fmt.Errorf("line %d: name %s is listed twice", n, name)
		}
		names[name] = true
		town := Town{Code: code, Name: name}
		t.byCode[code] = town
		t.towns = append(t.towns, town)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.towns) == 0 {
		return nil, fmt.Errorf("no towns")
	}
	slices.SortFunc(t.towns, func(a, b Town) int { return strings.Compare(a.Code, b.Code) })
	return t, nil
}

// IsCode reports whether s has the shape of a town code: 9 ASCII digits.
// It says nothing about whether the town exists; Lookup does.
func IsCode(s string) bool {
	if len(s) != CodeLength {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// County is the 6-digit code of the county the table lists.
func (t *Table) County() string { return t.county }

// List returns every town, ordered by code. The slice is the caller's.
func (t *Table) List() []Town { return slices.Clone(t.towns) }

// Len is the number of towns.
func (t *Table) Len() int { return len(t.towns) }

// Lookup returns the town with the given code.
func (t *Table) Lookup(code string) (Town, bool) {
	town, ok := t.byCode[code]
	return town, ok
}

// Contains reports whether code is one of the table's towns.
func (t *Table) Contains(code string) bool {
	_, ok := t.byCode[code]
	return ok
}

// Name returns the town's name, or "" for a code the table does not have.
func (t *Table) Name(code string) string { return t.byCode[code].Name }
