package repository_test

import (
	"testing"

	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository/storetest"
)

// Both backends run the whole conformance suite; neither opts out of any
// category.

func backend(db testdb.DB) storetest.Backend {
	return storetest.Backend{Store: db.Store(), DB: db.Gorm, Keyring: db.Keyring}
}

func TestSQLite(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) storetest.Backend { return backend(testdb.SQLite(t)) })
}

func TestPostgres(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) storetest.Backend { return backend(testdb.Postgres(t)) })
}
