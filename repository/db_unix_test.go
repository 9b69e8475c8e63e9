//go:build unix

package repository_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fengdu-county/casework/repository"
)

// TestSQLiteFilesPrivate: the embedded database, its WAL companions and
// the data directory are the owner's alone, whatever the umask lets
// through; a database file an older version left readable is narrowed.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, which leaves files world-readable
	t.Cleanup(func() { syscall.Umask(old) })

	dataDir := filepath.Join(t.TempDir(), "data")
	open := func(url string) {
		t.Helper()
		db, _, err := repository.Open(context.Background(), url, dataDir)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			t.Fatal(err)
		}
		// A write, so SQLite creates its -wal and -shm files.
		if err := db.Exec("CREATE TABLE IF NOT EXISTS probe (x INTEGER); INSERT INTO probe VALUES (1)").Error; err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sqlDB.Close() })
	}
	wantMode := func(path string, want fs.FileMode) {
		t.Helper()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", filepath.Base(path), got, want)
		}
	}

	open("")
	db := filepath.Join(dataDir, "casework.db")
	wantMode(dataDir, 0o700)
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		wantMode(f, 0o600)
	}

	// sqlite:PATH is held to the same rule, and an old world-readable file
	// is narrowed when it is opened.
	other := filepath.Join(t.TempDir(), "other.db")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	open("sqlite:" + other)
	for _, f := range []string{other, other + "-wal", other + "-shm"} {
		wantMode(f, 0o600)
	}
}
