package domain

import (
	"testing"
	"time"
)

// TestRetentionSchedule holds the schedule to its shape: one rule a kind,
// each saying when it starts, what happens and why, so that the table a
// reader audits is complete.
func TestRetentionSchedule(t *testing.T) {
	s := DefaultRetention()
	seen := map[RetentionKind]bool{}
	for _, r := range s {
		if seen[r.Kind] {
			t.Errorf("%s: two rules", r.Kind)
		}
		seen[r.Kind] = true
		if r.Period <= 0 || r.Starts == "" || r.Action == "" || r.Basis == "" || r.AppliedBy == "" {
			t.Errorf("%s: incomplete rule %+v", r.Kind, r)
		}
	}
	for _, k := range []RetentionKind{RetentionDeletedHouseholds, RetentionFeedEvents, RetentionRequestIDs, RetentionOperationFiles, RetentionClosedComplaints} {
		if !seen[k] {
			t.Errorf("no rule for %s", k)
		}
	}
	now := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	if c, ok := s.Cutoff(RetentionDeletedHouseholds, now); !ok || !c.Equal(now.Add(-5*365*Day)) {
		t.Errorf("default cutoff %v %v", c, ok)
	}
	off, err := s.With(RetentionDeletedHouseholds, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := off.Cutoff(RetentionDeletedHouseholds, now); ok {
		t.Error("a zero period still has a cutoff")
	}
	if s.Period(RetentionDeletedHouseholds) != 5*365*Day {
		t.Error("With changed the schedule it was called on")
	}
	if _, err := s.With(RetentionDeletedHouseholds, -Day); err == nil {
		t.Error("a negative period was taken")
	}
	if _, err := s.With("unknown", Day); err == nil {
		t.Error("an unknown kind was taken")
	}
}
