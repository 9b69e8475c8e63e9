package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
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
	// The statistics' monthly counts are recounted from the facts.
	recount := root()
	recount.SetArgs([]string{"migrate", "recount", "--data-dir", dir})
	if err := recount.Execute(); err != nil {
		t.Fatalf("migrate recount: %v", err)
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

	// No key yet (the server makes it on its first start): refused, naming
	// the directory, unless asked to make one.
	if out, err := runErr(t, "token", "--data-dir", dir, "--user", "u1", "--roles", "caseworker"); err == nil || !strings.Contains(err.Error()+out, dir) {
		t.Fatalf("token with no key in %s: %v %q, want a refusal naming the directory", dir, err, out)
	}
	tok := strings.TrimSpace(run(t, "token", "--data-dir", dir, "--new-key", "--user", "u1", "--roles", "caseworker", "--towns", "500230001"))
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

	before, err := sealed.Load(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	rotated := run(t, "keys", "rotate", "--data-dir", dir)
	if !strings.Contains(rotated, "new active key") || !strings.Contains(rotated, "done:") {
		t.Fatalf("keys rotate printed %q", rotated)
	}
	after, err := sealed.Load(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	if after.ActiveAuditKeyID() == before.ActiveAuditKeyID() || !strings.Contains(rotated, after.ActiveAuditKeyID()) {
		t.Fatalf("keys rotate left the audit key at %q (printed %q)", after.ActiveAuditKeyID(), rotated)
	}
	if _, err := after.AuditMAC(before.ActiveAuditKeyID()); err != nil {
		t.Fatalf("keys rotate dropped the older audit key: %v", err)
	}
	if out := run(t, "apikey", "revoke", "--data-dir", dir, name); !strings.Contains(out, "revoked") {
		t.Fatalf("apikey revoke printed %q", out)
	}
	// Creating and revoking the key are two audited changes, hashed under
	// the audit keys before and after the rotation.
	if out := run(t, "audit", "verify", "--data-dir", dir); !strings.Contains(out, "audit chain intact: 2 entries") {
		t.Fatalf("audit verify printed %q", out)
	}
	var keyIDs []string
	if err := sqliteIn(t, dir).Raw("SELECT key_id FROM audit_log ORDER BY seq").Scan(&keyIDs).Error; err != nil {
		t.Fatal(err)
	}
	if len(keyIDs) != 2 || keyIDs[0] != before.ActiveAuditKeyID() || keyIDs[1] != after.ActiveAuditKeyID() {
		t.Fatalf("audit entries under keys %q, want %q then %q", keyIDs, before.ActiveAuditKeyID(), after.ActiveAuditKeyID())
	}
}

// runErr executes the casework command with args and returns what it
// printed and its error.
func runErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := root()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// startServe runs `casework serve` with args on free ports until the test
// ends, and returns its HTTP address once it is ready.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	httpAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := root()
	cmd.SetArgs(append([]string{"serve", "--grpc-addr", freeAddr(t), "--http-addr", httpAddr, "--shutdown-drain", "0"}, args...))
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve stopped early: %v", err)
		default:
		}
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return httpAddr
			}
		}
	}
	t.Fatal("serve not ready within 20s")
	return ""
}

// serveAWhile runs `casework serve` with args until until reports true
// (or 20 seconds pass), then stops it.
func serveAWhile(t *testing.T, until func() bool, args ...string) {
	t.Helper()
	t.Run("serve", func(t *testing.T) {
		startServe(t, args...)
		for deadline := time.Now().Add(20 * time.Second); !until() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
	})
	if !until() {
		t.Fatal("serve did not get there within 20s")
	}
}

// sqliteIn opens the embedded database of a data directory, as someone
// with access to the file could.
func sqliteIn(t *testing.T, dir string) *gorm.DB {
	t.Helper()
	db, _, err := repository.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}

func execSQL(t *testing.T, db *gorm.DB, query string, args ...any) {
	t.Helper()
	if err := db.Exec(query, args...).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestAuditVerifyAnchor runs `audit verify --anchor` against the anchor
// file a real server wrote, before and after the audit log is cut short
// and then written on past the cut, which the chain alone cannot show.
func TestAuditVerifyAnchor(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	anchors := filepath.Join(dir, "anchors", "audit.jsonl")
	if err := os.MkdirAll(filepath.Dir(anchors), 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "migrate", "--data-dir", dir)
	run(t, "apikey", "create", "--data-dir", dir, "--account", "veterans-affairs", "--roles", "integration")
	run(t, "apikey", "create", "--data-dir", dir, "--account", "nightly-import", "--roles", "batch")

	serveAWhile(t, func() bool {
		data, _ := os.ReadFile(anchors)
		return strings.Contains(string(data), `"sequence":2`)
	}, "--data-dir", dir, "--audit-anchor-file", anchors, "--audit-anchor-interval", "20ms")
	if fi, err := os.Stat(anchors); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("anchor file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	out := run(t, "audit", "verify", "--data-dir", dir, "--anchor", anchors)
	if !strings.Contains(out, "audit chain intact: 2 entries") || !strings.Contains(out, "anchors: all 1 match") {
		t.Fatalf("audit verify --anchor on an untouched log printed %q", out)
	}

	// Someone with the database file cuts the last entry and sets the head
	// back: the chain that is left is intact, and only the anchor knows.
	db := sqliteIn(t, dir)
	execSQL(t, db, "DROP TRIGGER audit_log_no_delete")
	execSQL(t, db, "DELETE FROM audit_log WHERE seq = 2")
	execSQL(t, db, "UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE id = 1")
	if out := run(t, "audit", "verify", "--data-dir", dir); !strings.Contains(out, "audit chain intact: 1 entries") {
		t.Fatalf("audit verify of the cut log printed %q", out)
	}
	out, err := runErr(t, "audit", "verify", "--data-dir", dir, "--anchor", anchors)
	if err == nil || !strings.Contains(out, "anchor of entry 2") || !strings.Contains(out, "history truncated: the chain ends at entry 1") {
		t.Fatalf("audit verify --anchor after a cut = %v, printed %q; want a failure reporting the truncation", err, out)
	}

	// Written on past the cut, the chain is whole again but is not the
	// history the anchor recorded.
	run(t, "apikey", "create", "--data-dir", dir, "--account", "other-system", "--roles", "batch")
	if out := run(t, "audit", "verify", "--data-dir", dir); !strings.Contains(out, "audit chain intact: 2 entries") {
		t.Fatalf("audit verify printed %q", out)
	}
	out, err = runErr(t, "audit", "verify", "--data-dir", dir, "--anchor", anchors)
	if err == nil || !strings.Contains(out, "history rewritten") {
		t.Fatalf("audit verify --anchor after a rewrite = %v, printed %q; want a failure reporting the rewrite", err, out)
	}

	// A damaged anchor file is an error, not a pass.
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("not an anchor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runErr(t, "audit", "verify", "--data-dir", dir, "--anchor", bad); err == nil {
		t.Fatalf("audit verify with a damaged anchor file passed: %q", out)
	}
}

// TestExistingDeploymentUpgrades starts the server on a deployment from
// before audit keys: a version 1 keyring and unkeyed entries. The server
// gives the keyring its audit key on start, entries from then on are
// keyed, and the old ones still verify.
func TestExistingDeploymentUpgrades(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	path := filepath.Join(dir, "keyring.json")
	keys, err := sealed.Generate()
	if err != nil {
		t.Fatal(err)
	}
	data, err := keys.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = 1
	delete(doc, "audit_active")
	delete(doc, "audit_keys")
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "migrate", "--data-dir", dir)
	// Two entries as the server wrote them before: plain SHA-256, no key
	// (and before the migration that refuses such entries).
	db := sqliteIn(t, dir)
	execSQL(t, db, "DROP TRIGGER audit_log_keyed")
	prev := audit.GenesisHash
	for seq := int64(1); seq <= 2; seq++ {
		e := &audit.Entry{Seq: seq, Time: time.Now().UTC().Truncate(time.Microsecond), Principal: "cli:old", Method: "casework apikey create",
			Resource: "apiKeys/old", Action: audit.ActionChange, Outcome: audit.OutcomeOK, PrevHash: prev}
		if e.Hash, err = e.ComputeHash(nil); err != nil {
			t.Fatal(err)
		}
		execSQL(t, db, "INSERT INTO audit_log (seq, time, principal, roles, credential, method, resource, action, request_id, client_addr, outcome, fields, prev_hash, hash) VALUES (?, ?, ?, '', '', ?, ?, ?, '', '', ?, '', ?, ?)",
			e.Seq, e.Time, e.Principal, e.Method, e.Resource, e.Action, e.Outcome, e.PrevHash, e.Hash)
		prev = e.Hash
	}
	execSQL(t, db, "UPDATE audit_head SET seq = 2, hash = ? WHERE id = 1", prev)

	upgraded := func() bool {
		k, err := sealed.Load(path)
		return err == nil && k.ActiveAuditKeyID() != ""
	}
	serveAWhile(t, upgraded, "--data-dir", dir)
	k, err := sealed.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if k.UnkeyedAuditUntil() != 2 {
		t.Fatalf("upgraded keyring lets entries up to %d be unkeyed, want the chain's length then, 2", k.UnkeyedAuditUntil())
	}
	if got, err := k.Open(mustSealWith(t, keys), "households.phone"); err != nil || got != "13800000000" {
		t.Fatalf("the upgrade lost a data key: %q, %v", got, err)
	}
	run(t, "apikey", "create", "--data-dir", dir, "--account", "veterans-affairs", "--roles", "integration")
	var keyID string
	if err := db.Raw("SELECT key_id FROM audit_log WHERE seq = 3").Scan(&keyID).Error; err != nil || keyID != k.ActiveAuditKeyID() {
		t.Fatalf("entry 3 under audit key %q (%v), want %q", keyID, err, k.ActiveAuditKeyID())
	}
	if out := run(t, "audit", "verify", "--data-dir", dir); !strings.Contains(out, "audit chain intact: 3 entries") {
		t.Fatalf("audit verify after the upgrade printed %q", out)
	}
}

func mustSealWith(t *testing.T, k *sealed.Keyring) string {
	t.Helper()
	s, err := k.Seal("13800000000", "households.phone")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServerPicksUpRotatedAuditKey rotates the keys while a server runs and
// checks that the server's next audit entry is under the new audit key, as
// its next sealed value is under the new data key.
func TestServerPicksUpRotatedAuditKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	// Restored after the server has stopped (cleanups run last first).
	saved := keyringCheckInterval
	t.Cleanup(func() { keyringCheckInterval = saved })
	keyringCheckInterval = 0 // every call looks at the file
	run(t, "migrate", "--data-dir", dir)
	addr := startServe(t, "--data-dir", dir)
	token := strings.TrimSpace(run(t, "token", "--data-dir", dir, "--user", "u1", "--roles", "caseworker", "--towns", "500230001"))
	// A refused call is audited: one entry per call.
	refused := func() {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/auditLogs", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a caseworker listing the audit log: HTTP %d, want 403", resp.StatusCode)
		}
	}
	refused()
	before, err := sealed.Load(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	run(t, "keys", "rotate", "--data-dir", dir)
	after, err := sealed.Load(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	refused()
	var keyIDs []string
	if err := sqliteIn(t, dir).Raw("SELECT key_id FROM audit_log ORDER BY seq").Scan(&keyIDs).Error; err != nil {
		t.Fatal(err)
	}
	if len(keyIDs) != 2 || keyIDs[0] != before.ActiveAuditKeyID() || keyIDs[1] != after.ActiveAuditKeyID() {
		t.Fatalf("the server's entries are under audit keys %q; want %q, then the rotated %q", keyIDs, before.ActiveAuditKeyID(), after.ActiveAuditKeyID())
	}
	if out := run(t, "audit", "verify", "--data-dir", dir); !strings.Contains(out, "audit chain intact: 2 entries") {
		t.Fatalf("audit verify printed %q", out)
	}
}
