package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
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
	dir := filepath.Join(t.TempDir(), "data") // serve creates it
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
	if runtime.GOOS != "windows" {
		// The database holds names and case details in clear: the owner's only.
		for name, want := range map[string]os.FileMode{"": 0o700, "casework.db": 0o600, "casework.db-wal": 0o600, "casework.db-shm": 0o600} {
			if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != want {
				t.Errorf("data directory entry %q: %v (%v), want mode %v", name, info.Mode().Perm(), err, want)
			}
		}
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
	var current, latest int
	if _, err := fmt.Sscanf(out.String(), "dialect sqlite: schema version %d, newest available %d", &current, &latest); err != nil || current != latest || current == 0 {
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

// TestWebhookAllowNetworks: the allow-list comes from the environment or
// the flag, and a malformed one stops the server from starting.
func TestWebhookAllowNetworks(t *testing.T) {
	t.Setenv("CASEWORK_WEBHOOK_ALLOW_NETWORKS", "10.20.0.0/16, receiver.county.internal")
	var s settings
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	s.bind(fs, true)
	o, err := s.webhooks()
	if err != nil {
		t.Fatal(err)
	}
	if !o.Allow.Allows(netip.MustParseAddr("10.20.1.1")) || o.Allow.Allows(netip.MustParseAddr("10.21.1.1")) {
		t.Fatal("the allow-list from the environment is not the one applied")
	}
	if o.Allow.Allows(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("loopback is allowed without being listed")
	}
	if err := fs.Parse([]string{"--webhook-allow-networks", "10.0.0.0/33"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.webhooks(); err == nil || !strings.Contains(err.Error(), "--webhook-allow-networks") {
		t.Fatalf("a malformed allow-list: %v, want an error naming the flag", err)
	}
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	cmd := root()
	cmd.SetArgs([]string{"serve", "--data-dir", t.TempDir(), "--grpc-addr", freeAddr(t), "--http-addr", freeAddr(t),
		"--webhook-allow-networks", "not a network"})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--webhook-allow-networks") {
		t.Fatalf("serve with a malformed allow-list = %v", err)
	}
}

// run executes the casework command with args and returns what it printed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := root()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("casework %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestOperatorCommands walks what an operator does from the shell: migrate,
// mint a token, manage API keys, rotate the sealing key, verify the audit
// chain. Each step reads what the previous one wrote.
func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	run(t, "migrate", "--data-dir", dir)

	tok := strings.TrimSpace(run(t, "token", "--data-dir", dir, "--user", "u1", "--roles", "caseworker", "--towns", "500230001"))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("token is not a JWT: %q", tok)
	}

	created := run(t, "apikey", "create", "--data-dir", dir, "--account", "veterans-affairs", "--roles", "integration")
	if !strings.Contains(created, "key (shown once): cwk_") {
		t.Fatalf("apikey create printed %q", created)
	}
	name := strings.Fields(strings.SplitN(created, "\n", 2)[0])[1]
	if list := run(t, "apikey", "list", "--data-dir", dir); !strings.Contains(list, "veterans-affairs") || strings.Contains(list, "cwk_") {
		t.Fatalf("apikey list = %q (want the account, never a secret)", list)
	}

	rotated := run(t, "keys", "rotate", "--data-dir", dir)
	if !strings.Contains(rotated, "new active key") || !strings.Contains(rotated, "done:") {
		t.Fatalf("keys rotate printed %q", rotated)
	}
	if out := run(t, "apikey", "revoke", "--data-dir", dir, name); !strings.Contains(out, "revoked") {
		t.Fatalf("apikey revoke printed %q", out)
	}
	// Creating and revoking the key are two audited changes.
	if out := run(t, "audit", "verify", "--data-dir", dir); !strings.Contains(out, "audit chain intact: 2 entries") {
		t.Fatalf("audit verify printed %q", out)
	}
}
