package repository_test

import (
	"testing"

	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/repository/storetest"
)

// Both backends run the whole conformance suite; neither opts out of any
// category.

func TestSQLite(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) *repository.Store { return testdb.SQLite(t).Store() })
}

func TestPostgres(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) *repository.Store { return testdb.Postgres(t).Store() })
}
