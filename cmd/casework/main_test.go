package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeOnEmbeddedDefault runs the serve command as the README does, on
// the embedded SQLite default, with its addresses given through environment
// variables, and checks that it migrates, serves and stops cleanly.
func TestServeOnEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	t.Setenv("CASEWORK_HTTP_ADDR", httpAddr)
	t.Setenv("CASEWORK_GRPC_ADDR", freeAddr(t))
	t.Setenv("CASEWORK_LOG_LEVEL", "warn")

	ctx, cancel := context.WithCancel(context.Background())
	cmd := root()
	cmd.SetArgs([]string{"serve", "--data-dir", dir})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	ready := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready = true
				break
			}
		}
	}
	if !ready {
		cancel()
		t.Fatalf("server not ready: %v", <-done)
	}
	if _, err := os.Stat(filepath.Join(dir, "casework.db")); err != nil {
		t.Errorf("embedded database not created in the data directory: %v", err)
	}
	if key, err := os.ReadFile(filepath.Join(dir, "page-token.key")); err != nil || len(key) < 32 {
		t.Errorf("page token key not generated: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}

	// The schema is current, so a server that must not migrate starts too,
	// and migrate status says so.
	var out bytes.Buffer
	status := root()
	status.SetOut(&out)
	status.SetArgs([]string{"migrate", "status", "--data-dir", dir})
	if err := status.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "schema version 1, newest available 1") {
		t.Fatalf("migrate status = %q", out.String())
	}
}

func TestServeRefusesUnmigratedSchema(t *testing.T) {
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	cmd := root()
	cmd.SetArgs([]string{"serve", "--data-dir", t.TempDir(), "--migrate=false",
		"--grpc-addr", freeAddr(t), "--http-addr", freeAddr(t)})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "casework migrate") {
		t.Fatalf("serve on an empty database without --migrate = %v; want a refusal naming `casework migrate`", err)
	}
}

func TestEnvironmentSetsDefaults(t *testing.T) {
	t.Setenv("CASEWORK_REQUEST_TIMEOUT", "7s")
	t.Setenv("CASEWORK_MIGRATE", "false")
	var s settings
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	s.bind(fs, true)
	if s.RequestTimeout != 7*time.Second || s.MigrateOnStart {
		t.Fatalf("env not applied: timeout %v, migrate %v", s.RequestTimeout, s.MigrateOnStart)
	}
	if err := fs.Parse([]string{"--request-timeout", "9s"}); err != nil {
		t.Fatal(err)
	}
	if s.RequestTimeout != 9*time.Second {
		t.Fatalf("flag does not win over env: %v", s.RequestTimeout)
	}
}
