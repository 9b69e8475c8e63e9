package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory keeps buckets and streaks in this process: the limits of one
// server alone, which is all the embedded SQLite database can have, and
// what a shared store falls back to while it cannot be reached.
type Memory struct {
	mu        sync.Mutex
	tats      map[string]int64
	streaks   map[string]*streak
	lastSweep int64
}

type streak struct {
	misses      int
	until, last int64
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{tats: map[string]int64{}, streaks: map[string]*streak{}}
}

// sweepEvery spaces out the scans for idle keys, so their cost is spread
// over many calls.
const sweepEvery = int64(time.Minute)

// Take takes n tokens from key's bucket; see the package comment.
func (m *Memory) Take(_ context.Context, key string, l Limit, n int, now time.Time) (time.Duration, error) {
	if d, done := checkTake(l, n); done {
		return d, nil
	}
	t := now.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(t)
	tat, d := newGCRA(l, n).take(m.tats[key], t)
	if d == 0 {
		m.tats[key] = tat
	}
	return d, nil
}

// Blocked is how long key is still barred by its streak of misses.
func (m *Memory) Blocked(_ context.Context, key string, now time.Time) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.streaks[key]; s != nil && s.until > now.UnixNano() {
		return time.Duration(s.until - now.UnixNano()), nil
	}
	return 0, nil
}

// Miss adds a miss to key's streak and bars it for penalty(misses).
func (m *Memory) Miss(_ context.Context, key string, now time.Time, penalty func(int) time.Duration) (int, error) {
	t := now.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(t)
	s := m.streaks[key]
	if s == nil || t-s.last > int64(StreakIdle) {
		s = &streak{}
		m.streaks[key] = s
	}
	s.misses++
	s.last = t
	if p := penalty(s.misses); p > 0 {
		s.until = max(s.until, t+int64(p))
	}
	return s.misses, nil
}

// Reset ends key's streak.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.streaks, key)
	return nil
}

// sweep forgets full buckets (a fresh one is the same, so no answer
// changes) and idle streaks, keeping the maps as small as the set of
// recent callers. Called with m.mu held.
func (m *Memory) sweep(now int64) {
	if now-m.lastSweep < sweepEvery {
		return
	}
	m.lastSweep = now
	for k, tat := range m.tats {
		if tat <= now {
			delete(m.tats, k)
		}
	}
	for k, s := range m.streaks {
		if now-s.last > int64(StreakIdle) && now >= s.until {
			delete(m.streaks, k)
		}
	}
}
