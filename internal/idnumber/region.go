package idnumber

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
)

// The region table: GB/T 2260 codes, current and historical, as ID numbers
// carry them. regions.tsv documents its layout and SOURCES.md its sources.
//
//go:embed regions.tsv
var regionsTSV string

// RegionStatus says how the region table knows a code.
type RegionStatus uint8

const (
	// RegionUnlisted is a code of a known province that the table does not
	// list. The table lacks the lists of before 1999, when codes were
	// renumbered often, so such a code may well be real: see LookupRegion.
	RegionUnlisted RegionStatus = iota
	// RegionCurrent is a code in use today.
	RegionCurrent
	// RegionHistorical is a code no longer in use, which people registered
	// under it still carry.
	RegionHistorical
	// RegionPermit is an address code of the residence permit for Hong Kong,
	// Macao and Taiwan residents that GB/T 2260 itself does not define
	// (830000, Taiwan).
	RegionPermit
)

func (s RegionStatus) String() string {
	switch s {
	case RegionUnlisted:
		return "unlisted"
	case RegionCurrent:
		return "current"
	case RegionHistorical:
		return "historical"
	case RegionPermit:
		return "permit"
	}
	return fmt.Sprintf("RegionStatus(%d)", uint8(s))
}

// Region is what the table says of an ID number's first six digits.
type Region struct {
	Code string
	// Name is the division's name, "" when unlisted. Historical names are
	// the last ones the code had.
	Name string
	// Province is the province-level name (first two digits).
	Province string
	Status   RegionStatus
}

// ErrRegion is returned for a region code whose first two digits are not a
// province-level code. Like every error of this package it does not repeat
// the code.
var ErrRegion = errors.New("ID number region code is not in a known province (GB/T 2260)")

type regionEntry struct {
	name   string
	status RegionStatus
}

var regions = mustParseRegions(regionsTSV)

func mustParseRegions(s string) map[string]regionEntry {
	m, err := parseRegions(s)
	if err != nil {
		panic("idnumber: embedded regions.tsv: " + err.Error())
	}
	return m
}

func parseRegions(s string) (map[string]regionEntry, error) {
	m := map[string]regionEntry{}
	for n, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || len(f[0]) != 6 || !allDigits(f[0]) || f[1] == "" {
			return nil, fmt.Errorf("line %d: want code, name and status", n+1)
		}
		var st RegionStatus
		switch f[2] {
		case "current":
			st = RegionCurrent
		case "historical":
			st = RegionHistorical
		case "permit":
			st = RegionPermit
		default:
			return nil, fmt.Errorf("line %d: unknown status %q", n+1, f[2])
		}
		if _, dup := m[f[0]]; dup {
			return nil, fmt.Errorf("line %d: code %s listed twice", n+1, f[0])
		}
		m[f[0]] = regionEntry{name: f[1], status: st}
	}
	// Every listed code must sit in a listed province, or LookupRegion
	// would refuse codes the table itself lists.
	for code := range m {
		if _, ok := m[code[:2]+"0000"]; !ok {
			return nil, fmt.Errorf("code %s: its province is not listed", code)
		}
	}
	return m, nil
}

// LookupRegion checks the first six digits of an ID number against GB/T 2260.
//
// The policy: a code whose province (first two digits) is not a
// province-level code is refused with ErrRegion, since no such number was
// ever issued and a wrong province is the commonest typing slip a check digit
// can miss. A code of a known province is accepted: listed codes come back
// as current, historical or permit; any other comes back RegionUnlisted,
// because the table is complete only from 1999 (plus Fengdu's own earlier
// codes) and people registered in the 1980s and 1990s carry codes of
// prefectures that have since been renumbered. A caller may show an
// unlisted code as a warning; it is not an error.
//
// code must be six ASCII digits (ErrFormat otherwise).
func LookupRegion(code string) (Region, error) {
	if len(code) != 6 || !allDigits(code) {
		return Region{}, ErrFormat
	}
	prov, ok := regions[code[:2]+"0000"]
	if !ok {
		return Region{}, ErrRegion
	}
	r := Region{Code: code, Province: prov.name}
	if e, ok := regions[code]; ok {
		r.Name, r.Status = e.name, e.status
	}
	return r, nil
}
