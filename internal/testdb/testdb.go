// Package testdb gives tests real, freshly migrated databases: an SQLite file
// in the test's temporary directory, and a PostgreSQL database created for
// the test and dropped after it. Tests never mock the database.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// PostgresURLEnv names the server the PostgreSQL tests use; each test gets a
// database of its own on it.
const PostgresURLEnv = "CASEWORK_TEST_POSTGRES_URL"

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DB is an open, migrated test database.
type DB struct {
	Gorm    *gorm.DB
	Dialect repository.Dialect
	URL     string
	// Keyring seals the database's sensitive fields; tests that read the
	// raw tables use it to check what is stored.
	Keyring *sealed.Keyring
}

// Store wraps the database in a repository.Store sealing with the
// database's own keyring.
func (d DB) Store(opts ...repository.Option) *repository.Store {
	return repository.New(d.Gorm, d.Dialect, d.Keyring, opts...)
}

// Open returns a fresh database of the dialect.
func Open(t testing.TB, dialect repository.Dialect) DB {
	t.Helper()
	if dialect == repository.Postgres {
		return Postgres(t)
	}
	return SQLite(t)
}

// Dialects lists the dialects every storage-touching test runs on.
func Dialects() []repository.Dialect {
	return []repository.Dialect{repository.SQLite, repository.Postgres}
}

// SQLite returns a migrated SQLite database in t's temporary directory.
func SQLite(t testing.TB) DB {
	t.Helper()
	u := "sqlite:" + filepath.Join(t.TempDir(), "casework.db")
	return open(t, u)
}

// Postgres returns a migrated database of its own on the test PostgreSQL
// server. When the server is unreachable the test is skipped, except under
// CI=true, where it fails: CI must never pass by skipping them.
func Postgres(t testing.TB) DB {
	t.Helper()
	return open(t, EmptyPostgres(t))
}

// EmptyPostgres creates a database of its own with no tables on the test
// PostgreSQL server, dropped when the test ends, and returns its URL: for
// tests of migrating and restoring. Unreachable, it skips as Postgres does.
func EmptyPostgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresURLEnv)
	if admin == "" {
		admin = defaultPostgresURL
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable at %s under CI: %v", PostgresURLEnv, err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set %s or start it", err, PostgresURLEnv)
	}
	defer func() { _ = conn.Close(ctx) }()
	name := "casework_test_" + randomSuffix()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

func open(t testing.TB, u string) DB {
	t.Helper()
	ctx := context.Background()
	db, dialect, err := repository.Open(ctx, u, "")
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	if err := repository.Migrate(ctx, db, dialect, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	keys, err := sealed.Generate()
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	return DB{Gorm: db, Dialect: dialect, URL: u, Keyring: keys}
}

func randomSuffix() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("testdb: %v", err))
	}
	return hex.EncodeToString(b)
}

// RedisURLEnv names the Redis the tests of the shared rate limit use; each
// test keeps to keys of its own prefix there, so tests share it safely.
const RedisURLEnv = "CASEWORK_TEST_REDIS_URL"

const defaultRedisURL = "redis://127.0.0.1:6379/0"

// Redis returns the test Redis's URL once it answers a PING. Unreachable,
// it skips, and fails under CI=true, as PostgreSQL does.
func Redis(t testing.TB) string {
	t.Helper()
	u := os.Getenv(RedisURLEnv)
	if u == "" {
		u = defaultRedisURL
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("parse %s: %v", RedisURLEnv, err)
	}
	opts.DialTimeout = 2 * time.Second
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err = c.Ping(ctx).Err()
	cancel()
	_ = c.Close()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis unreachable at %s under CI: %v", RedisURLEnv, err)
		}
		t.Skipf("Redis unreachable (%v); set %s or start it", err, RedisURLEnv)
	}
	return u
}

// Suffix is a random name part, for keys or names a test must not share.
func Suffix() string { return randomSuffix() }
