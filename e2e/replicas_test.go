package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/testdb"
)

// TestThreeReplicas starts three processes of the real casework binary on
// one PostgreSQL database, as the county's cluster runs them behind a load
// balancer, and drives all three at once over gRPC and HTTP: case numbers
// stay unique, an etag lets exactly one of concurrent updates win, the
// change feed holds every change once and in order, each background job
// runs once, and the rate limit and the lookup budget are one per caller
// across the replicas, not one per replica. PostgreSQL only: the embedded
// SQLite has one server. Under CI=true it runs, never skips.
func TestThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	t.Parallel()
	e := startBare(t, testdb.Postgres)
	reps := startReplicas(t, e, 3)
	e.httpBase, e.grpcAddr = reps[0].httpBase, reps[0].grpcAddr
	e.conn = e.dialAddr(t, reps[0].grpcAddr, e.token(t, supervisorUser, []principal.Role{principal.Supervisor}))
	sup := e.token(t, supervisorUser, []principal.Role{principal.Supervisor})
	clients := replicaClients(t, e, reps, sup) // 3 replicas × gRPC and HTTP

	var cases []*pb.Case
	t.Run("creates", func(t *testing.T) { cases = concurrentCreates(t, e, clients) })
	if t.Failed() {
		return
	}
	t.Run("etag_updates", func(t *testing.T) { concurrentUpdates(t, clients, cases[0]) })
	t.Run("feed", func(t *testing.T) { feedOnce(t, clients, cases) })
	t.Run("jobs_once", func(t *testing.T) { jobsOnce(t, e, reps, clients) })
	t.Run("rate_limit_shared", func(t *testing.T) { sharedRateLimit(t, e, reps, cases[0]) })
	t.Run("lookup_budget_shared", func(t *testing.T) { sharedLookupBudget(t, e, reps) })
}

// The replicas' limits, small enough to be measured in seconds: people's
// rate is far above what the workload makes, the batch role's is what
// sharedRateLimit hammers, and the lookup budget is per minute.
const (
	replicaBatchRate   = 4
	replicaBatchBurst  = 8
	replicaLookupLimit = 6
)

type replica struct {
	grpcAddr, httpBase string
}

// buildCasework builds the server binary into dir.
func buildCasework(dir string) (string, error) {
	bin := filepath.Join(dir, "casework")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/fengdu-county/casework/cmd/casework").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, out)
	}
	return bin, nil
}

// startReplicas starts n processes of the binary serving the env's
// database with its keyring and token key, each with a connection pool and
// job queue of its own, and waits until each is ready. They get SIGTERM
// when t ends; their logs go to the env's log buffer, where the leak check
// reads them.
func startReplicas(t *testing.T, e *env, n int) []replica {
	t.Helper()
	bin, err := buildCasework(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keyring := filepath.Join(t.TempDir(), "keyring.json")
	if err := e.db.Keyring.Save(keyring); err != nil {
		t.Fatalf("save keyring: %v", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CASEWORK_") {
			env = append(env, kv)
		}
	}
	reps := make([]replica, n)
	for i := range reps {
		grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
		cmd := exec.Command(bin, "serve",
			"--database-url", e.db.URL, "--data-dir", e.keyDir, "--keyring", keyring, "--migrate=false",
			"--page-token-key", "e2e-page-token-key-0123456789abcdef",
			"--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-format", "text",
			"--rate-limit-store", "postgres", "--rate-limit", "1000", "--rate-burst", "1000",
			"--batch-rate-limit", strconv.Itoa(replicaBatchRate), "--batch-rate-burst", strconv.Itoa(replicaBatchBurst),
			"--lookup-limit", strconv.Itoa(replicaLookupLimit), "--alert-scan-every", "1s",
			"--shutdown-drain", "0s", "--shutdown-timeout", "5s")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = e.logs, e.logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start replica %d: %v", i, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("replica %d exited: %v", i, err)
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("replica %d did not stop within 20s of SIGTERM", i)
			}
		})
		reps[i] = replica{grpcAddr: grpcAddr, httpBase: "http://" + httpAddr}
	}
	for _, r := range reps {
		e.waitReady(t, r.httpBase, e.dialAddr(t, r.grpcAddr, ""))
	}
	return reps
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// replicaClients is a gRPC and an HTTP client on each replica, presenting
// token.
func replicaClients(t *testing.T, e *env, reps []replica, token string) []*client {
	var out []*client
	for _, r := range reps {
		out = append(out,
			&client{name: "grpc", t: t, e: e, conn: e.dialAddr(t, r.grpcAddr, token)},
			&client{name: "http", t: t, e: e, http: true, hc: e.httpAs(token), base: r.httpBase})
	}
	return out
}

// concurrentCreates opens four cases in each of six families from six
// workers spread over the replicas and transports: every case gets a case
// number, and no two the same.
func concurrentCreates(t *testing.T, e *env, clients []*client) []*pb.Case {
	families := make([]family, 6)
	for i := range families {
		families[i] = e.family(t, clients[i%len(clients)])
	}
	var drafts []*pb.Case
	for _, f := range families {
		drafts = append(drafts, schoolCase(f), elderCase(f), employmentCase(f), legalAidCase(f, f.father))
	}
	created := make([]*pb.Case, len(drafts))
	var wg sync.WaitGroup
	for w := range len(clients) {
		wg.Go(func() {
			for i := w; i < len(drafts); i += len(clients) {
				cs, err := clients[w].CreateCase(drafts[i])
				if err != nil {
					t.Errorf("create case %d on client %d: %v", i, w, err)
					continue
				}
				created[i] = cs
			}
		})
	}
	wg.Wait()
	seen := map[string]string{}
	for i, cs := range created {
		if cs == nil {
			continue
		}
		n := cs.GetCaseNumber()
		if n == "" {
			t.Errorf("case %s has no case number", cs.GetName())
		}
		if other, dup := seen[n]; dup {
			t.Errorf("case number %s given to %s and %s", n, other, cs.GetName())
		}
		seen[n] = cs.GetName()
		if i == 0 && cs.GetSchoolEnrollment() == nil {
			t.Fatalf("the first case is not the school case")
		}
	}
	if len(seen) != len(drafts) {
		t.Errorf("%d distinct case numbers for %d cases", len(seen), len(drafts))
	}
	return created
}

// concurrentUpdates: in each round every client sends an update carrying
// the same etag; exactly one wins, the rest are ABORTED, and the case ends
// as the last winner left it, with one history entry per win.
func concurrentUpdates(t *testing.T, clients []*client, cs *pb.Case) {
	const rounds = 4
	var last string
	for round := range rounds {
		cur, err := clients[round%len(clients)].GetCase(cs.GetName())
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for w, c := range clients {
			wg.Go(func() {
				school := fmt.Sprintf("丰都县第%d小学-%d", round+1, w)
				patch := &pb.Case{Name: cur.GetName(), Etag: cur.GetEtag(), Details: &pb.Case_SchoolEnrollment{
					SchoolEnrollment: &pb.SchoolEnrollment{RequestedSchool: school}}}
				_, err := c.UpdateCase(patch, "school_enrollment.requested_school")
				switch status.Code(err) {
				case codes.OK:
					wins.Add(1)
					winner.Store(school)
				case codes.Aborted:
				default:
					t.Errorf("round %d, client %d: %v", round, w, err)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d updates with one etag won, want exactly 1", round, n)
		}
		last = winner.Load().(string)
	}
	final, err := clients[1].GetCase(cs.GetName())
	if err != nil {
		t.Fatal(err)
	}
	if got := final.GetSchoolEnrollment().GetRequestedSchool(); got != last {
		t.Errorf("the case holds %q, the last winning update wrote %q: an update was lost", got, last)
	}
	h, err := clients[2].History(cs.GetName())
	if err != nil {
		t.Fatal(err)
	}
	updates := 0
	for _, entry := range h.GetEntries() {
		if strings.HasSuffix(entry.GetMethod(), "UpdateCase") {
			updates++
		}
	}
	if updates != rounds {
		t.Errorf("history holds %d updates, want one per round (%d)", updates, rounds)
	}
}

// feedOnce reads the change feed from the start, a page from each replica
// in turn: positions run 1, 2, 3… with no gap and no repeat, and every
// change made above is there exactly once.
func feedOnce(t *testing.T, clients []*client, cases []*pb.Case) {
	var events []*pb.Event
	after := int64(0)
	for i := 0; ; i++ {
		page, err := clients[i%len(clients)].ListEvents(after)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, page.GetEvents()...)
		if page.GetNextAfter() == after {
			break
		}
		after = page.GetNextAfter()
	}
	byType := map[string]int{}
	createdCases := map[string]int{}
	for i, ev := range events {
		if ev.GetPosition() != int64(i+1) {
			t.Fatalf("event %d has position %d: the feed has a gap or a repeat", i+1, ev.GetPosition())
		}
		byType[ev.GetType()]++
		if ev.GetType() == "CreateCase" {
			createdCases[ev.GetResource()]++
		}
	}
	want := map[string]int{"CreateHousehold": 6, "CreateMember": 18, "CreateCase": len(cases), "UpdateCase": 4}
	for typ, n := range want {
		if byType[typ] != n {
			t.Errorf("%d %s events, want %d", byType[typ], typ, n)
		}
	}
	for _, cs := range cases {
		if createdCases[cs.GetName()] != 1 {
			t.Errorf("%s created %d times in the feed", cs.GetName(), createdCases[cs.GetName()])
		}
	}
}

// jobsOnce starts six exports, two on each replica, and waits for them:
// each ran exactly once in all (the replicas' job counters add up to six),
// and no job of any kind, the periodic alert scans included, was ever
// attempted twice.
func jobsOnce(t *testing.T, e *env, reps []replica, clients []*client) {
	const exports = 6
	ops := make([]string, exports)
	var wg sync.WaitGroup
	for i := range exports {
		wg.Go(func() {
			c := clients[(2*i)%len(clients)] // gRPC on each replica
			sheets := pb.NewSpreadsheetServiceClient(c.conn)
			op, err := sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{Filter: "case_type = SCHOOL_ENROLLMENT"})
			if err != nil {
				t.Errorf("export %d: %v", i, err)
				return
			}
			ops[i] = op.GetName()
		})
	}
	wg.Wait()
	for i, name := range ops {
		if name == "" {
			continue
		}
		done := waitDone(t, pb.NewOperationServiceClient(clients[(2*i+2)%len(clients)].conn), name)
		if md := metadataOf(t, done); md.GetState() != pb.OperationMetadata_STATE_SUCCEEDED || md.GetRowsWritten() != 6 {
			t.Errorf("export %s: %v", name, md)
		}
	}
	// A job is counted once river reports it done, a moment after the
	// operation it ran says so.
	n := sumJobs(t, e, reps, "operation")
	for deadline := time.Now().Add(10 * time.Second); n < exports && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		n = sumJobs(t, e, reps, "operation")
	}
	if n != exports {
		t.Errorf("the replicas ran %v operation jobs in all, want %d (one each)", n, exports)
	}
	var retried, scans int64
	if err := e.db.Gorm.Raw(`SELECT count(*) FROM river_job WHERE attempt > 1`).Scan(&retried).Error; err != nil {
		t.Fatal(err)
	}
	if err := e.db.Gorm.Raw(`SELECT count(*) FROM river_job WHERE kind = 'alert_scan'`).Scan(&scans).Error; err != nil {
		t.Fatal(err)
	}
	if retried != 0 {
		t.Errorf("%d jobs were attempted more than once", retried)
	}
	if ran := sumJobs(t, e, reps, "alert_scan"); ran > float64(scans) {
		t.Errorf("the replicas ran %v alert scans for %d scan jobs inserted", ran, scans)
	}
}

// sumJobs adds up casework_jobs_total for kind over the replicas' /metrics.
func sumJobs(t *testing.T, e *env, reps []replica, kind string) float64 {
	t.Helper()
	total := 0.0
	for _, r := range reps {
		resp, err := e.http.Get(r.httpBase + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "casework_jobs_total{") || !strings.Contains(line, `kind="`+kind+`"`) {
				continue
			}
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			total += v
		}
		_ = resp.Body.Close()
	}
	return total
}

// hammer calls fn from every client as fast as it can for d and counts
// the calls admitted (anything but RESOURCE_EXHAUSTED) and refused.
func hammer(clients []*client, d time.Duration, fn func(c *client) error) (admitted, refused int64, took time.Duration) {
	var a, r atomic.Int64
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				if status.Code(fn(c)) == codes.ResourceExhausted {
					r.Add(1)
				} else {
					a.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return a.Load(), r.Load(), time.Since(start)
}

// sharedRateLimit: a batch principal hammering all three replicas over
// both transports gets its one bucket's worth (burst + rate × time), not
// three buckets' worth.
func sharedRateLimit(t *testing.T, e *env, reps []replica, cs *pb.Case) {
	tok := e.token(t, "e2e-batch-hammer", []principal.Role{principal.Batch}, "500230101")
	clients := replicaClients(t, e, reps, tok)
	admitted, refused, took := hammer(clients, 3*time.Second, func(c *client) error {
		_, err := c.GetCase(cs.GetName())
		return err
	})
	budget := float64(replicaBatchBurst) + replicaBatchRate*took.Seconds()
	t.Logf("rate limit: %d admitted, %d refused in %v over 3 replicas; one bucket allows %.1f, three %.1f",
		admitted, refused, took.Round(time.Millisecond), budget, 3*budget)
	if float64(admitted) > budget+2 {
		t.Errorf("%d calls admitted in %v; the shared limit allows %.1f (each replica its own would allow %.1f)",
			admitted, took, budget, 3*budget)
	}
	if admitted < replicaBatchBurst || refused == 0 {
		t.Errorf("%d admitted, %d refused: the hammer never met the limit", admitted, refused)
	}
}

// sharedLookupBudget: lookups that find a household spend one budget
// across the replicas; lookups that miss build one streak, and the replica
// that sees the fifth miss bars the caller on all three.
func sharedLookupBudget(t *testing.T, e *env, reps []replica) {
	hitTok := e.token(t, "e2e-lookup-hits", []principal.Role{principal.Supervisor})
	known := e.family(t, replicaClients(t, e, reps, e.token(t, supervisorUser, []principal.Role{principal.Supervisor}))[3])
	admitted, refused, took := hammer(replicaClients(t, e, reps, hitTok), 2*time.Second, func(c *client) error {
		_, err := c.LookupHousehold(known.household.GetServicemember().GetIdNumber())
		return err
	})
	t.Logf("lookup budget: %d admitted, %d refused in %v over 3 replicas (budget %d a minute)",
		admitted, refused, took.Round(time.Millisecond), replicaLookupLimit)
	if admitted < replicaLookupLimit || admitted > replicaLookupLimit+1 {
		t.Errorf("%d lookups admitted across the replicas, want the one budget of %d (each replica its own: %d)",
			admitted, replicaLookupLimit, 3*replicaLookupLimit)
	}

	missTok := e.token(t, "e2e-lookup-misses", []principal.Role{principal.Supervisor})
	clients := replicaClients(t, e, reps, missTok)
	for i := range len(clients) {
		_, err := clients[i].LookupHousehold(e.idNumber(day(1980, time.January, 1+i)))
		want := codes.NotFound
		if i >= missesBeforeSlowdownE2E {
			want = codes.ResourceExhausted
		}
		if got := status.Code(err); got != want {
			t.Errorf("lookup %d of unregistered numbers (replica %d): %v, want %v", i+1, i/2+1, got, want)
		}
	}
	var httpErr *httpError
	_, err := clients[1].LookupHousehold(e.idNumber(day(1980, time.February, 1)))
	if errors.As(err, &httpErr) && httpErr.httpStatus != http.StatusTooManyRequests {
		t.Errorf("a barred lookup over HTTP: %d, want 429", httpErr.httpStatus)
	}
	if slices.Contains([]codes.Code{codes.OK, codes.NotFound}, status.Code(err)) {
		t.Errorf("a barred caller's lookup was served: %v", err)
	}
}

// missesBeforeSlowdownE2E is the server's threshold of missed lookups in a
// row (server.missesBeforeSlowdown).
const missesBeforeSlowdownE2E = 5
