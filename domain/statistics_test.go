package domain

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hist := []DaysCount{{Days: 23, Count: 1}, {Days: 1, Count: 1}, {Days: 10, Count: 1}, {Days: 3, Count: 1}, {Days: 18, Count: 1}, {Days: 6, Count: 1}}
	for _, tc := range []struct {
		hist []DaysCount
		p    int
		want int
	}{
		{hist, 50, 6}, {hist, 90, 23}, {hist, 100, 23}, {hist, 1, 1},
		{[]DaysCount{{Days: 2, Count: 9}, {Days: 40, Count: 1}}, 90, 2},
		{[]DaysCount{{Days: 2, Count: 9}, {Days: 40, Count: 2}}, 90, 40},
		{[]DaysCount{{Days: 5, Count: 0}, {Days: 7, Count: 1}}, 50, 7},
	} {
		if got, ok := Percentile(tc.hist, tc.p); !ok || got != tc.want {
			t.Errorf("Percentile(%v, %d) = %d, %v; want %d", tc.hist, tc.p, got, ok, tc.want)
		}
	}
	if _, ok := Percentile(nil, 50); ok {
		t.Error("a percentile of nothing")
	}
}

func TestPeriods(t *testing.T) {
	cst := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, ChinaTime).UTC() }
	for _, tc := range []struct {
		p          Period
		start, end time.Time
		year       int
		text       string
	}{
		{YearPeriod(2026), cst(2026, 1, 1), cst(2027, 1, 1), 2026, "2026-01-01–2026-12-31"},
		{QuarterPeriod(2026, 4), cst(2026, 10, 1), cst(2027, 1, 1), 2026, "2026-10-01–2026-12-31"},
		{MonthPeriod(2024, 2), cst(2024, 2, 1), cst(2024, 3, 1), 2024, "2024-02-01–2024-02-29"},
	} {
		if !tc.p.Start.Equal(tc.start) || !tc.p.End.Equal(tc.end) || tc.p.Year() != tc.year || tc.p.String() != tc.text {
			t.Errorf("%v: want %s to %s, year %d, %s", tc.p, tc.start, tc.end, tc.year, tc.text)
		}
	}
	p, err := DatesPeriod(time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	if err != nil || !p.Start.Equal(cst(2025, 12, 30)) || !p.End.Equal(cst(2026, 1, 3)) || p.Year() != 2026 {
		t.Errorf("dates: %v, %v", p, err)
	}
	if _, err := DatesPeriod(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("a period ending before it starts")
	}
	if _, err := DatesPeriod(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("a leap year's 366 days: %v", err)
	}
	if _, err := DatesPeriod(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("367 days")
	}
}

func TestDaysToResolveCountsChinaDays(t *testing.T) {
	// 23:30 and 00:30 China time the next day: one day, though an hour.
	a := time.Date(2026, 3, 1, 15, 30, 0, 0, time.UTC)
	if got := DaysToResolve(a, a.Add(time.Hour)); got != 1 {
		t.Errorf("across China midnight: %d", got)
	}
	if got := DaysToResolve(a, a.Add(-15*time.Hour)); got != 0 {
		t.Errorf("the same China day: %d", got)
	}
	if BasisPoints(2, 3) != 6666 || BasisPoints(1, 0) != 0 || BasisPoints(3, 3) != 10000 {
		t.Error("basis points")
	}
}
