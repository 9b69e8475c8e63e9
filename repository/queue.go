package repository

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/gorm"
)

// queueMigrationKey is the advisory lock of the job queue's migrations.
const queueMigrationKey int64 = 4_702_318_110_455_209_732

// migrateQueue brings the job queue's own tables (river_job and the rest)
// up to the version this build's river needs. River versions its schema
// itself, in river_migration, so its tables are not goose migrations of
// ours; they are applied here so that `casework migrate up` and
// migrate-on-start both create them, on either dialect. Like goose's, it
// is safe to run repeatedly and from several servers at once.
func migrateQueue(ctx context.Context, db *gorm.DB, dialect Dialect, log *slog.Logger) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	// River's migrations take no lock of their own: servers that start
	// together would each create its tables (a duplicate-key error from
	// the catalogue). The first takes this lock and migrates; the others
	// find nothing left to do.
	if dialect == Postgres {
		unlock, err := advisoryLock(ctx, db, queueMigrationKey)
		if err != nil {
			return fmt.Errorf("repository: migrate the job queue: lock: %w", err)
		}
		defer unlock()
	}
	m, err := rivermigrate.New(QueueDriver(sqlDB, dialect), nil)
	if err != nil {
		return fmt.Errorf("repository: migrate the job queue: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("repository: migrate the job queue: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("job queue migration applied", "version", v.Version, "duration", v.Duration)
	}
	return nil
}

// QueueDriver is river's driver for the dialect, over the pool gorm holds:
// the queue's jobs are inserted in the transactions of the rows they work
// on.
func QueueDriver(db *sql.DB, dialect Dialect) riverdriver.Driver[*sql.Tx] {
	if dialect == SQLite {
		return riversqlite.New(db)
	}
	return riverdatabasesql.New(db)
}
