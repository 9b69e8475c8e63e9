package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The rounds must alternate and never overlap: that is what lets load
// which comes and goes fall on both sides of a comparison alike.
func TestMeasureRoundsAlternate(t *testing.T) {
	var (
		mu       sync.Mutex
		order    []string
		current  atomic.Value
		overlaps atomic.Int64
	)
	mk := func(name string) arm {
		return arm{name: name, clients: 3,
			before: func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, name)
				current.Store(name)
				return nil
			},
			fn: func(context.Context, int, int) error {
				if current.Load() != name {
					overlaps.Add(1)
				}
				time.Sleep(200 * time.Microsecond)
				return nil
			}}
	}
	plan := roundPlan{rounds: 5, warmup: 5 * time.Millisecond, settle: time.Millisecond, window: 15 * time.Millisecond}
	res, err := measureRounds(context.Background(), plan, []arm{mk("server"), mk("limit")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(order, " "), strings.TrimSpace(strings.Repeat("server limit ", 5)); got != want {
		t.Fatalf("order of rounds %q, want %q", got, want)
	}
	if overlaps.Load() != 0 {
		t.Fatalf("%d calls of one arm ran during the other's round", overlaps.Load())
	}
	for _, r := range res {
		if len(r.Rounds) != 5 {
			t.Fatalf("%s: %d rounds, want 5", r.Name, len(r.Rounds))
		}
		sum := 0
		for _, rs := range r.Rounds {
			if rs.Ops == 0 || rs.PerSec <= 0 {
				t.Fatalf("%s: an empty round %+v", r.Name, rs)
			}
			sum += rs.Ops
		}
		if r.Ops != sum {
			t.Fatalf("%s: pooled %d ops, rounds add up to %d", r.Name, r.Ops, sum)
		}
		// Five windows of 15 ms: the pooled rate is over their sum.
		if r.Seconds < 0.075 || r.Seconds > 0.5 {
			t.Fatalf("%s: pooled %.3f s of windows", r.Name, r.Seconds)
		}
		if math.Abs(r.PerSec-float64(r.Ops)/r.Seconds) > 1e-9 {
			t.Fatalf("%s: %.1f ops/s from %d ops in %.3f s", r.Name, r.PerSec, r.Ops, r.Seconds)
		}
	}
}

func TestMeasureRoundsStopsOnBeforeError(t *testing.T) {
	boom := errors.New("boom")
	a := arm{name: "a", clients: 1, fn: func(context.Context, int, int) error { return nil },
		before: func(context.Context) error { return boom }}
	if _, err := measureRounds(context.Background(), newRoundPlan(5, 0, 5*time.Millisecond), []arm{a}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the before hook's", err)
	}
}

// Recording starts only when every client has completed a call, so a slow
// first call (a connection, a prepared statement) is never in the window
// even when the warm-up is shorter than it.
func TestWindowWaitsForEveryClient(t *testing.T) {
	fn := func(_ context.Context, _, i int) error {
		if i == 0 {
			time.Sleep(80 * time.Millisecond)
		} else {
			time.Sleep(100 * time.Microsecond)
		}
		return nil
	}
	r := pool("slow first call", 4, []measured{window(context.Background(), 4, time.Millisecond, 30*time.Millisecond, fn, true)})
	if r.Ops == 0 {
		t.Fatal("no call recorded")
	}
	if r.P99ms >= 50 {
		t.Fatalf("p99 %.1f ms: a first call was recorded", r.P99ms)
	}
}

func TestNewRoundPlanKeepsTheRunLength(t *testing.T) {
	p := newRoundPlan(5, time.Second, 10*time.Second)
	if p.window != 2*time.Second || p.warmup != time.Second || p.rounds != 5 {
		t.Fatalf("plan %+v", p)
	}
	if p := newRoundPlan(0, 0, time.Second); p.rounds != 1 || p.window != time.Second {
		t.Fatalf("plan of 0 rounds %+v", p)
	}
}

func TestSpreadOf(t *testing.T) {
	for _, c := range []struct {
		in            []float64
		med, min, max float64
	}{
		{[]float64{0.7, 0.1, 0.5, 0.9, 0.6}, 0.6, 0.1, 0.9},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
		{[]float64{3}, 3, 3, 3},
	} {
		s := spreadOf(c.in)
		if s.Median != c.med || s.Min != c.min || s.Max != c.max || len(s.Rounds) != len(c.in) {
			t.Errorf("spreadOf(%v) = %+v, want median %v, %v–%v", c.in, s, c.med, c.min, c.max)
		}
	}
	if in := []float64{3, 1, 2}; spreadOf(in).Rounds[0] != 3 {
		t.Error("spreadOf reordered the rounds it keeps")
	}
}

func TestMedianVerdict(t *testing.T) {
	at := func(vs ...float64) []ratio {
		var out []ratio
		for _, v := range vs {
			out = append(out, ratio{"x", v, "≥ 0.60", v >= 0.6})
		}
		return out
	}
	if v, met := medianVerdict(at(0.2, 0.9, 0.65, 0.1, 0.7)); v != 0.65 || !met {
		t.Errorf("odd: %v %v", v, met)
	}
	if v, met := medianVerdict(at(0.2, 0.9, 0.55, 0.1, 0.7)); v != 0.55 || met {
		t.Errorf("odd, middle round missed: %v %v", v, met)
	}
	// Even: the mean of the middle two, met only when both are.
	if v, met := medianVerdict(at(0.5, 0.7)); math.Abs(v-0.6) > 1e-12 || met {
		t.Errorf("even, one middle round missed: %v %v", v, met)
	}
	if _, met := medianVerdict(at(0.61, 0.7, 0.1, 0.9)); !met {
		t.Error("even, both middle rounds met: not met")
	}
}

// rounds builds a result measured in rounds of the given throughputs and
// p99s (ms), its pooled figures set apart from them.
func rounded(name string, clients int, pooledPerSec, pooledP99 float64, perSec, p99 []float64) result {
	r := result{Name: name, Clients: clients, PerSec: pooledPerSec, P50ms: pooledP99 / 2, P99ms: pooledP99}
	for i := range perSec {
		r.Rounds = append(r.Rounds, roundStat{Ops: int(perSec[i]), PerSec: perSec[i], P50ms: p99[i] / 2, P99ms: p99[i]})
	}
	return r
}

func findRatio(t *testing.T, rs []ratio, prefix string) ratio {
	t.Helper()
	for _, r := range rs {
		if strings.HasPrefix(r.Name, prefix) {
			return r
		}
	}
	t.Fatalf("no ratio %q in %v", prefix, rs)
	return ratio{}
}

// A comparison stands at the median of its rounds, judged on it; a figure
// of one measurement stays what all its rounds measured together.
func TestJudgeUsesTheMedianOfRounds(t *testing.T) {
	ms := []float64{1, 1, 1, 1, 1}
	r := &report{DeepPage: 200, Results: []result{
		// One round of the limit ran on an idle machine: pooled, the ratio
		// is 0.35 and misses; round by round it is 0.91 four times of five.
		rounded(nameCreateGRPC, 16, 100, 10, []float64{100, 100, 100, 100, 100}, ms),
		rounded(nameCreateRaw, 16, 288, 10, []float64{110, 110, 110, 110, 1000}, ms),
		rounded(nameListFirst, 4, 1000, 12, []float64{1000, 1000, 1000, 1000, 1000}, []float64{4, 4, 4, 4, 30}),
		rounded(nameRawFirst, 4, 5000, 2, []float64{5000, 5000, 5000, 5000, 5000}, []float64{2, 2, 2, 2, 2}),
		rounded(nameListDeep, 4, 1000, 11, []float64{1000, 1000, 1000, 1000, 1000}, []float64{4, 5, 4, 5, 4}),
		rounded(nameRawDeep, 4, 5000, 2, []float64{5000, 5000, 5000, 5000, 5000}, []float64{2, 2, 2, 2, 2}),
	}}
	out, rounds := r.judge()
	c := findRatio(t, out, "create gRPC ÷ raw pgx, throughput (16 clients)")
	if math.Abs(c.Value-100.0/110) > 1e-9 || !c.Met {
		t.Fatalf("create ratio %+v, want the median 0.909, met", c)
	}
	var sp *ratioRounds
	for i := range rounds {
		if rounds[i].Name == c.Name {
			sp = &rounds[i]
		}
	}
	if sp == nil || len(sp.Rounds) != 5 || math.Abs(sp.Min-0.1) > 1e-9 || math.Abs(sp.Max-100.0/110) > 1e-9 {
		t.Fatalf("create ratio's rounds %+v", sp)
	}
	// Page 1's p99 ÷ raw: 2, 2, 2, 2, 15 by round; median 2.
	if l := findRatio(t, out, "ListCases p99 ÷ raw SQL p99, page 1"); l.Value != 2 || !l.Met {
		t.Fatalf("list ratio %+v", l)
	}
	// The worse p99 of the two pages is a figure of all rounds together.
	if w := findRatio(t, out, "ListCases p99, worse of the two pages"); w.Value != 12 {
		t.Fatalf("worse p99 %+v, want the pooled 12 ms", w)
	}
	for _, rr := range rounds {
		if !comparison(rr.Name) {
			t.Errorf("rounds kept for %q, a figure of one measurement", rr.Name)
		}
	}
}

// Every comparison the report makes is named with ÷ (judge takes its
// median by that), and no figure of one measurement is.
func TestComparisonsAreNamedWithDivide(t *testing.T) {
	one := func(name string, clients int) result {
		return result{Name: name, Clients: clients, PerSec: 100, P50ms: 1, P99ms: 2}
	}
	r := &report{DeepPage: 200, PeakRSSBytes: 1 << 26, Cases: 10,
		Statistics: &statisticsReport{Year: 2025},
		Replicas:   &replicasReport{Replicas: 3, CPUsEach: 1, Clients: 24, MachineCPUs: 64, ReadIdle: 0.5}}
	for _, n := range writeClients {
		r.Results = append(r.Results, one(nameCreateGRPC, n), one(nameCreateGateway, n), one(nameCreateRaw, n))
	}
	for _, n := range []string{nameListFirst, nameListDeep, nameRawFirst, nameRawDeep, nameStatistics, nameStatisticsRaw} {
		r.Results = append(r.Results, one(n, 4))
	}
	for _, n := range []string{nameReplicaReads1, nameReplicaReads3, nameReplicaCreates1, nameReplicaCreates3} {
		r.Results = append(r.Results, one(n, 24))
	}
	out := r.ratios()
	if len(out) < 12 {
		t.Fatalf("only %d figures: %v", len(out), out)
	}
	for _, q := range out {
		single := strings.Contains(q.Name, "(ms)") || strings.Contains(q.Name, "(MiB)") || strings.Contains(q.Name, "seconds")
		if single == comparison(q.Name) {
			t.Errorf("%q: a comparison must say ÷, a figure of one measurement must not", q.Name)
		}
	}
}

func TestReplicaScalingNeedsTheCores(t *testing.T) {
	rr := &replicasReport{Replicas: 3, CPUsEach: 1, Clients: 24, MachineCPUs: 2, ReadIdle: 0.4}
	if why := scaleNotMeasurable(rr); !strings.HasPrefix(why, "on 2 cores") {
		t.Fatalf("2 cores: %q", why)
	}
	rr.MachineCPUs = 16
	if why := scaleNotMeasurable(rr); why != "" {
		t.Fatalf("16 idle cores: %q", why)
	}
	rr.ReadIdle = 0.02
	if why := scaleNotMeasurable(rr); !strings.Contains(why, "2% of the machine's CPU was idle") {
		t.Fatalf("16 busy cores: %q", why)
	}
	rr.CPUsEach = 4
	if why := scaleNotMeasurable(rr); !strings.Contains(why, "need 24") {
		t.Fatalf("three replicas of 4 cores on 16: %q", why)
	}

	// Judged on two cores, a read ratio above target is not a pass.
	r := &report{Replicas: &replicasReport{Replicas: 3, CPUsEach: 1, Clients: 24, MachineCPUs: 2, ReadIdle: 0}}
	r.Replicas.NotMeasurable = scaleNotMeasurable(r.Replicas)
	r.Results = []result{
		rounded(nameReplicaReads1, 24, 100, 1, []float64{100, 100, 100}, []float64{1, 1, 1}),
		rounded(nameReplicaReads3, 24, 300, 1, []float64{300, 290, 310}, []float64{1, 1, 1}),
		rounded(nameReplicaCreates1, 24, 100, 1, []float64{100, 100, 100}, []float64{1, 1, 1}),
		rounded(nameReplicaCreates3, 24, 110, 1, []float64{110, 90, 105}, []float64{1, 1, 1}),
	}
	out, _ := r.judge()
	reads := findRatio(t, out, "reads, 3 replicas ÷ 1")
	if reads.Value != 3 || reads.Met {
		t.Fatalf("reads on 2 cores %+v: want 3.0 and not met", reads)
	}
	if creates := findRatio(t, out, "creates, 3 replicas ÷ 1"); creates.Value != 1.05 || !creates.Met {
		t.Fatalf("creates %+v", creates)
	}
	var b strings.Builder
	r.print(&b)
	if !strings.Contains(b.String(), "not measurable on 2 cores") {
		t.Fatalf("report does not say the reads' target is not measurable:\n%s", b.String())
	}
	if !strings.Contains(b.String(), fmt.Sprintf("%s–%s", figure(2.9), figure(3.1))) {
		t.Fatalf("report does not give the rounds' range:\n%s", b.String())
	}
}
