// Package testclock is the clock tests hand the server and the store in
// place of time.Now: stopped at an instant, or running at the speed of real
// time from one, and in either case moved on at will to make cases overdue
// or retention expire. Safe for concurrent use.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable clock.
type Clock struct {
	mu      sync.Mutex
	at      time.Time // the time when the clock was last set
	started time.Time // the wall time then, for a running clock; zero for a stopped one
}

// Stopped returns a clock that stays at t until set or advanced.
func Stopped(t time.Time) *Clock { return &Clock{at: t} }

// Running returns a clock that starts at t and runs with real time, so
// that a server's timers and leases keep moving.
func Running(t time.Time) *Clock { return &Clock{at: t, started: time.Now()} }

// Now reports the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started.IsZero() {
		return c.at
	}
	return c.at.Add(time.Since(c.started))
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = t
	if !c.started.IsZero() {
		c.started = time.Now()
	}
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}
