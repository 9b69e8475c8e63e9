package idnumber

import (
	"errors"
	"strings"
	"testing"
)

// legacy builds a synthetic 15-digit first-generation number: region,
// yymmdd and a 3-digit sequence; nobody's real number.
func legacy(region, yymmdd, seq string) string { return region + yymmdd + seq }

func TestUpgrade15(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		// The converted number is exactly what Make builds for 19yy.
		{legacy("512324", "850612", "123"), Make("512324", date(1985, 6, 12), 123), nil},
		{legacy("500230", "991231", "002"), Make("500230", date(1999, 12, 31), 2), nil},
		{legacy("110105", "000101", "995"), Make("110105", date(1900, 1, 1), 995), nil},
		{legacy("512324", "850612", "996"), "", ErrCentenarianSequence},
		{legacy("512324", "850612", "999"), "", ErrCentenarianSequence},
		{"51232485061212", "", ErrLength},
		{"5123248506121234", "", ErrLength},
		{"51232485061212X", "", ErrFormat},
		{"5123248506 1212", "", ErrFormat},
	}
	for _, tt := range tests {
		got, err := Upgrade15(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("Upgrade15(%s) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// The conversion's check character agrees with the independently written
// checksum of the tests in idnumber_test.go.
func TestUpgrade15CheckCharacter(t *testing.T) {
	for seq := 0; seq < 996; seq += 7 {
		in := legacy("512324", "700101", pad3(seq))
		got, err := Upgrade15(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := withCheck(t, "512324"+"19700101"+pad3(seq)); got != want {
			t.Fatalf("Upgrade15(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	fengdu1985 := Make("500230", date(1985, 6, 12), 123)
	tests := []struct {
		name      string
		in        string
		number    string
		converted bool
		status    RegionStatus
		regName   string
		province  string
	}{
		{"current Fengdu number", fengdu1985, fengdu1985, false, RegionCurrent, "丰都县", "重庆市"},
		{"lower-case x and spaces", " " + strings.ToLower(xNumber(t)) + " ", xNumber(t), false, RegionCurrent, "丰都县", "重庆市"},
		{"Fengdu under 涪陵地区 (1982-1995), 15 digits", legacy("512324", "700301", "241"),
			Make("512324", date(1970, 3, 1), 241), true, RegionHistorical, "丰都县", "四川省"},
		{"Fengdu under 涪陵市 (1995-1997), 15 digits", legacy("517022", "960815", "017"),
			Make("517022", date(1996, 8, 15), 17), true, RegionHistorical, "丰都县", "四川省"},
		{"Fengdu's pre-1997 code in an 18-digit number", Make("512324", date(1962, 11, 30), 552),
			Make("512324", date(1962, 11, 30), 552), false, RegionHistorical, "丰都县", "四川省"},
		{"15 digits with spaces", "  " + legacy("500230", "990101", "001") + "\t",
			Make("500230", date(1999, 1, 1), 1), true, RegionCurrent, "丰都县", "重庆市"},
		{"a code retired in 2010 (崇文区)", Make("110103", date(1975, 5, 5), 31),
			Make("110103", date(1975, 5, 5), 31), false, RegionHistorical, "崇文区", "北京市"},
		{"unlisted code of a known province", Make("519999", date(1980, 1, 1), 11),
			Make("519999", date(1980, 1, 1), 11), false, RegionUnlisted, "", "四川省"},
		{"Hong Kong resident's permit", Make("810000", date(1990, 2, 2), 45),
			Make("810000", date(1990, 2, 2), 45), false, RegionCurrent, "香港特别行政区", "香港特别行政区"},
		{"Taiwan resident's permit", Make("830000", date(1990, 2, 2), 46),
			Make("830000", date(1990, 2, 2), 46), false, RegionPermit, "台湾居民（港澳台居民居住证）", "台湾居民（港澳台居民居住证）"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.in, now)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got.Number != tt.number || got.Converted != tt.converted {
				t.Errorf("Number, Converted = %s, %v; want %s, %v", got.Number, got.Converted, tt.number, tt.converted)
			}
			if got.Region.Status != tt.status || got.Region.Name != tt.regName || got.Region.Province != tt.province || got.Region.Code != tt.number[:6] {
				t.Errorf("Region = %+v; want %v %q in %q", got.Region, tt.status, tt.regName, tt.province)
			}
			info, err := Parse(tt.number, now)
			if err != nil || got.Info != info {
				t.Errorf("Info = %+v, want Parse's %+v (%v)", got.Info, info, err)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	valid := Make("500230", date(1985, 6, 12), 123)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrLength},
		{"16 digits", valid[:16], ErrLength},
		{"19 characters", valid + "1", ErrLength},
		{"15 with a letter", legacy("500230", "850612", "12") + "X", ErrFormat},
		{"15 with a centenarian sequence", legacy("500230", "850612", "998"), ErrCentenarianSequence},
		{"15 with 30 February", legacy("500230", "850230", "123"), ErrBirthDate},
		{"18 with a wrong check digit", wrongCheck(valid), ErrCheckDigit},
		{"18 born tomorrow", Make("500230", date(2026, 3, 16), 1), ErrFutureBirthDate},
		{"province 99 does not exist", Make("990101", date(1985, 6, 12), 123), ErrRegion},
		{"province 00 does not exist", Make("000000", date(1985, 6, 12), 123), ErrRegion},
		{"province 20 does not exist", Make("200101", date(1985, 6, 12), 123), ErrRegion},
		{"province 72 does not exist", Make("720101", date(1985, 6, 12), 123), ErrRegion},
		{"15 digits in an unknown province", legacy("990101", "850612", "123"), ErrRegion},
	}
	sentinels := []error{ErrLength, ErrFormat, ErrCheckDigit, ErrBirthDate, ErrFutureBirthDate, ErrCentenarianSequence, ErrRegion}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(tt.in, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check error = %v, want %v", err, tt.want)
			}
			for _, s := range sentinels {
				if !errors.Is(s, tt.want) && errors.Is(err, s) {
					t.Errorf("error also matches %v; kinds must be distinct", s)
				}
			}
			msg := err.Error()
			for _, part := range []string{tt.in, safeSlice(tt.in, 0, 6), safeSlice(tt.in, 6, 12)} {
				if len(part) >= 4 && strings.Contains(msg, part) {
					t.Errorf("error %q repeats part of the input", msg)
				}
			}
		})
	}
}

func safeSlice(s string, i, j int) string {
	if j > len(s) {
		return ""
	}
	return s[i:j]
}

func TestLookupRegion(t *testing.T) {
	tests := []struct {
		code     string
		status   RegionStatus
		name     string
		province string
		err      error
	}{
		{"500230", RegionCurrent, "丰都县", "重庆市", nil},
		{"500000", RegionCurrent, "重庆市", "重庆市", nil},
		{"512324", RegionHistorical, "丰都县", "四川省", nil},
		{"517022", RegionHistorical, "丰都县", "四川省", nil},
		{"512723", RegionHistorical, "丰都县", "四川省", nil},
		{"441900", RegionCurrent, "东莞市", "广东省", nil}, // a prefecture with no counties
		{"460000", RegionCurrent, "海南省", "海南省", nil},
		{"710000", RegionCurrent, "台湾省", "台湾省", nil},
		{"820000", RegionCurrent, "澳门特别行政区", "澳门特别行政区", nil},
		{"659999", RegionUnlisted, "", "新疆维吾尔自治区", nil},
		{"990000", 0, "", "", ErrRegion},
		{"840000", 0, "", "", ErrRegion},
		{"50023", 0, "", "", ErrFormat},
		{"50023a", 0, "", "", ErrFormat},
	}
	for _, tt := range tests {
		r, err := LookupRegion(tt.code)
		if !errors.Is(err, tt.err) {
			t.Errorf("LookupRegion(%s) error = %v, want %v", tt.code, err, tt.err)
			continue
		}
		if err == nil && (r.Status != tt.status || r.Name != tt.name || r.Province != tt.province || r.Code != tt.code) {
			t.Errorf("LookupRegion(%s) = %+v; want %v %q in %q", tt.code, r, tt.status, tt.name, tt.province)
		}
	}
}

// The shipped table has every province-level code and nothing unexpected.
func TestRegionTable(t *testing.T) {
	want := map[string]bool{}
	for _, p := range []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"} {
		want[p+"0000"] = true
	}
	var current, historical int
	for code, e := range regions {
		if code[2:] == "0000" && !want[code] {
			t.Errorf("unexpected province-level code %s %s", code, e.name)
		}
		switch e.status {
		case RegionCurrent:
			current++
		case RegionHistorical:
			historical++
		}
	}
	for p := range want {
		if _, ok := regions[p]; !ok {
			t.Errorf("province-level code %s missing", p)
		}
	}
	// NBS 2023 has about 3,000 counties and 340 prefectures.
	if current < 3300 || historical < 1000 {
		t.Errorf("%d current and %d historical codes; the table looks truncated", current, historical)
	}
}

func TestParseRegionsRefusesBadTables(t *testing.T) {
	for name, body := range map[string]string{
		"short code":      "50023\t丰都县\tcurrent\n",
		"no name":         "500000\t\tcurrent\n",
		"unknown status":  "500000\t重庆市\tcurrent\n500230\t丰都县\tnow\n",
		"duplicate":       "500000\t重庆市\tcurrent\n500000\t重庆市\tcurrent\n",
		"orphan province": "500230\t丰都县\tcurrent\n",
		"two fields":      "500000\t重庆市\n",
	} {
		if _, err := parseRegions(body); err == nil {
			t.Errorf("%s: parseRegions accepted a bad table", name)
		}
	}
	if m, err := parseRegions("# comment\n500000\t重庆市\tcurrent\n500230\t丰都县\tcurrent\n"); err != nil || len(m) != 2 {
		t.Errorf("parseRegions(good) = %v, %v", m, err)
	}
}
