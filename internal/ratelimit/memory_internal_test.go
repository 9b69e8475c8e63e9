package ratelimit

import (
	"context"
	"testing"
	"time"
)

// TestMemorySweep: once a minute the memory store forgets full buckets and
// idle streaks, and keeps the rest, so it holds only recent callers.
func TestMemorySweep(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	l := Limit{Rate: 1, Burst: 2}
	never := func(int) time.Duration { return 0 }
	_, _ = m.Take(ctx, "idle", l, 1, now)
	_, _ = m.Miss(ctx, "old-streak", now, never)
	later := now.Add(StreakIdle + time.Minute)
	_, _ = m.Take(ctx, "busy", l, 2, later.Add(-time.Millisecond))
	_, _ = m.Miss(ctx, "new-streak", later.Add(-time.Millisecond), never)
	_, _ = m.Take(ctx, "trigger", l, 1, later)
	if _, ok := m.tats["idle"]; ok {
		t.Error("a full bucket was kept")
	}
	if _, ok := m.tats["busy"]; !ok {
		t.Error("a busy bucket was forgotten")
	}
	if _, ok := m.streaks["old-streak"]; ok {
		t.Error("an idle streak was kept")
	}
	if _, ok := m.streaks["new-streak"]; !ok {
		t.Error("a recent streak was forgotten")
	}
}
