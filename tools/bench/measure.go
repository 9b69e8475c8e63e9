package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is one measured operation at one concurrency.
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
}

// op is one request. worker and i let it pick its inputs without sharing a
// random source between goroutines.
type op func(ctx context.Context, worker, i int) error

// measure runs clients goroutines, each issuing op in a loop: first for
// warmup (not recorded: connections, caches and prepared statements settle),
// then for d, recording every latency. Percentiles are exact, by sorting.
func measure(ctx context.Context, name string, clients int, warmup, d time.Duration, fn op) result {
	var (
		recording atomic.Bool
		stop      atomic.Bool
		errs      atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	lats := make([][]time.Duration, clients)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 1024)
			for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
				start := time.Now()
				err := fn(ctx, w, i)
				took := time.Since(start)
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
	recording.Store(true)
	start := time.Now()
	sleep(ctx, d)
	stop.Store(true)
	elapsed := time.Since(start)
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	r := result{Name: name, Clients: clients, Ops: len(all), Errors: int(errs.Load()), Seconds: elapsed.Seconds()}
	r.PerSec = float64(len(all)) / elapsed.Seconds()
	r.P50ms, r.P99ms = percentile(all, 0.50), percentile(all, 0.99)
	if e, ok := firstErr.Load().(string); ok {
		r.FirstErr = e
	}
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

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
