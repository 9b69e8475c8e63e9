// Command bench measures the casework server on PostgreSQL the way a county
// uses it, next to the limits of the same machine in the same run: it builds
// and starts the real server against a fresh database, loads a synthetic
// county, and prints a table of throughput and latency of case creation
// (gRPC and JSON), reads and keyset-paged lists, beside the same writes done
// with raw pgx, the same list query run directly, and a bare gRPC echo; the
// ratios between them; the server's peak memory; a batch import; and the
// ledger's figures (a campaign's coverage, the overdue-contact list and its
// plan, ledger.go).
//
//	go run ./tools/bench -scale smoke|small|large|ledger [-database-url URL] [-keep] [-json out.json] [-explain]
//
// See docs/performance.md for what each figure means and the latest results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/fengdu-county/casework/internal/sealed"
)

// preset is a scale of the county and of the measurements.
type preset struct {
	households int
	// reserve households are loaded without cases: their spouses are the
	// subjects of the create measurements, one each.
	reserve    int
	cases      int
	imports    int           // households posted to households:batchCreate
	batch      int           // households a batch
	fileImport int           // households (each with a member) of the .xlsx posted to households:import
	duration   time.Duration // of each measurement, after its warm-up
}

// Smoke, which CI runs to keep the tool working, imports one batch of the
// real size; small and large import 5,000 and 100,000, 1,000 a batch.
var presets = map[string]preset{
	"smoke": {households: 300, reserve: 6_000, cases: 2_000, imports: 1_000, batch: 1_000, fileImport: 200, duration: time.Second},
	"small": {households: 3_000, reserve: 20_000, cases: 20_000, imports: 5_000, batch: 1_000, fileImport: 2_000, duration: 5 * time.Second},
	"large": {households: 200_000, reserve: 60_000, cases: 1_000_000, imports: 100_000, batch: 1_000, fileImport: 10_000, duration: 10 * time.Second},
	// The ledger's figures (issue 13) need the large county's households,
	// not its million cases: a few minutes instead of twenty.
	"ledger": {households: 200_000, reserve: 20_000, cases: 20_000, imports: 1_000, batch: 1_000, fileImport: 1_000, duration: 10 * time.Second},
}

type config struct {
	scale       string
	preset      preset
	databaseURL string
	keep        bool
	jsonPath    string
	explain     bool
	profileDir  string
	readClients int
	seed        uint64
	// rounds each comparison alternates its arms in (-rounds).
	rounds int
	// The replicas scenario: whether it runs, each replica's cores, and
	// the clients spread over them.
	replicas       bool
	replicaCPUs    int
	replicaClients int
}

// Concurrency of the write and echo measurements, and the target deep page.
var (
	writeClients = []int{16, 64}
	deepPage     = 200
)

func main() {
	var cfg config
	flag.StringVar(&cfg.scale, "scale", "small", "smoke (seconds, for CI), small (~20,000 cases), large (1,000,000 cases) or ledger (200,000 households, 20,000 cases)")
	defaultURL := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if v := os.Getenv("CASEWORK_TEST_POSTGRES_URL"); v != "" {
		defaultURL = v
	}
	flag.StringVar(&cfg.databaseURL, "database-url", defaultURL,
		"PostgreSQL to create the benchmark's own database in (it needs CREATE DATABASE; env CASEWORK_TEST_POSTGRES_URL)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the database and the server's data directory (its keyring opens the sealed values)")
	flag.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.BoolVar(&cfg.explain, "explain", false, "print EXPLAIN (ANALYZE, BUFFERS) of the list queries")
	flag.StringVar(&cfg.profileDir, "profile", "", "save the server's CPU profile of each server measurement, and its allocations, to this directory (go tool pprof)")
	flag.IntVar(&cfg.readClients, "read-clients", 4, "concurrent clients of the read measurements")
	duration := flag.Duration("duration", 0, "length of each measurement (default: the scale's)")
	flag.Uint64Var(&cfg.seed, "seed", 20261129, "seed of the generated county")
	flag.IntVar(&cfg.rounds, "rounds", 5, "alternating rounds of each comparison (server, limit, server, limit …); each round records duration/rounds")
	flag.BoolVar(&cfg.replicas, "replicas", true, "run the replicas scenario: three servers on the one database against one")
	flag.IntVar(&cfg.replicaCPUs, "replica-cpus", 1, "cores (GOMAXPROCS) of each replica in the replicas scenario")
	flag.IntVar(&cfg.replicaClients, "replica-clients", 24, "concurrent clients of the replicas scenario, spread over the replicas")
	flag.Parse()
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
	}
	p, ok := presets[cfg.scale]
	if !ok {
		fmt.Fprintf(os.Stderr, "bench: unknown -scale %q: use smoke, small, large or ledger\n", cfg.scale)
		os.Exit(2)
	}
	if *duration > 0 {
		p.duration = *duration
	}
	if cfg.rounds < 1 || cfg.replicaCPUs < 1 || cfg.replicaClients < 1 {
		fmt.Fprintln(os.Stderr, "bench: -rounds, -replica-cpus and -replica-clients must be at least 1")
		os.Exit(2)
	}
	cfg.preset = p

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, cfg)
	stop()
	if rep != nil {
		rep.print(os.Stdout)
		if cfg.jsonPath != "" {
			if werr := rep.writeJSON(cfg.jsonPath); werr != nil && err == nil {
				err = werr
			}
		}
		if err == nil && rep.failed() {
			err = errors.New("some operations failed; see the errors column")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// run does the whole benchmark and always cleans up after itself: the
// server is stopped and the database dropped (unless -keep) on every path,
// errors and interrupts included.
func run(ctx context.Context, cfg config) (rep *report, err error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "casework-bench-")
	if err != nil {
		return nil, err
	}
	var (
		db  *database
		srv *serverProcess
	)
	defer func() {
		if rep != nil {
			rep.TotalSeconds = time.Since(start).Seconds()
			rep.LoadEnd = loadAverage()
		}
		srv.stop()
		if cfg.keep {
			if db != nil {
				logf("kept database %s and data directory %s; restart the server with:\n  %s serve --database-url '%s' --data-dir %s",
					db.name, dir, filepath.Join(dir, "casework"), db.url, dir)
			}
			return
		}
		if db != nil {
			if derr := db.drop(); derr != nil && err == nil {
				err = fmt.Errorf("drop database %s: %w", db.name, derr)
			}
		}
		_ = os.RemoveAll(dir)
	}()

	rev := revision()
	logf("building the server (%s)", rev)
	bin, err := buildServer(ctx, dir)
	if err != nil {
		return nil, err
	}
	if db, err = createDatabase(ctx, cfg.databaseURL); err != nil {
		return nil, err
	}
	logf("database %s; migrating", db.name)
	if err := migrate(ctx, bin, dir, db.url); err != nil {
		return nil, err
	}
	if srv, err = startServer(ctx, bin, dir, db.url, cfg.profileDir != ""); err != nil {
		return nil, err
	}
	logf("server up (gRPC %s, HTTP %s, pid %d)", srv.grpcAddr, srv.httpAddr, srv.cmd.Process.Pid)
	token, err := srv.token(ctx, "bench", "supervisor,batch")
	if err != nil {
		return nil, err
	}
	keys, err := sealed.Load(filepath.Join(dir, "keyring.json"))
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}

	p := cfg.preset
	logf("generating the county: %d households, %d cases", p.households, p.cases)
	c := newCounty(cfg.seed, p.households+p.reserve, time.Now())
	c.reserveFrom(p.households)
	logf("loading it with COPY")
	l, err := loadCounty(ctx, db.url, keys, c, p.cases, logf)
	if err != nil {
		return nil, err
	}
	logf("loaded in %s", l.took.Round(time.Millisecond))

	rep = &report{Scale: cfg.scale, Revision: rev, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Households: l.households,
		Members: l.members, Cases: l.cases, History: l.history, Towns: len(towns), LoadSeconds: l.took.Seconds(),
		Filter: listFilter, ReadClients: cfg.readClients, MeasureSeconds: p.duration.Seconds(), Rounds: cfg.rounds}
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		return rep, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&rep.Postgres); err != nil {
		return rep, err
	}
	if rep.Listed, err = countListed(ctx, conn); err != nil {
		return rep, err
	}
	if rep.Listed == 0 {
		return rep, errors.New("the list filter matches no loaded case")
	}

	b, err := newBench(ctx, srv, c, l, token, keys)
	if err != nil {
		return rep, err
	}
	defer b.close()
	if err := b.verifyLoad(ctx); err != nil {
		return rep, err
	}
	logf("loaded rows read back through the API as the server's own")

	// Page 200 must exist and be full: the page size shrinks on the small
	// scales, where fewer rows match.
	size := int32(min(50, max(1, rep.Listed/deepPage)))
	first, deep, err := b.walkTo(ctx, deepPage, size)
	if err != nil {
		return rep, err
	}
	rep.PageSize, rep.DeepPage = int(size), deep.number

	// What the server sends, recorded through the repository package: the
	// list baseline runs it, and the create baseline must match it.
	store, rec, err := recordingStore(ctx, db.url, keys)
	if err != nil {
		return rep, err
	}
	defer func() { _ = store.Close() }()
	if first.query, err = recordList(ctx, store, rec, first); err != nil {
		return rep, err
	}
	if deep.query, err = recordList(ctx, store, rec, deep); err != nil {
		return rep, err
	}
	rep.ListSQL = []string{first.query.SQL, deep.query.SQL}
	h, m := b.subject(0, 0)
	created, err := recordCreate(ctx, store, rec, h, m)
	if err != nil {
		return rep, err
	}
	if err := checkCreateBaseline(created); err != nil {
		return rep, err
	}

	warm := min(p.duration/5, 2*time.Second)
	add := func(r result) {
		rep.Results = append(rep.Results, r)
		logf("%-36s %3d clients: %8.1f/s  p50 %7.2f ms  p99 %7.2f ms  errors %d", r.Name, r.Clients, r.PerSec, r.P50ms, r.P99ms, r.Errors)
	}
	// server measures an operation of the server, under the CPU profiler
	// when -profile asks for it.
	server := func(name string, clients int, fn op) result {
		if cfg.profileDir == "" {
			return measure(ctx, name, clients, warm, p.duration, fn)
		}
		file := filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%d.cpu.pprof", slug(name), clients))
		done := make(chan error, 1)
		go func() {
			sleep(ctx, warm)
			done <- srv.profile(ctx, fmt.Sprintf("profile?seconds=%d", max(1, int(p.duration.Seconds()))), file)
		}()
		r := measure(ctx, name, clients, warm, p.duration, fn)
		if err := <-done; err != nil {
			logf("profile of %s: %v", name, err)
		}
		return r
	}
	// compare measures the arms of a comparison in alternating rounds.
	// With -profile, each server arm is first run once more, alone, under
	// the profiler, so that the profiler's own cost weighs on no round.
	plan := newRoundPlan(cfg.rounds, warm, p.duration)
	compare := func(arms ...arm) error {
		if cfg.profileDir != "" {
			for _, a := range arms {
				if !a.server {
					continue
				}
				if a.before != nil {
					if err := a.before(ctx); err != nil {
						return err
					}
				}
				_ = server(a.name, a.clients, a.fn)
			}
		}
		results, err := measureRounds(ctx, plan, arms)
		for _, r := range results {
			add(r)
		}
		return err
	}
	if err := srv.alive(); err != nil {
		return rep, err
	}
	rep.LoadStart = loadAverage()

	rc := cfg.readClients
	add(server(nameGet, rc, b.getCase))
	if err := compare(
		arm{name: nameListFirst, clients: rc, fn: b.listGRPC(first), server: true},
		arm{name: nameRawFirst, clients: rc, fn: b.listRaw(first)},
		arm{name: nameListDeep, clients: rc, fn: b.listGRPC(deep), server: true},
		arm{name: nameRawDeep, clients: rc, fn: b.listRaw(deep)},
	); err != nil {
		return rep, err
	}

	// The reads before the writes: the statistics count the cases as
	// loaded, not as tens of thousands of batch assignments just left
	// them (rows not yet vacuumed, which the current-load counts then
	// visit, and which the raw statements, run one at a time, suffer
	// less from than the server's side-by-side ones).
	if err := runLedger(ctx, b, store, rec, rep, server, add); err != nil {
		return rep, fmt.Errorf("ledger: %w", err)
	}
	if err := runStatistics(ctx, b, store, rec, rep, compare); err != nil {
		return rep, fmt.Errorf("statistics: %w", err)
	}
	if err := runAssign(ctx, b, rep, server, add); err != nil {
		return rep, fmt.Errorf("assignment: %w", err)
	}

	echoAddr, stopEcho, err := echoServer()
	if err != nil {
		return rep, err
	}
	echoConn, err := grpc.NewClient(echoAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		stopEcho()
		return rep, err
	}
	for _, n := range writeClients {
		add(measure(ctx, nameEcho, n, warm, p.duration, echoOp(healthpb.NewHealthClient(echoConn))))
	}
	_ = echoConn.Close()
	stopEcho()

	// Each create opens a case for a reserve spouse, who may then have no
	// second open one of the kind: the reserve is freed before a round
	// could come round to a spouse an earlier one used.
	free := (&reserveFreer{b: b}).free
	for _, n := range writeClients {
		if err := compare(
			arm{name: nameCreateGRPC, clients: n, fn: b.createGRPC, server: true, before: free},
			arm{name: nameCreateGateway, clients: n, fn: b.createGateway, server: true, before: free},
			arm{name: nameCreateRaw, clients: n, fn: b.createRaw, before: free},
		); err != nil {
			return rep, err
		}
		if err := srv.alive(); err != nil {
			return rep, err
		}
	}

	if ctx.Err() != nil {
		return rep, errors.New("interrupted")
	}
	logf("batch import: %d households in batches of %d", p.imports, p.batch)
	imp, importErr := b.batchImport(ctx, p.imports, p.batch)
	rep.Import = &imp
	if importErr != nil {
		// The figures up to the failure are still reported; the run fails.
		importErr = fmt.Errorf("batch import: %s", imp.Error)
		logf("%v", importErr)
	}

	if err := srv.alive(); err != nil {
		return rep, err
	}
	logf("file import: an .xlsx of %d households through POST /v1/households:import, polled", p.fileImport)
	fi, fileImportErr := b.importFile(ctx, p.fileImport)
	rep.FileImport = &fi
	if fileImportErr != nil {
		fileImportErr = fmt.Errorf("file import: %w", fileImportErr)
		logf("%v", fileImportErr)
	}
	if err := srv.alive(); err != nil {
		return rep, err
	}
	// The run's peak so far, before the export resets the count to measure
	// its own.
	if rep.PeakRSSBytes, err = srv.peakRSS(); err != nil {
		return rep, err
	}
	logf("household export: POST /v1/households:export, polled and downloaded")
	exp, exportErr := b.exportHouseholds(ctx)
	rep.Export = &exp
	if exportErr != nil {
		exportErr = fmt.Errorf("household export: %w", exportErr)
		logf("%v", exportErr)
	}
	if err := srv.alive(); err != nil {
		return rep, err
	}
	if peak, err := srv.peakRSS(); err != nil {
		return rep, err
	} else if peak > rep.PeakRSSBytes {
		rep.PeakRSSBytes = peak
	}
	if cfg.profileDir != "" {
		if err := srv.profile(ctx, "allocs", filepath.Join(cfg.profileDir, "allocs.pprof")); err != nil {
			return rep, err
		}
		logf("profiles in %s, e.g. go tool pprof -top %s", cfg.profileDir, filepath.Join(cfg.profileDir, "CreateCase-gRPC-16.cpu.pprof"))
	}
	if cfg.explain {
		for _, pg := range []listPage{first, deep} {
			text, err := b.explain(ctx, pg)
			if err != nil {
				return rep, fmt.Errorf("explain: %w", err)
			}
			rep.Explain = append(rep.Explain, fmt.Sprintf("ListCases page %d (%d rows a page):\n%s", pg.number, pg.pageSize, text))
		}
	}
	if cfg.replicas && ctx.Err() == nil {
		// The replicas have the machine and PostgreSQL's connections to
		// themselves: the run's server has done its part.
		srv.stop()
		if err := runReplicas(ctx, b, rep, first, cfg.replicaCPUs, cfg.replicaClients, compare, free); err != nil {
			return rep, errors.Join(fmt.Errorf("replicas: %w", err), importErr, fileImportErr, exportErr)
		}
	}
	if err := errors.Join(importErr, fileImportErr, exportErr); err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

// failed reports whether any operation returned an error.
func (r *report) failed() bool {
	for _, res := range r.Results {
		if res.Errors > 0 {
			return true
		}
	}
	return false
}

// slug turns a measurement's name into a file name.
func slug(name string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name), "-")
}

// trimError keeps an error message to one short line for the table.
func trimError(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
