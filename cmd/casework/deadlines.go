package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/calendar"
)

// deadlines builds the cases' deadline rules from the settings: the holiday
// calendar (shipped years plus --holidays-dir) and the county's terms. A
// year from now to a year ahead that the calendar lacks is a warning: its
// periods are counted in calendar days until its notice is loaded.
func (s *settings) deadlines(now time.Time, log *slog.Logger) (domain.Deadlines, error) {
	cal, err := calendar.New()
	if s.HolidaysDir != "" {
		cal, err = calendar.NewWithDir(s.HolidaysDir)
	}
	if err != nil {
		return domain.Deadlines{}, err
	}
	for _, y := range cal.Missing(now, now.AddDate(1, 0, 0)) {
		log.Warn("no statutory holiday schedule for a year: legal-aid periods ending in it are counted in calendar days until its notice is added (--holidays-dir)",
			"year", y)
	}
	if s.ElderTermDays < 1 || s.SchoolTermDays < 1 {
		return domain.Deadlines{}, fmt.Errorf("--elder-term-days and --school-term-days must be at least 1")
	}
	end, err := time.Parse("01-02", s.PlacementPlanEnd)
	if err != nil {
		return domain.Deadlines{}, fmt.Errorf("--placement-plan-end %q: want MM-DD", s.PlacementPlanEnd)
	}
	return domain.Deadlines{Calendar: cal, ElderDays: s.ElderTermDays, SchoolDays: s.SchoolTermDays,
		PlacementPlanEnd: domain.MonthDay{Month: end.Month(), Day: end.Day()}}, nil
}
