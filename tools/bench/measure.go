package main

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is one measured operation at one concurrency. Measured in rounds,
// its figures are those of every round's window together, and Rounds
// holds each round's own.
type result struct {
	Name     string  `json:"name"`
	Clients  int     `json:"clients"`
	Ops      int     `json:"ops"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"ops_per_second"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	FirstErr string  `json:"first_error,omitempty"`
	// Idle is the share of the machine's CPU time that was idle during
	// the windows (from /proc/stat; -1 where it cannot be read): a
	// figure measured with no idle CPU says as much about the machine as
	// about the software.
	Idle   float64     `json:"machine_cpu_idle"`
	Rounds []roundStat `json:"rounds,omitempty"`
}

// roundStat is one round of an operation measured in alternating rounds.
type roundStat struct {
	Ops    int     `json:"ops"`
	Errors int     `json:"errors"`
	PerSec float64 `json:"ops_per_second"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
}

// op is one request. worker and i let it pick its inputs without sharing a
// random source between goroutines.
type op func(ctx context.Context, worker, i int) error

// measure runs clients goroutines, each issuing op in a loop: first for
// warmup (not recorded: connections, caches and prepared statements settle),
// then for d, recording every latency. Percentiles are exact, by sorting.
func measure(ctx context.Context, name string, clients int, warmup, d time.Duration, fn op) result {
	w := window(ctx, clients, warmup, d, fn, false)
	r := w.result(name, clients)
	r.P50ms, r.P99ms = percentile(w.lats, 0.50), percentile(w.lats, 0.99)
	return r
}

// measured is what one window of one operation recorded.
type measured struct {
	lats      []time.Duration
	errors    int
	firstErr  string
	elapsed   time.Duration
	idle, cpu uint64 // machine CPU ticks in the window: idle, and all
}

func (m measured) result(name string, clients int) result {
	r := result{Name: name, Clients: clients, Ops: len(m.lats), Errors: m.errors, FirstErr: m.firstErr,
		Seconds: m.elapsed.Seconds(), Idle: idleShare(m.idle, m.cpu)}
	if m.elapsed > 0 {
		r.PerSec = float64(len(m.lats)) / m.elapsed.Seconds()
	}
	return r
}

// window runs fn on clients goroutines: warmup, then d recorded. With
// full, it also waits, before it records, until every client has completed
// a call: the pipeline is full, so that throughput is steady state from the
// window's first instant even when a call takes longer than the short
// settle of a later round.
func window(ctx context.Context, clients int, warmup, d time.Duration, fn op, full bool) measured {
	var (
		recording atomic.Bool
		stop      atomic.Bool
		errs      atomic.Int64
		started   atomic.Int64 // clients that have completed a call
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	allStarted := make(chan struct{})
	lats := make([][]time.Duration, clients)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 1024)
			first := true
			for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
				start := time.Now()
				err := fn(ctx, w, i)
				took := time.Since(start)
				if first {
					first = false
					if started.Add(1) == int64(clients) {
						close(allStarted)
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
					continue
				}
				// Completions inside the window count: throughput is
				// completions per second of steady state.
				if recording.Load() && !stop.Load() {
					own = append(own, took)
				}
			}
			lats[w] = own
		}()
	}
	sleep(ctx, warmup)
	if full {
		// A call that never returns is cut by the caller's deadlines; the
		// window does not wait for it longer than a minute.
		select {
		case <-allStarted:
		case <-ctx.Done():
		case <-time.After(time.Minute):
		}
	}
	idle0, cpu0 := cpuTicks()
	recording.Store(true)
	start := time.Now()
	sleep(ctx, d)
	stop.Store(true)
	elapsed := time.Since(start)
	idle1, cpu1 := cpuTicks()
	wg.Wait()
	m := measured{errors: int(errs.Load()), elapsed: elapsed}
	if cpu1 > cpu0 && cpu0 > 0 {
		m.idle, m.cpu = idle1-idle0, cpu1-cpu0
	}
	for _, l := range lats {
		m.lats = append(m.lats, l...)
	}
	if e, ok := firstErr.Load().(string); ok {
		m.firstErr = e
	}
	return m
}

// arm is one side of a comparison: an operation measured in rounds that
// alternate with the other arms'.
type arm struct {
	name    string
	clients int
	fn      op
	// server arms go through the casework server; -profile profiles them.
	server bool
	// before runs, untimed, before each of the arm's rounds (the creates
	// free the reserve's spouses there).
	before func(context.Context) error
}

// roundPlan is how a comparison is measured: rounds alternating arms, each
// round a window of its own after a settle; the first round of each arm
// warms up for longer (connections, caches, prepared statements).
type roundPlan struct {
	rounds int
	warmup time.Duration // before an arm's first round
	settle time.Duration // before each later round
	window time.Duration // recorded, each round
}

// newRoundPlan splits a measurement of length d into rounds windows of
// d/rounds each, so a run takes about as long as one window of d did.
func newRoundPlan(rounds int, warmup, d time.Duration) roundPlan {
	rounds = max(1, rounds)
	return roundPlan{rounds: rounds, warmup: warmup, settle: warmup / 4, window: d / time.Duration(rounds)}
}

// measureRounds measures the arms in turn, round after round (A B A B … for
// two), so that load which comes and goes on a shared machine falls on
// every arm alike rather than on whichever ran in a bad minute. Each arm's
// result pools its rounds' latencies and windows; Rounds keeps each round.
// A round whose before hook fails ends the measurement with that error.
func measureRounds(ctx context.Context, plan roundPlan, arms []arm) ([]result, error) {
	ms := make([][]measured, len(arms))
	for round := range plan.rounds {
		for i, a := range arms {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if a.before != nil {
				if err := a.before(ctx); err != nil {
					return nil, err
				}
			}
			wait := plan.settle
			if round == 0 {
				wait = plan.warmup
			}
			ms[i] = append(ms[i], window(ctx, a.clients, wait, plan.window, a.fn, true))
		}
	}
	out := make([]result, len(arms))
	for i, a := range arms {
		out[i] = pool(a.name, a.clients, ms[i])
	}
	return out, nil
}

// pool makes one result of an arm's rounds: throughput over the sum of
// the windows, percentiles over every latency, and each round's own.
func pool(name string, clients int, rounds []measured) result {
	var all measured
	var stats []roundStat
	for _, m := range rounds {
		r := m.result(name, clients)
		stats = append(stats, roundStat{Ops: r.Ops, Errors: r.Errors, PerSec: r.PerSec,
			P50ms: percentile(m.lats, 0.50), P99ms: percentile(m.lats, 0.99)})
		all.lats = append(all.lats, m.lats...)
		all.errors += m.errors
		all.elapsed += m.elapsed
		all.idle += m.idle
		all.cpu += m.cpu
		if all.firstErr == "" {
			all.firstErr = m.firstErr
		}
	}
	r := all.result(name, clients)
	r.P50ms, r.P99ms = percentile(all.lats, 0.50), percentile(all.lats, 0.99)
	r.Rounds = stats
	return r
}

// percentile returns the q-quantile in milliseconds by the nearest-rank
// method, sorting lats in place; 0 when there are none.
func percentile(lats []time.Duration, q float64) float64 {
	if len(lats) == 0 {
		return 0
	}
	if !slices.IsSorted(lats) {
		slices.Sort(lats)
	}
	rank := int(q*float64(len(lats))+0.999999999) - 1
	rank = max(0, min(rank, len(lats)-1))
	return float64(lats[rank]) / float64(time.Millisecond)
}

// spread is the median of per-round values with their range. The median
// of an even number of rounds is the mean of the middle two.
type spread struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Rounds []float64 `json:"rounds"`
}

func spreadOf(vals []float64) spread {
	if len(vals) == 0 {
		return spread{}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{Median: med, Min: s[0], Max: s[n-1], Rounds: vals}
}

// cpuTicks reads the machine's idle and total CPU time from /proc/stat, in
// clock ticks; zeros where there is no /proc.
func cpuTicks() (idle, total uint64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0
	}
	// user nice system idle iowait irq softirq steal; guest time is
	// already counted in user.
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return idle, total
}

func idleShare(idle, total uint64) float64 {
	if total == 0 {
		return -1
	}
	return float64(idle) / float64(total)
}

// loadAverage is the machine's one-minute load average, or -1.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
