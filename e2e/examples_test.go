package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// The examples under examples/ are a module of their own that requires this
// one, as a county system's code would; these scenarios build and run them
// against a real server.

var (
	followerOnce sync.Once
	followerBin  string
	followerErr  error
)

// feedFollower builds examples/feedfollower once per test binary.
func feedFollower(t *testing.T) string {
	t.Helper()
	followerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "casework-examples-")
		if err != nil {
			followerErr = err
			return
		}
		followerBin = filepath.Join(dir, "feedfollower")
		cmd := exec.Command("go", "build", "-o", followerBin, "./feedfollower")
		cmd.Dir = filepath.Join("..", "examples")
		if out, err := cmd.CombinedOutput(); err != nil {
			followerErr = &buildError{out: string(out), err: err}
		}
	})
	if followerErr != nil {
		t.Fatalf("build examples/feedfollower: %v", followerErr)
	}
	return followerBin
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// testExampleFeedFollower kills the example follower at random moments while
// writers change data on two servers, restarts it each time, and checks
// that its file ends up holding every event exactly once, in order.
func testExampleFeedFollower(t *testing.T, e *env) {
	bin := feedFollower(t)
	_, conn2 := e.secondServer(t)
	addrs := []string{e.grpcAddr, conn2.Target()}
	token := e.roleToken(t, principal.Integration)
	out := filepath.Join(t.TempDir(), "events.jsonl")

	const writers, perWriter = 3, 10
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := e.conn
			if w%2 == 1 {
				conn = conn2
			}
			hs := pb.NewHouseholdServiceClient(conn)
			for range perWriter {
				if _, err := hs.CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{Household: e.newHousehold()}); err != nil {
					failed.Store(err)
					return
				}
				time.Sleep(80 * time.Millisecond)
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	total := writers * perWriter
	deadline := time.Now().Add(60 * time.Second)
	for runs := 0; ; runs++ {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "-addr", addrs[rng.IntN(2)], "-out", out)
		cmd.Env = append(os.Environ(), "CASEWORK_TOKEN="+token)
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			t.Fatalf("follower exited by itself: %v: %s", err, stderr.String())
		case <-time.After(time.Duration(30+rng.IntN(200)) * time.Millisecond):
		}
		_ = cmd.Process.Kill() // SIGKILL: no chance to tidy up
		<-exited
		select {
		case <-writersDone:
			if n := len(readEvents(t, out)); n >= total {
				if err, _ := failed.Load().(error); err != nil {
					t.Fatalf("writer: %v", err)
				}
				checkExactlyOnce(t, readEvents(t, out), total)
				t.Logf("%d events written exactly once across %d kills", total, runs+1)
				return
			}
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d runs the follower holds %d of %d events", runs, len(readEvents(t, out)), total)
		}
	}
}

// readEvents parses the follower's complete lines.
func readEvents(t *testing.T, path string) []*pb.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []*pb.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		ev := &pb.Event{}
		if err := protojson.Unmarshal(sc.Bytes(), ev); err != nil {
			continue // a partial last line, cut off on the next start
		}
		out = append(out, ev)
	}
	return out
}

func checkExactlyOnce(t *testing.T, evs []*pb.Event, total int) {
	t.Helper()
	if len(evs) != total {
		t.Fatalf("%d events in the follower's file, want %d", len(evs), total)
	}
	for i, ev := range evs {
		if ev.GetPosition() != int64(i+1) {
			t.Fatalf("line %d holds position %d: every event exactly once, in order", i+1, ev.GetPosition())
		}
	}
}

// testExampleBatchImport runs examples/batch-import.sh through a proxy that
// loses the answer to the first attempt after the server has acted on it:
// the script retries with the same request id and nothing is created twice.
func testExampleBatchImport(t *testing.T, e *env) {
	dir := t.TempDir()
	var rows []*pb.Household
	for range 20 {
		rows = append(rows, e.newHousehold())
	}
	write := func(name string, hs []*pb.Household) string {
		var items []string
		for _, h := range hs {
			b, err := protojson.Marshal(&pb.CreateHouseholdRequest{Household: h})
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, string(b))
		}
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte("{\n  \"requests\": [\n"+strings.Join(items, ",\n")+"\n  ]\n}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	file := write("households.json", rows)
	proxy := lossyProxy(t, e.httpBase, 1)
	script, err := filepath.Abs(filepath.Join("..", "examples", "batch-import.sh"))
	if err != nil {
		t.Fatal(err)
	}
	token := e.roleToken(t, principal.Batch)
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("examples/batch-import.sh needs jq: %v", err)
	}
	var env []string // more of the script's settings, for a run
	run := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Env = append(append(os.Environ(), "CASEWORK_URL="+proxy, "CASEWORK_TOKEN="+token), env...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	stdout, stderr, err := run(file)
	if err != nil || !strings.Contains(stdout, "created 20 households") || !strings.Contains(stderr, "HTTP 000") {
		t.Fatalf("first run: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	if n := e.countHouseholds(t); n != 20 {
		t.Fatalf("%d households after a retried batch, want 20", n)
	}
	// The nightly job runs again on the same file: still 20.
	if stdout, stderr, err := run(file); err != nil || !strings.Contains(stdout, "created 20 households") {
		t.Fatalf("second run: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	if n := e.countHouseholds(t); n != 20 {
		t.Fatalf("%d households after running the job twice, want 20", n)
	}

	// A refused batch: the script stops, shows which item, creates nothing.
	bad := filepath.Join(dir, "bad.json")
	b, _ := protojson.Marshal(&pb.CreateHouseholdRequest{Household: e.newHousehold(func(h *pb.Household) { h.TownCode = "bad" })})
	good, _ := protojson.Marshal(&pb.CreateHouseholdRequest{Household: e.newHousehold()})
	if err := os.WriteFile(bad, []byte(`{"requests":[`+string(good)+","+string(b)+"]}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = run(bad)
	if err == nil || !strings.Contains(stderr, "HTTP 400") || !strings.Contains(stderr, "requests[1].household.town_code") {
		t.Errorf("refused batch: %v\nstderr: %s", err, stderr)
	}
	if n := e.countHouseholds(t); n != 20 {
		t.Errorf("%d households after a refused batch, want 20", n)
	}

	// The file changes: two phones, three new rows. Re-run with UPDATE,
	// it reports each row, and the unchanged ones write nothing.
	changed := slices.Clone(rows)
	for _, i := range []int{3, 11} {
		changed[i] = proto.Clone(rows[i]).(*pb.Household)
		changed[i].Phone = fmt.Sprintf("1390000%04d", i)
	}
	for range 3 {
		changed = append(changed, e.newHousehold())
	}
	head := e.eventHead(t)
	env = []string{"CASEWORK_EXISTING=UPDATE"}
	stdout, stderr, err = run(write("changed.json", changed))
	if err != nil || !strings.Contains(stdout, "created 3 households, updated 2, unchanged 18, skipped 0, refused 0") {
		t.Fatalf("re-run with UPDATE: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	for _, want := range []string{"row 0: unchanged households/", "row 3: updated households/", "row 11: updated households/", "row 22: created households/"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("re-run output lacks %q:\n%s", want, stdout)
		}
	}
	if n, events := e.countHouseholds(t), e.eventHead(t)-head; n != 23 || events != 5 {
		t.Errorf("after the re-run: %d households, %d events; want 23 and 5 (3 created, 2 updated)", n, events)
	}

	// With partial success a refused row is reported and the rest written.
	env = []string{"CASEWORK_EXISTING=SKIP", "CASEWORK_PARTIAL=1"}
	wrong := e.newHousehold(func(h *pb.Household) { h.Servicemember.IdNumber = "500230199004120000" })
	stdout, stderr, err = run(write("partial.json", []*pb.Household{rows[0], wrong, e.newHousehold()}))
	if err != nil || !strings.Contains(stdout, "created 1 households, updated 0, unchanged 0, skipped 1, refused 1") ||
		!strings.Contains(stdout, "row 1: refused INVALID_ARGUMENT (requests[1].household.servicemember.id_number)") {
		t.Fatalf("partial run: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
}

// lossyProxy forwards HTTP requests to target, but for the first lose
// requests it drops the connection after the server has answered, so the
// client never sees the answer to a request that took effect.
func lossyProxy(t *testing.T, target string, lose int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if n.Add(1) <= int64(lose) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}
