// Package repository stores households, members, cases, their notes and
// history through gorm, on PostgreSQL in production and on an embedded SQLite
// file by default. Both dialects share one implementation; the conformance
// suite in repository/storetest holds each of them to the same behaviour.
package repository

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names a supported database.
type Dialect string

// The dialects the store runs on.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

//go:embed migrations
var migrations embed.FS

// PostgresPoolSize is how many connections a server opens to PostgreSQL
// at most.
const PostgresPoolSize = 20

// Open connects to the database that url names: a postgres:// or
// postgresql:// URL, or sqlite:PATH. An empty url opens the embedded SQLite
// database casework.db in dataDir, creating the directory if needed.
func Open(ctx context.Context, url, dataDir string) (*gorm.DB, Dialect, error) {
	cfg := &gorm.Config{
		// Domain code relies on gorm.ErrDuplicatedKey for both dialects.
		TranslateError: true,
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	var (
		db      *gorm.DB
		dialect Dialect
		err     error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dialect = Postgres
		db, err = gorm.Open(postgres.Open(withConnectTimeout(url)), cfg)
	case url == "" || strings.HasPrefix(url, "sqlite:"):
		dialect = SQLite
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			if dataDir == "" {
				return nil, "", errors.New("repository: no database URL and no data directory")
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, "", fmt.Errorf("repository: create data directory: %w", err)
			}
			path = filepath.Join(dataDir, "casework.db")
		}
		if err := restrictSQLiteFiles(path); err != nil {
			return nil, "", err
		}
		db, err = gorm.Open(sqlite.Open(sqliteDSN(path)), cfg)
	default:
		return nil, "", errors.New("repository: the database URL must start with postgres://, postgresql:// or sqlite")
	}
	if err != nil {
		return nil, "", fmt.Errorf("repository: open %s: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, "", err
	}
	if dialect == SQLite {
		// SQLite allows one writer at a time; a single connection turns lock
		// contention into queueing instead of SQLITE_BUSY errors.
		sqlDB.SetMaxOpenConns(1)
	} else {
		// Every open connection may stay idle: with fewer idle than open
		// (database/sql keeps two unless told), each burst past the idle
		// count closed what it had opened, and the next opened them again,
		// a new PostgreSQL backend with cold caches and no prepared
		// statements each time. A year's statistics, seven statements side
		// by side, opened a connection every second call that way and ran
		// at a third of the rate. Idle connections still close after
		// ConnMaxIdleTime.
		sqlDB.SetMaxOpenConns(PostgresPoolSize)
		sqlDB.SetMaxIdleConns(PostgresPoolSize)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, "", fmt.Errorf("repository: ping %s: %w", dialect, err)
	}
	return db, dialect, nil
}

// defaultConnectTimeout bounds each new connection's setup unless the URL
// says otherwise: without it, a database host that drops packets holds
// every call until its own deadline instead of failing at once.
const defaultConnectTimeout = "5"

// withConnectTimeout adds connect_timeout to a PostgreSQL URL that has none.
func withConnectTimeout(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw // pgx reports the malformed URL
	}
	q := u.Query()
	if q.Has("connect_timeout") {
		return raw
	}
	q.Set("connect_timeout", defaultConnectTimeout)
	u.RawQuery = q.Encode()
	return u.String()
}

// restrictSQLiteFiles makes the database file readable by its owner only
// before SQLite opens it. The file holds names, addresses and case details in
// clear (only ID and phone numbers are sealed), and SQLite would create it
// 0644; it gives its -wal and -shm companions the main file's mode, so they
// follow. A file left readable by others by an older version is narrowed,
// unless it belongs to someone else: then its owner chose its mode.
func restrictSQLiteFiles(path string) error {
	file, _, _ := strings.Cut(path, "?")
	file = strings.TrimPrefix(file, "file:")
	if file == "" || file == ":memory:" || strings.Contains(path, "mode=memory") {
		return nil
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		// SQLite takes an empty file for an empty database.
		if err := f.Close(); err != nil {
			return fmt.Errorf("repository: create database file: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("repository: create database file: %w", err)
	}
	for _, name := range []string{file, file + "-wal", file + "-shm", file + "-journal"} {
		info, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("repository: database file: %w", err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(name, perm&^0o077); err != nil && !errors.Is(err, fs.ErrPermission) {
				return fmt.Errorf("repository: narrow database file mode: %w", err)
			}
		}
	}
	return nil
}

func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// Migrate brings the schema up to the newest embedded migration of the
// dialect. It is safe to run repeatedly and from several servers: goose
// records applied versions in goose_db_version.
func Migrate(ctx context.Context, db *gorm.DB, dialect Dialect, log *slog.Logger) error {
	provider, err := migrationProvider(db, dialect)
	if err != nil {
		return err
	}
	results, err := provider.Up(ctx)
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", filepath.Base(r.Source.Path), "duration", r.Duration)
	}
	if err != nil {
		return fmt.Errorf("repository: migrate: %w", err)
	}
	return migrateQueue(ctx, db, dialect, log)
}

// MigrateTo brings the schema to version: up to it, or down to it when the
// database is newer, as rolling a release back needs. A migration undone
// drops what it added, and the data in it.
func MigrateTo(ctx context.Context, db *gorm.DB, dialect Dialect, version int64, log *slog.Logger) error {
	provider, err := migrationProvider(db, dialect)
	if err != nil {
		return err
	}
	current, err := provider.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("repository: migrate: %w", err)
	}
	var results []*goose.MigrationResult
	if version < current {
		results, err = provider.DownTo(ctx, version)
	} else {
		results, err = provider.UpTo(ctx, version)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "direction", r.Direction, "file", filepath.Base(r.Source.Path))
	}
	if err != nil {
		return fmt.Errorf("repository: migrate to %d: %w", version, err)
	}
	return nil
}

// MigrationStatus reports the applied schema version and the newest one
// this build carries.
func MigrationStatus(ctx context.Context, db *gorm.DB, dialect Dialect) (current, latest int64, err error) {
	provider, err := migrationProvider(db, dialect)
	if err != nil {
		return 0, 0, err
	}
	return provider.GetVersions(ctx)
}

func migrationProvider(db *gorm.DB, dialect Dialect) (*goose.Provider, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	dir, err := fs.Sub(migrations, "migrations/"+string(dialect))
	if err != nil {
		return nil, err
	}
	if dialect == SQLite {
		return goose.NewProvider(goose.DialectSQLite3, sqlDB, dir)
	}
	// Several servers may start at once; the advisory lock lets one migrate
	// while the others wait.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, sqlDB, dir, goose.WithSessionLocker(locker))
}
