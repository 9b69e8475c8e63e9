package calendar

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, ChinaTime) }

// at is an instant on a date, China time, so tests show that the time of day
// does not matter.
func at(y int, m time.Month, d, hour int) time.Time {
	return time.Date(y, m, d, hour, 30, 0, 0, ChinaTime)
}

func mustNew(t *testing.T) *Calendar {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestShippedYears(t *testing.T) {
	c := mustNew(t)
	if got, want := c.Years(), []int{2024, 2025, 2026}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Years() = %v, want %v", got, want)
	}
	for _, y := range c.Years() {
		src, ok := c.Source(y)
		if !ok || !strings.Contains(src, "国办发明电") {
			t.Errorf("Source(%d) = %q, want the notice's number", y, src)
		}
	}
}

// notice is a year's schedule typed a second time, from the notices' text,
// independently of holidays/*.json: TestScheduleMatchesNotices classifies
// every day of the year both ways, so a slip in either shows.
type notice struct {
	holidays [][2]string // first, last
	workdays []string
}

var notices = map[int]notice{
	// 国办发明电〔2023〕7号
	2024: {
		holidays: [][2]string{
			{"01-01", "01-01"}, {"02-10", "02-17"}, {"04-04", "04-06"}, {"05-01", "05-05"},
			{"06-10", "06-10"}, {"09-15", "09-17"}, {"10-01", "10-07"},
		},
		workdays: []string{"02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12"},
	},
	// 国办发明电〔2024〕12号
	2025: {
		holidays: [][2]string{
			{"01-01", "01-01"}, {"01-28", "02-04"}, {"04-04", "04-06"}, {"05-01", "05-05"},
			{"05-31", "06-02"}, {"10-01", "10-08"},
		},
		workdays: []string{"01-26", "02-08", "04-27", "09-28", "10-11"},
	},
	// 国办发明电〔2025〕7号
	2026: {
		holidays: [][2]string{
			{"01-01", "01-03"}, {"02-15", "02-23"}, {"04-04", "04-06"}, {"05-01", "05-05"},
			{"06-19", "06-21"}, {"09-25", "09-27"}, {"10-01", "10-07"},
		},
		workdays: []string{"01-04", "02-14", "02-28", "05-09", "09-20", "10-10"},
	},
}

func TestScheduleMatchesNotices(t *testing.T) {
	c := mustNew(t)
	for year, n := range notices {
		want := map[string]Kind{}
		for _, h := range n.holidays {
			first, _ := time.ParseInLocation("2006-01-02", itoa(year)+"-"+h[0], ChinaTime)
			last, _ := time.ParseInLocation("2006-01-02", itoa(year)+"-"+h[1], ChinaTime)
			for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
				want[d.Format("01-02")] = Holiday
			}
		}
		for _, w := range n.workdays {
			want[w] = MakeUpWorkday
		}
		holidays, makeups := 0, 0
		for d := day(year, 1, 1); d.Year() == year; d = d.AddDate(0, 0, 1) {
			k, listed := want[d.Format("01-02")]
			if !listed {
				k = Workday
				if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
					k = Weekend
				}
			}
			got := c.Day(d)
			if got.Kind != k || !got.Known {
				t.Errorf("%s: Day = %v (known %v), want %v", d.Format(time.DateOnly), got.Kind, got.Known, k)
			}
			switch got.Kind {
			case Holiday:
				holidays++
			case MakeUpWorkday:
				makeups++
			}
		}
		t.Logf("%d: %d holiday days, %d make-up working days", year, holidays, makeups)
	}
}

func itoa(n int) string { return time.Date(n, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") }

func TestIsHolidayAndIsWorkingDay(t *testing.T) {
	c := mustNew(t)
	tests := []struct {
		name             string
		t                time.Time
		holiday, working bool
	}{
		{"Spring Festival 2026, first day (a Sunday)", at(2026, 2, 15, 9), true, false},
		{"Spring Festival 2026, a Wednesday inside it", at(2026, 2, 18, 9), true, false},
		{"make-up working day 2026-02-14 (Saturday)", at(2026, 2, 14, 9), false, true},
		{"ordinary Saturday", at(2026, 3, 7, 9), false, false},
		{"ordinary Monday", at(2026, 3, 9, 9), false, true},
		{"2024's 除夕 is only encouraged off: a working day", at(2024, 2, 9, 9), false, true},
		{"2024 Dragon Boat joined to the weekend: the weekend is no holiday", at(2024, 6, 8, 9), false, false},
		{"2024 Dragon Boat day itself", at(2024, 6, 10, 9), true, false},
		{"2025 National Day's eighth day", at(2025, 10, 8, 9), true, false},
		// 23:30 UTC on 14 Feb is already 15 Feb in China.
		{"date taken in China time", time.Date(2026, 2, 14, 23, 30, 0, 0, time.UTC), true, false},
	}
	for _, tt := range tests {
		h, err := c.IsHoliday(tt.t)
		if err != nil || h != tt.holiday {
			t.Errorf("%s: IsHoliday = %v, %v; want %v", tt.name, h, err, tt.holiday)
		}
		w, err := c.IsWorkingDay(tt.t)
		if err != nil || w != tt.working {
			t.Errorf("%s: IsWorkingDay = %v, %v; want %v", tt.name, w, err, tt.working)
		}
	}
}

func TestMissingYearIsReported(t *testing.T) {
	c := mustNew(t)
	h, err := c.IsHoliday(day(2027, 10, 1))
	if !errors.Is(err, ErrYearMissing) || h {
		t.Errorf("IsHoliday(2027-10-01) = %v, %v; want false, ErrYearMissing", h, err)
	}
	w, err := c.IsWorkingDay(day(2027, 1, 4)) // a Monday
	if !errors.Is(err, ErrYearMissing) || !w {
		t.Errorf("IsWorkingDay(2027-01-04) = %v, %v; want true by weekday, ErrYearMissing", w, err)
	}
	if d := c.Day(day(2027, 1, 2)); d.Known || d.Kind != Weekend {
		t.Errorf("Day(2027-01-02) = %+v, want unknown weekend", d)
	}
	if got := c.Missing(day(2025, 6, 1), day(2028, 1, 1)); !reflect.DeepEqual(got, []int{2027, 2028}) {
		t.Errorf("Missing(2025..2028) = %v, want [2027 2028]", got)
	}
	if got := c.Missing(day(2024, 1, 1), day(2026, 12, 31)); got != nil {
		t.Errorf("Missing(2024..2026) = %v, want none", got)
	}
}

func TestDeadlineDays(t *testing.T) {
	c := mustNew(t)
	tests := []struct {
		name     string
		start    time.Time
		n        int
		lastDay  time.Time
		extended bool
		missing  []int
	}{
		// Art 201: the start day is not counted.
		{"ordinary week: Monday + 7 is the next Monday", at(2026, 3, 2, 10), 7, day(2026, 3, 9), false, nil},
		{"submitted late at night still counts from the next day", at(2026, 3, 2, 23), 7, day(2026, 3, 9), false, nil},
		// Art 203 with weekly rest days.
		{"Friday + 1 lands on Saturday: moves to Monday", at(2026, 3, 13, 16), 1, day(2026, 3, 16), true, nil},
		{"Saturday + 7 lands on Saturday: moves to Monday", at(2026, 3, 7, 10), 7, day(2026, 3, 16), true, nil},
		{"a weekend inside the period is counted", at(2026, 3, 4, 10), 7, day(2026, 3, 11), false, nil},
		// The day before the 2026 Spring Festival holiday (15–23 Feb) is
		// Saturday 14 Feb, a make-up working day.
		{"legal aid filed 14 Feb 2026 (make-up working day): 21 Feb is a holiday, ends the 24th", at(2026, 2, 14, 11), 7, day(2026, 2, 24), true, nil},
		{"filed Friday 13 Feb 2026: 20 Feb is a holiday, ends the 24th", at(2026, 2, 13, 11), 7, day(2026, 2, 24), true, nil},
		{"filed Saturday 7 Feb 2026: ends on 14 Feb, a make-up working day, not extended", at(2026, 2, 7, 11), 7, day(2026, 2, 14), false, nil},
		{"filed Sunday 8 Feb 2026: lands on the first holiday day", at(2026, 2, 8, 11), 7, day(2026, 2, 24), true, nil},
		{"3-day assignment after a decision on 20 Feb 2026", at(2026, 2, 20, 11), 3, day(2026, 2, 24), true, nil},
		// From inside a holiday.
		{"from inside National Day 2026, ends inside it", at(2026, 10, 3, 10), 3, day(2026, 10, 8), true, nil},
		{"from inside National Day 2026, ends on make-up Saturday 10 Oct", at(2026, 10, 3, 10), 7, day(2026, 10, 10), false, nil},
		// Across a year boundary: New Year 2026 is 1–3 Jan and Sunday
		// 4 Jan is a make-up working day.
		{"Monday 29 Dec 2025 + 3 is New Year's Day: ends on make-up Sunday 4 Jan", at(2025, 12, 29, 10), 3, day(2026, 1, 4), true, nil},
		{"Friday 26 Dec 2025 + 7 ends 2 Jan 2026: moves to 4 Jan", at(2025, 12, 26, 10), 7, day(2026, 1, 4), true, nil},
		// Earlier years.
		{"2024: 除夕 9 Feb (working) + 1 is the holiday: ends on make-up Sunday 18 Feb", at(2024, 2, 9, 10), 1, day(2024, 2, 18), true, nil},
		{"2025: Friday 24 Jan + 4 is the holiday's first day: ends 5 Feb", at(2025, 1, 24, 10), 4, day(2025, 2, 5), true, nil},
		{"2025: National Day and Mid-Autumn 1–8 Oct; 9 Oct is a Thursday", at(2025, 9, 30, 10), 5, day(2025, 10, 9), true, nil},
		// A missing year: counted in calendar days, flagged.
		{"ends in 2027, which has no schedule yet: calendar days", at(2026, 12, 28, 10), 7, day(2027, 1, 4), false, []int{2027}},
		{"ends on a 2027 weekend: not extended without data", at(2026, 12, 26, 10), 7, day(2027, 1, 2), false, []int{2027}},
		{"a long period: 90 days from 1 Oct 2026 ends 30 Dec 2026", at(2026, 10, 1, 10), 90, day(2026, 12, 30), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl, err := c.DeadlineDays(tt.start, tt.n)
			if err != nil {
				t.Fatalf("DeadlineDays: %v", err)
			}
			if !dl.LastDay.Equal(tt.lastDay) {
				t.Errorf("LastDay = %s, want %s", dl.LastDay.Format(time.DateOnly), tt.lastDay.Format(time.DateOnly))
			}
			if dl.Extended != tt.extended {
				t.Errorf("Extended = %v, want %v", dl.Extended, tt.extended)
			}
			if !reflect.DeepEqual(dl.MissingYears, tt.missing) {
				t.Errorf("MissingYears = %v, want %v", dl.MissingYears, tt.missing)
			}
			if want := midnight(tt.start).AddDate(0, 0, tt.n); !dl.Nominal.Equal(want) {
				t.Errorf("Nominal = %s, want %s", dl.Nominal.Format(time.DateOnly), want.Format(time.DateOnly))
			}
			// Art 203 para 2: the last day ends at 24:00 China time.
			wantEnd := tt.lastDay.AddDate(0, 0, 1)
			if !dl.End.Equal(wantEnd) || dl.End.Sub(dl.LastDay) != 24*time.Hour {
				t.Errorf("End = %s, want 24:00 of the last day", dl.End)
			}
		})
	}
}

func TestDeadlineDaysStartInUTC(t *testing.T) {
	c := mustNew(t)
	// 16:30 UTC on Friday 13 Feb 2026 is 00:30 on Saturday 14 Feb in
	// China, so the start day is the 14th. One day later is the 15th, a
	// holiday: the period ends on the 24th. Taken in UTC the start day
	// would be the 13th and the period would end on make-up Saturday 14th.
	start := time.Date(2026, 2, 13, 16, 30, 0, 0, time.UTC)
	dl, err := c.DeadlineDays(start, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !dl.Start.Equal(day(2026, 2, 14)) || !dl.LastDay.Equal(day(2026, 2, 24)) {
		t.Errorf("start %s, last day %s; want 2026-02-14 and 2026-02-24", dl.Start.Format(time.DateOnly), dl.LastDay.Format(time.DateOnly))
	}
	if got := dl.End.UTC(); !got.Equal(time.Date(2026, 2, 24, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("End in UTC = %s, want 2026-02-24T16:00:00Z", got)
	}
}

func TestDeadlineDaysRefusesEmptyPeriod(t *testing.T) {
	c := mustNew(t)
	for _, n := range []int{0, -1} {
		if _, err := c.DeadlineDays(day(2026, 3, 2), n); !errors.Is(err, ErrDays) {
			t.Errorf("DeadlineDays(n=%d) error = %v, want ErrDays", n, err)
		}
	}
}

// A rest run that crosses into a year without a schedule falls back to the
// nominal day rather than guessing: 31 Dec 2022 was a Saturday, and with only
// a 2022 schedule the calendar cannot know whether 1 Jan 2023 was a holiday.
func TestDeadlineDaysRestRunIntoMissingYear(t *testing.T) {
	c := &Calendar{years: map[int]*schedule{}}
	fsys := fstest.MapFS{"2022.json": {Data: []byte(`{"year": 2022, "source": "test fixture",
		"holidays": [{"name": "国庆节", "first": "2022-10-01", "last": "2022-10-07"}], "workdays": []}`)}}
	if err := c.addFS(fsys, "."); err != nil {
		t.Fatal(err)
	}
	dl, err := c.DeadlineDays(day(2022, 12, 24), 7)
	if err != nil {
		t.Fatal(err)
	}
	if !dl.LastDay.Equal(day(2022, 12, 31)) || dl.Extended || !reflect.DeepEqual(dl.MissingYears, []int{2023}) {
		t.Errorf("got last day %s, extended %v, missing %v; want 2022-12-31, false, [2023]",
			dl.LastDay.Format(time.DateOnly), dl.Extended, dl.MissingYears)
	}
}

// A year added from a directory at runtime is used without a code change; a
// file for a shipped year replaces it.
func TestNewWithDir(t *testing.T) {
	dir := t.TempDir()
	// A made-up 2027 schedule (the real notice was not published when this
	// was written): New Year 1–3 Jan 2027, make-up Sunday 10 Jan.
	write(t, dir, "2027.json", `{"year": 2027, "source": "test fixture, not the real notice",
		"holidays": [{"name": "元旦", "first": "2027-01-01", "last": "2027-01-03"}],
		"workdays": [{"date": "2027-01-10", "for": "元旦"}]}`)
	write(t, dir, "README.md", "not a schedule; ignored")
	c, err := NewWithDir(dir)
	if err != nil {
		t.Fatalf("NewWithDir: %v", err)
	}
	if got, want := c.Years(), []int{2024, 2025, 2026, 2027}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Years() = %v, want %v", got, want)
	}
	dl, err := c.DeadlineDays(day(2026, 12, 25), 7) // ends Fri 1 Jan 2027
	if err != nil {
		t.Fatal(err)
	}
	if !dl.LastDay.Equal(day(2027, 1, 4)) || dl.MissingYears != nil {
		t.Errorf("last day %s, missing %v; want 2027-01-04 and none", dl.LastDay.Format(time.DateOnly), dl.MissingYears)
	}

	// Replacing 2026 with a file that drops the Spring Festival changes
	// the answer, so the directory's file really wins.
	write(t, dir, "2026.json", `{"year": 2026, "source": "test fixture",
		"holidays": [{"name": "元旦", "first": "2026-01-01", "last": "2026-01-03"}], "workdays": []}`)
	c, err = NewWithDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := c.IsHoliday(day(2026, 2, 18)); h {
		t.Error("a directory file for 2026 did not replace the shipped one")
	}
}

func TestNewWithDirRefusesBadFiles(t *testing.T) {
	tests := []struct{ name, file, body, want string }{
		{"year not matching the name", "2027.json", `{"year": 2028, "source": "x", "holidays": [{"name": "a", "first": "2028-01-01", "last": "2028-01-01"}]}`, "does not match"},
		{"badly named", "holidays-2027.json", `{}`, "YYYY.json"},
		{"unknown field", "2027.json", `{"year": 2027, "source": "x", "holiday": []}`, "unknown field"},
		{"no source", "2027.json", `{"year": 2027, "holidays": [{"name": "a", "first": "2027-01-01", "last": "2027-01-01"}]}`, "source"},
		{"no holidays", "2027.json", `{"year": 2027, "source": "x"}`, "no holidays"},
		{"range backwards", "2027.json", `{"year": 2027, "source": "x", "holidays": [{"name": "a", "first": "2027-02-10", "last": "2027-02-01"}]}`, "before the first"},
		{"not a date", "2027.json", `{"year": 2027, "source": "x", "holidays": [{"name": "a", "first": "2027-02-30", "last": "2027-03-01"}]}`, "not a YYYY-MM-DD"},
		{"range too long", "2027.json", `{"year": 2027, "source": "x", "holidays": [{"name": "a", "first": "2027-02-01", "last": "2027-02-28"}]}`, "longer than"},
		{"wrong year's dates", "2027.json", `{"year": 2027, "source": "x", "holidays": [{"name": "a", "first": "2026-10-01", "last": "2026-10-07"}]}`, "not in or next to"},
		{"make-up working day on a weekday", "2027.json", `{"year": 2027, "source": "x", "holidays": [{"name": "a", "first": "2027-01-01", "last": "2027-01-01"}], "workdays": [{"date": "2027-01-05", "for": "a"}]}`, "Saturday or Sunday"},
		{"make-up working day inside a holiday", "2027.json", `{"year": 2027, "source": "x", "holidays": [{"name": "a", "first": "2027-01-01", "last": "2027-01-03"}], "workdays": [{"date": "2027-01-02", "for": "a"}]}`, "already listed"},
		{"overlapping ranges", "2027.json", `{"year": 2027, "source": "x", "holidays": [{"name": "a", "first": "2027-01-01", "last": "2027-01-03"}, {"name": "b", "first": "2027-01-03", "last": "2027-01-04"}]}`, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.file, tt.body)
			_, err := NewWithDir(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewWithDir error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNewWithDirMissingDirectory(t *testing.T) {
	if _, err := NewWithDir(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("NewWithDir on a missing directory: want an error")
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
