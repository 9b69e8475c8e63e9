package repository_test

import (
	"context"
	"sync"
	"testing"

	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// TestPoolKeepsItsConnections: bursts of as many statements as the pool
// holds, one after another, reuse the connections the first opened. A pool
// that closes what it cannot keep idle opens a PostgreSQL backend per
// statement of each burst past the idle count (the statistics ran at a
// third of their rate that way).
func TestPoolKeepsItsConnections(t *testing.T) {
	db, _, err := repository.Open(context.Background(), testdb.EmptyPostgres(t), "")
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	for range 5 {
		var wg sync.WaitGroup
		for range repository.PostgresPoolSize {
			wg.Go(func() {
				if _, err := sqlDB.ExecContext(context.Background(), "SELECT pg_sleep(0.05)"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	st := sqlDB.Stats()
	if st.MaxIdleClosed != 0 || st.OpenConnections > repository.PostgresPoolSize {
		t.Errorf("after 5 bursts of %d statements: %d connections closed as surplus idle ones, %d open; want none closed",
			repository.PostgresPoolSize, st.MaxIdleClosed, st.OpenConnections)
	}
}
