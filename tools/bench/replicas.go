package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// The replicas scenario (issue 15): three `casework serve` processes on the
// same database with the same keys, as a deployment behind a load balancer
// runs them, against one of them alone, with the same clients in all.
// Each replica is given its own CPU budget (GOMAXPROCS), as a node of its
// own would give it: a Go server otherwise spreads over every core of the
// machine, and one replica would already use what three should share.

const (
	// A caseworker's reads: GetCase and ListCases (readMix).
	nameReplicaReads1   = "reads mix, 1 replica"
	nameReplicaReads3   = "reads mix, 3 replicas"
	nameReplicaCreates1 = "CreateCase gRPC, 1 replica"
	nameReplicaCreates3 = "CreateCase gRPC, 3 replicas"

	replicaCount = 3
	// minIdleForScale is the share of the machine's CPU that must stay
	// idle during the three replicas' read rounds for their throughput to
	// be the replicas' own, not what was left of the machine.
	minIdleForScale = 0.10
)

// replicasReport describes the replicas scenario besides its timings.
type replicasReport struct {
	Replicas    int `json:"replicas"`
	CPUsEach    int `json:"gomaxprocs_each"`
	Clients     int `json:"clients"`
	MachineCPUs int `json:"machine_cpus"`
	// ReadIdle is the machine's idle CPU share during the three
	// replicas' read rounds.
	ReadIdle float64 `json:"machine_cpu_idle_three_replicas_reads"`
	// NotMeasurable says why the read-scaling target cannot be judged on
	// this machine; empty when it can.
	NotMeasurable string `json:"reads_not_measurable,omitempty"`
	// FreeConnections is what PostgreSQL's max_connections left when the
	// replicas started: each may open 20 (-1: unknown).
	FreeConnections int `json:"free_connections_at_start"`
}

// replicaSet is the running replicas and a client of each.
type replicaSet struct {
	procs []*serverProcess
	conns []*grpc.ClientConn
	cases []pb.CaseServiceClient
}

// startReplicas starts n servers, each limited to cpus cores. They do not
// migrate: the schema is the run's, as on a deployment where a migration
// job runs before the replicas start. The first starts alone: a server
// reseals, before it serves, the rows not sealed under the active key, and
// three servers resealing the same rows at once deadlock in PostgreSQL (one
// then exits); the others start together once the first has done it.
func startReplicas(ctx context.Context, srv *serverProcess, n, cpus int) (*replicaSet, error) {
	rs := &replicaSet{procs: make([]*serverProcess, n)}
	start := func(i int) (err error) {
		rs.procs[i], err = startServerWith(ctx, srv.bin, srv.dataDir, srv.dbURL, serveOptions{
			log:  fmt.Sprintf("replica-%d.log", i+1),
			env:  []string{"GOMAXPROCS=" + strconv.Itoa(cpus)},
			args: []string{"--migrate=false"},
		})
		return err
	}
	if err := start(0); err != nil {
		return nil, fmt.Errorf("start replica 1: %w", err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := start(i); err != nil {
				errs[i] = fmt.Errorf("start replica %d: %w", i+1, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		rs.stop()
		return nil, err
	}
	for _, p := range rs.procs {
		conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			rs.stop()
			return nil, err
		}
		rs.conns = append(rs.conns, conn)
		rs.cases = append(rs.cases, pb.NewCaseServiceClient(conn))
	}
	return rs, nil
}

// stop closes the clients and stops the replicas, all at once.
func (rs *replicaSet) stop() {
	if rs == nil {
		return
	}
	for _, c := range rs.conns {
		_ = c.Close()
	}
	var wg sync.WaitGroup
	for _, p := range rs.procs {
		if p == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); p.stop() }()
	}
	wg.Wait()
}

func (rs *replicaSet) alive() error {
	for i, p := range rs.procs {
		if err := p.alive(); err != nil {
			return fmt.Errorf("replica %d: %w", i+1, err)
		}
	}
	return nil
}

// through spreads calls over the first n replicas, one call to each in
// turn, as a round-robin load balancer does.
func (rs *replicaSet) through(n int) func(worker, i int) pb.CaseServiceClient {
	return func(worker, i int) pb.CaseServiceClient { return rs.cases[(worker+i)%n] }
}

// readMix is what a caseworker's screens read: three cases for each
// filtered list (page 1).
func (b *bench) readMix(client func(worker, i int) pb.CaseServiceClient, page listPage) op {
	return func(ctx context.Context, worker, i int) error {
		c := client(worker, i)
		if i%4 == 3 {
			resp, err := c.ListCases(b.authCtx(ctx), &pb.ListCasesRequest{Filter: listFilter, PageSize: page.pageSize})
			if err != nil {
				return err
			}
			if int32(len(resp.GetCases())) != page.pageSize {
				return fmt.Errorf("ListCases page 1: %d cases, want %d", len(resp.GetCases()), page.pageSize)
			}
			return nil
		}
		id := b.loaded.caseIDs[pick(worker, i, len(b.loaded.caseIDs))]
		cs, err := c.GetCase(b.authCtx(ctx), &pb.GetCaseRequest{Name: "cases/" + id.String()})
		if err != nil {
			return err
		}
		if cs.GetCaseNumber() == "" {
			return errors.New("GetCase answered a case without a number")
		}
		return nil
	}
}

// createVia opens an employment-placement case for the next spouse of the
// reserve, through the server (or replica) client picks.
func (b *bench) createVia(client func(worker, i int) pb.CaseServiceClient) op {
	return func(ctx context.Context, worker, i int) error {
		h, m := b.subject(worker, i)
		c, err := client(worker, i).CreateCase(b.authCtx(ctx), &pb.CreateCaseRequest{Case: &pb.Case{
			Household: "households/" + h.id.String(),
			Subject:   "households/" + h.id.String() + "/members/" + m.id.String(),
			Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{
				PlacementYear: placementYear(), Eligible: true, Channel: pb.PlacementChannel_PLACEMENT_CHANNEL_STATE_ENTERPRISE,
			}},
		}})
		if err != nil {
			return err
		}
		if c.GetStatus() != pb.CaseStatus_CASE_STATUS_DRAFT || c.GetCaseNumber() == "" {
			return fmt.Errorf("CreateCase answered %v %q", c.GetStatus(), c.GetCaseNumber())
		}
		return nil
	}
}

// replicaScaleCPUs is how many cores the machine needs for the read-scaling
// target to mean anything: the three replicas' own, and as many again for
// PostgreSQL and the benchmark's clients, which serve three times the calls
// too.
func replicaScaleCPUs(cpusEach int) int { return 2 * replicaCount * cpusEach }

// runReplicas measures reads and creates through one replica against the
// same clients spread over three, in alternating rounds.
func runReplicas(ctx context.Context, b *bench, rep *report, page listPage, cpus, clients int,
	compare func(...arm) error, free func(context.Context) error) error {
	rr := &replicasReport{Replicas: replicaCount, CPUsEach: cpus, Clients: clients, MachineCPUs: runtime.NumCPU(), ReadIdle: -1,
		FreeConnections: -1}
	rep.Replicas = rr
	// The raw baselines' pool is idle from here on but for freeing the
	// reserve: its connections go back to PostgreSQL, for the replicas'.
	b.pool.Reset()
	if err := b.pool.QueryRow(ctx, `SELECT current_setting('max_connections')::int - (SELECT count(*) FROM pg_stat_activity)`).
		Scan(&rr.FreeConnections); err != nil {
		return err
	}
	if need := replicaCount * serverPoolSize; rr.FreeConnections < need {
		logf("replicas: PostgreSQL has %d connections free, three replicas may open %d: calls may fail with UNAVAILABLE", rr.FreeConnections, need)
	}
	logf("replicas: starting %d servers, GOMAXPROCS=%d each", replicaCount, cpus)
	rs, err := startReplicas(ctx, b.srv, replicaCount, cpus)
	if err != nil {
		return err
	}
	defer rs.stop()
	if err := compare(
		arm{name: nameReplicaReads1, clients: clients, fn: b.readMix(rs.through(1), page)},
		arm{name: nameReplicaReads3, clients: clients, fn: b.readMix(rs.through(replicaCount), page)},
	); err != nil {
		return err
	}
	if r := rep.find(nameReplicaReads3, clients); r != nil {
		rr.ReadIdle = r.Idle
	}
	rr.NotMeasurable = scaleNotMeasurable(rr)
	if err := compare(
		arm{name: nameReplicaCreates1, clients: clients, fn: b.createVia(rs.through(1)), before: free},
		arm{name: nameReplicaCreates3, clients: clients, fn: b.createVia(rs.through(replicaCount)), before: free},
	); err != nil {
		return err
	}
	return rs.alive()
}

// scaleNotMeasurable says why three replicas' reads cannot show their
// scaling here, or "" when they can: too few cores for three replicas'
// budgets and the PostgreSQL and clients beside them, or a machine with
// no idle CPU left while they ran.
func scaleNotMeasurable(rr *replicasReport) string {
	if need := replicaScaleCPUs(rr.CPUsEach); rr.MachineCPUs < need {
		return fmt.Sprintf("on %d cores (three replicas of %d core(s) with PostgreSQL and the clients beside them need %d)",
			rr.MachineCPUs, rr.CPUsEach, need)
	}
	if rr.ReadIdle >= 0 && rr.ReadIdle < minIdleForScale {
		return fmt.Sprintf("on this run's %d cores: %.0f%% of the machine's CPU was idle while three replicas ran (under %.0f%%)",
			rr.MachineCPUs, 100*rr.ReadIdle, 100*minIdleForScale)
	}
	return ""
}

// replicasRatios are issue 15's scaling figures.
func (r *report) replicasRatios() []ratio {
	rr := r.Replicas
	if rr == nil {
		return nil
	}
	var out []ratio
	if one, three := r.find(nameReplicaReads1, rr.Clients), r.find(nameReplicaReads3, rr.Clients); one != nil && three != nil && one.PerSec > 0 {
		v := three.PerSec / one.PerSec
		out = append(out, ratio{fmt.Sprintf("reads, 3 replicas ÷ 1, throughput (%d clients)", rr.Clients), v, "≥ 2.5", v >= 2.5})
	}
	if one, three := r.find(nameReplicaCreates1, rr.Clients), r.find(nameReplicaCreates3, rr.Clients); one != nil && three != nil && one.PerSec > 0 {
		v := three.PerSec / one.PerSec
		out = append(out, ratio{fmt.Sprintf("creates, 3 replicas ÷ 1, throughput (%d clients)", rr.Clients), v, "≥ 1.0", v >= 1.0})
	}
	return out
}

// notMeasurable says why a figure's target cannot be judged in this run,
// or "".
func (r *report) notMeasurable(name string) string {
	if r.Replicas != nil && strings.HasPrefix(name, "reads, 3 replicas ÷ 1") {
		return r.Replicas.NotMeasurable
	}
	return ""
}

func (r *report) printReplicas(w io.Writer) {
	rr := r.Replicas
	if rr == nil {
		return
	}
	idle := "unknown"
	if rr.ReadIdle >= 0 {
		idle = fmt.Sprintf("%.0f%%", 100*rr.ReadIdle)
	}
	fmt.Fprintf(w, "replicas: %d `casework serve` on one database, GOMAXPROCS=%d each, %d clients in all (round-robin over 3); "+
		"machine: %d cores, CPU idle during the 3-replica reads %s; PostgreSQL connections free at their start: %d (each may open %d)\n",
		rr.Replicas, rr.CPUsEach, rr.Clients, rr.MachineCPUs, idle, rr.FreeConnections, serverPoolSize)
}

// reserveFreer frees the reserve's spouses (bench.freeReserve) when half of
// those the creates may use have been used since it last did: a round
// creates far fewer than half, so no round comes round to a spouse it or
// an earlier round used, and the frees, an UPDATE over the whole reserve,
// stay few.
type reserveFreer struct {
	b     *bench
	freed bool
	at    int64 // creates counted when last freed
}

func (f *reserveFreer) free(ctx context.Context) error {
	n := f.b.fresh.Load()
	// Read between rounds, when no create runs: placeable was set by the
	// first create, and nothing writes it after.
	if f.freed && 2*(n-f.at) < int64(len(f.b.placeable)) {
		return nil
	}
	f.freed, f.at = true, n
	return f.b.freeReserve(ctx)
}
