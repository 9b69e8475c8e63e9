package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

// tcpProxy forwards connections to a database, and can cut them all and
// refuse new ones, as a network failure or a database going down would.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	lis          net.Listener
	conns        []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = lis.Addr().String()
	p.serve(lis)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(lis net.Listener) {
	p.mu.Lock()
	p.lis = lis
	p.mu.Unlock()
	go func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

// cut closes the listener and every forwarded connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lis != nil {
		p.lis.Close()
		p.lis = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *tcpProxy) restore(t *testing.T) {
	t.Helper()
	lis, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", p.addr, err)
	}
	p.serve(lis)
}

// TestDatabaseOutage cuts the server off its PostgreSQL (through a proxy the
// test controls) and brings it back: meanwhile calls fail at once with
// UNAVAILABLE / 503, readiness and gRPC health say so, and nothing is half
// written; afterwards the server serves again by itself, and a retry with
// the same request id makes the change once.
func TestDatabaseOutage(t *testing.T) {
	var proxy *tcpProxy
	e := startBare(t, func(t testing.TB) testdb.DB {
		db := testdb.Postgres(t)
		u, err := url.Parse(db.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxy = newTCPProxy(t.(*testing.T), u.Host)
		u.Host = proxy.addr
		gdb, dialect, err := repository.Open(context.Background(), u.String(), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if sqlDB, err := gdb.DB(); err == nil {
				_ = sqlDB.Close()
			}
		})
		return testdb.DB{Gorm: gdb, Dialect: dialect, URL: u.String(), Keyring: db.Keyring}
	})
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) {
		c.HealthInterval = 50 * time.Millisecond
	})
	c := e.grpcClient(t)
	households := pb.NewHouseholdServiceClient(e.conn)
	health := healthpb.NewHealthClient(e.conn)
	must(c.CreateHousehold(e.newHousehold())).ok(t)
	count := func() int {
		return len(must(households.ListHouseholds(ctxFor(t), &pb.ListHouseholdsRequest{PageSize: 100})).ok(t).GetHouseholds())
	}
	if n := count(); n != 1 {
		t.Fatalf("%d households before the outage", n)
	}
	healthIs := func(want healthpb.HealthCheckResponse_ServingStatus) func() bool {
		return func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			r, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
			return err == nil && r.GetStatus() == want
		}
	}
	readyz := func() int {
		resp, err := http.Get(e.httpBase + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	proxy.cut()
	retried := newHouseholdRequest(e, "outage-0001")
	start := time.Now()
	_, err := households.CreateHousehold(ctxFor(t), retried)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a call during the outage took %v; it must fail at once", took)
	}
	st := status.Convert(err)
	if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "database") {
		t.Fatalf("CreateHousehold during the outage = %v %q; want UNAVAILABLE naming the database", st.Code(), st.Message())
	}
	wantReason(t, st, pb.ErrorReason_DATABASE_UNAVAILABLE)
	code, body := e.rawHTTP(t, http.MethodGet, "/v1/households", nil, 0)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "DATABASE_UNAVAILABLE") {
		t.Errorf("GET /v1/households during the outage = %d %s; want 503 DATABASE_UNAVAILABLE", code, body)
	}
	if got := readyz(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage = %d; want 503", got)
	}
	waitFor(t, "gRPC health NOT_SERVING during the outage", healthIs(healthpb.HealthCheckResponse_NOT_SERVING))

	proxy.restore(t)
	waitFor(t, "gRPC health SERVING after the outage", healthIs(healthpb.HealthCheckResponse_SERVING))
	waitFor(t, "/readyz 200 after the outage", func() bool { return readyz() == http.StatusOK })
	// Nothing of the failed call was written; its retry makes it once.
	if n := count(); n != 1 {
		t.Fatalf("%d households after the outage; the failed create left something", n)
	}
	must(households.CreateHousehold(ctxFor(t), retried)).ok(t)
	must(households.CreateHousehold(ctxFor(t), retried)).ok(t) // a replay
	if n := count(); n != 2 {
		t.Fatalf("%d households after the retries; want 2", n)
	}
}

func newHouseholdRequest(e *env, requestID string) *pb.CreateHouseholdRequest {
	return &pb.CreateHouseholdRequest{Household: e.newHousehold(), RequestId: requestID}
}
