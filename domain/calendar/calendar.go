// Package calendar knows which days are working days in mainland China and
// counts statutory periods in days the way the Civil Code does.
//
// The holiday schedule is data, not code: the State Council General Office
// publishes each year's holidays and make-up working days (调休上班) in an
// autumn notice, and one JSON file per year (holidays/YYYY.json, embedded)
// carries it. A later year is added by dropping its file into a directory the
// server reads at startup; see NewWithDir. A year with no file is not
// guessed: every answer that depends on it says so, so the caller can warn.
package calendar

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// ChinaTime is UTC+8, the zone every date here is taken in. China has had no
// daylight saving time since 1991, so a fixed zone is exact and needs no
// tzdata. (The domain package has the same zone; this package does not import
// domain so that domain can import it.)
var ChinaTime = time.FixedZone("CST", 8*60*60)

//go:embed holidays/*.json
var embedded embed.FS

// Kind says what sort of day a date is.
type Kind uint8

const (
	// Workday is a Monday to Friday that no notice makes a holiday.
	Workday Kind = iota + 1
	// Weekend is a Saturday or Sunday that no notice makes a working day.
	Weekend
	// Holiday is a day inside a statutory holiday range (放假), whatever
	// its weekday.
	Holiday
	// MakeUpWorkday is a Saturday or Sunday a notice makes a working day
	// (调休上班). It is a working day for every purpose here.
	MakeUpWorkday
)

func (k Kind) String() string {
	switch k {
	case Workday:
		return "workday"
	case Weekend:
		return "weekend"
	case Holiday:
		return "holiday"
	case MakeUpWorkday:
		return "make-up workday"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Day is what the calendar knows about one date.
type Day struct {
	// Date is midnight, China time, of the day.
	Date time.Time
	Kind Kind
	// Name is the holiday's name for Holiday and MakeUpWorkday days.
	Name string
	// Known is false when no schedule covers the date's year. Kind is then
	// Workday or Weekend by the weekday alone, which may be wrong.
	Known bool
}

// Rest reports whether the day is a rest day: a holiday, or a weekend day
// that is not a make-up working day.
func (d Day) Rest() bool { return d.Kind == Holiday || d.Kind == Weekend }

// ErrYearMissing is wrapped by the errors IsHoliday and IsWorkingDay return
// for a date whose year the calendar has no schedule for.
var ErrYearMissing = errors.New("no statutory holiday schedule for that year")

// Calendar holds the holiday schedules of some years. It is immutable once
// built and safe for concurrent use.
type Calendar struct {
	years map[int]*schedule
}

// schedule is one year's notice.
type schedule struct {
	year   int
	source string
	days   map[int]entry // by dateKey
}

type entry struct {
	kind Kind // Holiday or MakeUpWorkday
	name string
}

// New returns a calendar of the years shipped with the program.
func New() (*Calendar, error) {
	c := &Calendar{years: map[int]*schedule{}}
	if err := c.addFS(embedded, "holidays"); err != nil {
		return nil, fmt.Errorf("embedded holiday data: %w", err)
	}
	return c, nil
}

// NewWithDir returns a calendar of the shipped years plus every YYYY.json in
// dir (files not ending in .json, such as a README, are ignored). A file for
// a year that is also shipped replaces the shipped one, so a corrected notice
// can be applied without a release. Any bad file fails the whole load: a
// half-read calendar would count some deadlines wrongly without saying so.
func NewWithDir(dir string) (*Calendar, error) {
	c, err := New()
	if err != nil {
		return nil, err
	}
	if err := c.addFS(os.DirFS(dir), "."); err != nil {
		return nil, fmt.Errorf("holiday data in %s: %w", dir, err)
	}
	return c, nil
}

var fileName = regexp.MustCompile(`^(\d{4})\.json$`)

// addFS reads every .json file in dir of fsys. All files are parsed and
// checked before any is added.
func (c *Calendar) addFS(fsys fs.FS, dir string) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	var loaded []*schedule
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return fmt.Errorf("%s: a holiday file must be named YYYY.json", e.Name())
		}
		raw, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		year, _ := strconv.Atoi(m[1])
		s, err := parseYear(raw, year)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		loaded = append(loaded, s)
	}
	for _, s := range loaded {
		c.years[s.year] = s
	}
	return nil
}

// yearFile is the JSON layout of holidays/YYYY.json; holidays/README.md
// documents it.
type yearFile struct {
	Year     int    `json:"year"`
	Source   string `json:"source"`
	Holidays []struct {
		Name  string `json:"name"`
		First string `json:"first"`
		Last  string `json:"last"`
	} `json:"holidays"`
	Workdays []struct {
		Date string `json:"date"`
		For  string `json:"for"`
	} `json:"workdays"`
}

// maxRange bounds one holiday range. The longest so far is nine days
// (Spring Festival 2026); a much longer one is a typo in the data.
const maxRange = 15

// parseYear reads and checks one year's file. The checks catch the slips a
// person transcribing a notice makes: a wrong year, a swapped range, a
// make-up working day typed onto a weekday.
func parseYear(raw []byte, year int) (*schedule, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f yearFile
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if f.Year != year {
		return nil, fmt.Errorf("year %d does not match the file name", f.Year)
	}
	if f.Source == "" {
		return nil, errors.New("source (the notice the year comes from) is required")
	}
	if len(f.Holidays) == 0 {
		return nil, errors.New("no holidays")
	}
	// A notice may name the last days of December before (New Year) or,
	// in principle, early January after; nothing further away.
	lo := time.Date(year-1, time.December, 1, 0, 0, 0, 0, ChinaTime)
	hi := time.Date(year+1, time.January, 31, 0, 0, 0, 0, ChinaTime)
	inReach := func(d time.Time) bool { return !d.Before(lo) && !d.After(hi) }

	s := &schedule{year: year, source: f.Source, days: map[int]entry{}}
	for i, h := range f.Holidays {
		if h.Name == "" {
			return nil, fmt.Errorf("holidays[%d]: name is required", i)
		}
		first, err1 := parseDate(h.First)
		last, err2 := parseDate(h.Last)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("holidays[%d] %s: %w", i, h.Name, err)
		}
		if last.Before(first) {
			return nil, fmt.Errorf("holidays[%d] %s: last day is before the first", i, h.Name)
		}
		if !inReach(first) || !inReach(last) {
			return nil, fmt.Errorf("holidays[%d] %s: dates are not in or next to %d", i, h.Name, year)
		}
		n := 0
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			if n++; n > maxRange {
				return nil, fmt.Errorf("holidays[%d] %s: longer than %d days", i, h.Name, maxRange)
			}
			if _, dup := s.days[dateKey(d)]; dup {
				return nil, fmt.Errorf("holidays[%d] %s: %s is listed twice", i, h.Name, d.Format(time.DateOnly))
			}
			s.days[dateKey(d)] = entry{kind: Holiday, name: h.Name}
		}
	}
	for i, w := range f.Workdays {
		d, err := parseDate(w.Date)
		if err != nil {
			return nil, fmt.Errorf("workdays[%d]: %w", i, err)
		}
		if w.For == "" {
			return nil, fmt.Errorf("workdays[%d]: for (the holiday it makes up for) is required", i)
		}
		if !inReach(d) {
			return nil, fmt.Errorf("workdays[%d]: %s is not in or next to %d", i, w.Date, year)
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return nil, fmt.Errorf("workdays[%d]: %s is a %s; a make-up working day is a Saturday or Sunday", i, w.Date, wd)
		}
		if _, dup := s.days[dateKey(d)]; dup {
			return nil, fmt.Errorf("workdays[%d]: %s is already listed", i, w.Date)
		}
		s.days[dateKey(d)] = entry{kind: MakeUpWorkday, name: w.For}
	}
	return s, nil
}

func parseDate(s string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, ChinaTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	return d, nil
}

// dateKey is yyyymmdd of a date already in China time.
func dateKey(d time.Time) int {
	y, m, dd := d.Date()
	return y*10000 + int(m)*100 + dd
}

// midnight returns midnight, China time, of t's date in China.
func midnight(t time.Time) time.Time {
	y, m, d := t.In(ChinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, ChinaTime)
}

// Years lists the years the calendar has a schedule for, in order.
func (c *Calendar) Years() []int {
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// HasYear reports whether the calendar has year's schedule.
func (c *Calendar) HasYear(year int) bool {
	_, ok := c.years[year]
	return ok
}

// Source returns the notice a year's schedule was taken from.
func (c *Calendar) Source(year int) (string, bool) {
	s, ok := c.years[year]
	if !ok {
		return "", false
	}
	return s.source, true
}

// Missing lists the years from from's to to's (China time, both included)
// that the calendar has no schedule for. A server calls it at startup with,
// say, today and a year ahead, and logs a warning for each year listed: until
// that year's notice is loaded, deadlines ending in it are counted in plain
// calendar days.
func (c *Calendar) Missing(from, to time.Time) []int {
	var ys []int
	for y := from.In(ChinaTime).Year(); y <= to.In(ChinaTime).Year(); y++ {
		if !c.HasYear(y) {
			ys = append(ys, y)
		}
	}
	return ys
}

// Day says what kind of day t's date (in China time) is.
func (c *Calendar) Day(t time.Time) Day {
	d := midnight(t)
	key := dateKey(d)
	// A notice can name days of the neighbouring years (a New Year holiday
	// from 31 December), so look in those schedules too.
	for _, y := range [...]int{d.Year(), d.Year() - 1, d.Year() + 1} {
		if s, ok := c.years[y]; ok {
			if e, ok := s.days[key]; ok {
				return Day{Date: d, Kind: e.kind, Name: e.name, Known: true}
			}
		}
	}
	day := Day{Date: d, Kind: Workday, Known: c.HasYear(d.Year())}
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		day.Kind = Weekend
	}
	return day
}

// IsHoliday reports whether t's date is inside a statutory holiday range.
// A weekend that is merely a weekend is not a holiday (see IsWorkingDay).
// For a year without a schedule it answers false with an error wrapping
// ErrYearMissing.
func (c *Calendar) IsHoliday(t time.Time) (bool, error) {
	d := c.Day(t)
	if !d.Known {
		return false, missingYear(d.Date.Year())
	}
	return d.Kind == Holiday, nil
}

// IsWorkingDay reports whether t's date is a working day: Monday to Friday
// outside holidays, plus make-up working days. For a year without a schedule
// it answers by the weekday alone, with an error wrapping ErrYearMissing.
func (c *Calendar) IsWorkingDay(t time.Time) (bool, error) {
	d := c.Day(t)
	if !d.Known {
		return !d.Rest(), missingYear(d.Date.Year())
	}
	return !d.Rest(), nil
}

func missingYear(y int) error { return fmt.Errorf("%w: %d", ErrYearMissing, y) }

// Deadline is the end of a period counted in days.
type Deadline struct {
	// Start is the day the period was started from (not counted).
	Start time.Time
	// Nominal is the n-th day after Start: the last day before Art 203.
	Nominal time.Time
	// LastDay is the period's last day: Nominal, or the first working day
	// after the rest days Nominal falls in.
	LastDay time.Time
	// End is the instant the period ends: 24:00 China time of LastDay,
	// which is midnight starting the next day. Something done before End
	// is in time.
	End time.Time
	// Extended is true when LastDay is later than Nominal.
	Extended bool
	// MissingYears lists the years the count needed a schedule for and the
	// calendar lacked. When it is not empty the period was counted in plain
	// calendar days (LastDay is Nominal), which is never later than the law
	// allows; the caller should warn that the deadline may be early.
	MissingYears []int
}

// ErrDays is returned for a period of fewer than one day.
var ErrDays = errors.New("a period counted in days must be at least one day")

// maxWalk bounds the search for the end of a run of rest days. Runs are at
// most a holiday range plus a weekend; the bound only guards bad data.
const maxWalk = 3 * maxRange

// DeadlineDays returns the end of a period of n days started at start, as the
// Civil Code counts it:
//
//   - Art 201: the day the period starts is not counted; counting begins on
//     the next day, so the nominal last day is the n-th day after start's date.
//   - Art 203: if that last day is a statutory rest day (法定休假日), the
//     period ends on the day after the rest ends. Rest days are read as courts
//     read them (SOURCES.md): the holidays of the State Council's notice and
//     the weekly rest days (Saturday, Sunday) the notice does not turn into
//     make-up working days. A make-up working day is a working day, so a
//     period ending on one is not extended. Rest days inside the period are
//     counted like any other day.
//   - Art 203 para 2: the last day ends at 24:00 (China time here); End is
//     that instant.
//
// start's date is taken in China time. When the count needs a year the
// calendar has no schedule for, the period is counted in calendar days and
// the year is listed in MissingYears.
func (c *Calendar) DeadlineDays(start time.Time, n int) (Deadline, error) {
	if n < 1 {
		return Deadline{}, ErrDays
	}
	first := midnight(start)
	nominal := first.AddDate(0, 0, n)
	dl := Deadline{Start: first, Nominal: nominal, LastDay: nominal}
	d := nominal
	for i := 0; ; i++ {
		if i > maxWalk {
			return Deadline{}, fmt.Errorf("no working day within %d days of %s: the holiday data is wrong", maxWalk, nominal.Format(time.DateOnly))
		}
		day := c.Day(d)
		if !day.Known {
			dl.MissingYears = []int{d.Year()}
			d = nominal
			break
		}
		if !day.Rest() {
			break
		}
		d = d.AddDate(0, 0, 1)
	}
	dl.LastDay = d
	dl.Extended = d.After(nominal)
	dl.End = d.AddDate(0, 0, 1)
	return dl, nil
}
