package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/fengdu-county/casework/server"
)

// testShutdown stops a server, as SIGTERM does, while a call is in flight:
// readiness turns false on both transports first while the server still
// serves, the call in flight is answered in full, the listeners then stop
// accepting, and Run returns no error.
func testShutdown(t *testing.T, e *env) {
	const drain = 800 * time.Millisecond
	srv, stop := e.runServer(t, e.db.Store(), func(c *server.Config) {
		c.ShutdownDrain, c.ShutdownTimeout = drain, 10*time.Second
	})
	t.Cleanup(func() { _ = stop() })
	base := "http://" + srv.HTTPAddr()
	e.httpBase, e.grpcAddr = base, srv.GRPCAddr()
	health := healthpb.NewHealthClient(e.dialAddr(t, srv.GRPCAddr(), ""))
	e.waitReady(t, base, e.dialAddr(t, srv.GRPCAddr(), ""))

	// A slow client: the request's head and half its body are sent, the
	// rest only once shutdown has begun.
	body := fmt.Sprintf(`{"servicemember":{"name":"刘强","idNumber":%q,"serviceBranch":"SERVICE_BRANCH_NAVY","postType":"POST_TYPE_BORDER_COASTAL_DEFENCE",
		"status":"SERVICEMEMBER_STATUS_ACTIVE_OFFICER"},"townCode":"500230102"}`, e.idNumber(servicememberBirth))
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctxFor(t), http.MethodPost, base+"/v1/households", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	answered := make(chan *http.Response, 1)
	failed := make(chan error, 1)
	go func() {
		resp, err := e.http.Do(req)
		if err != nil {
			failed <- err
			return
		}
		answered <- resp
	}()
	if _, err := pw.Write([]byte(body[:len(body)/2])); err != nil {
		t.Fatal(err)
	}
	// The write returns once the transport has taken the bytes; give the
	// server a moment to accept the connection and start the handler.
	time.Sleep(200 * time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	// Draining: both readiness checks say no while the listeners still
	// answer them.
	waitFor(t, "readiness to turn false while draining", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	h, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
	cancel()
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health while draining = %v, %v; want NOT_SERVING", h.GetStatus(), err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) with a call in flight", err)
	default:
	}

	// The rest of the body, after the drain: the call is answered in full.
	time.Sleep(drain)
	if _, err := pw.Write([]byte(body[len(body)/2:])); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	select {
	case resp := <-answered:
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var got struct{ Name string }
		if err := json.Unmarshal(out, &got); err != nil || resp.StatusCode != http.StatusOK || got.Name == "" {
			t.Fatalf("the call in flight was answered %d %s; want 200 and the household", resp.StatusCode, out)
		}
	case err := <-failed:
		t.Fatalf("the call in flight failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the call in flight was not answered")
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run returned %v; want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop after its last call")
	}
	// Stopped: neither listener accepts.
	for _, addr := range []string{srv.HTTPAddr(), srv.GRPCAddr()} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the server stopped", addr)
		}
	}
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
			t.Error("gRPC health answered after the server stopped")
		}
		cancel()
		conn.Close()
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
