package main

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/internal/testdb"
)

// TestBackupRestore follows docs/operations.md's backup and restore
// runbook on PostgreSQL: pg_dump of a live database, pg_restore into a
// fresh one, and the restored copy passes `casework audit verify` with the
// keyring kept beside the dump, and fails it with any other keyring.
func TestBackupRestore(t *testing.T) {
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed under CI", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	src := testdb.Postgres(t)
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.json")
	with := func(dbURL, keys string, args ...string) []string {
		return append(args, "--database-url", dbURL, "--keyring", keys, "--data-dir", dir)
	}
	run(t, with(src.URL, keyring, "migrate")...)
	created := run(t, with(src.URL, keyring, "apikey", "create", "--account", "nightly-batch", "--roles", "batch")...)
	name := strings.Fields(strings.SplitN(created, "\n", 2)[0])[1]
	run(t, with(src.URL, keyring, "apikey", "revoke", name)...)
	if out := run(t, with(src.URL, keyring, "audit", "verify")...); !strings.Contains(out, "audit chain intact: 2 entries") {
		t.Fatalf("audit verify on the source printed %q", out)
	}

	dump := filepath.Join(dir, "casework.dump")
	pg(t, "pg_dump", "--format=custom", "--file", dump, src.URL)
	restored := testdb.EmptyPostgres(t)
	pg(t, "pg_restore", "--no-owner", "--exit-on-error", "--dbname", restored, dump)

	if out := run(t, with(restored, keyring, "audit", "verify")...); !strings.Contains(out, "audit chain intact: 2 entries") {
		t.Fatalf("audit verify on the restored copy printed %q", out)
	}
	// The restored schema is the dumped one, so the server starts on it
	// without migrating.
	status := regexp.MustCompile(`schema version (\d+), newest available (\d+)`).FindStringSubmatch(
		run(t, with(restored, keyring, "migrate", "status")...))
	if status == nil || status[1] != status[2] {
		t.Fatalf("migrate status on the restored copy: %q", status)
	}
	if got, want := tableCounts(t, restored), tableCounts(t, src.URL); !maps.Equal(got, want) {
		t.Fatalf("restored row counts %v; the source had %v", got, want)
	}
	// The audit chain is keyed: a restore without the keyring kept with
	// the dump cannot be verified, which is why the runbook backs both up.
	other := filepath.Join(t.TempDir(), "keyring.json")
	if _, err := sealed.LoadOrCreate(other); err != nil {
		t.Fatal(err)
	}
	if out, err := runErr(t, with(restored, other, "audit", "verify")...); err == nil {
		t.Fatalf("audit verify with another keyring passed: %q", out)
	}
}

func pg(t *testing.T, tool string, args ...string) {
	t.Helper()
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

// tableCounts counts the rows of every table of the public schema.
func tableCounts(t *testing.T, dbURL string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, tbl := range tables {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM "`+tbl+`"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[tbl] = n
	}
	return counts
}
