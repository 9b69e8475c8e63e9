package repository_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// TestSchemaMatchesModels proves that the gorm models and the migrated
// schema agree, for each dialect: every persisted field has a column, every
// column has a field, nullability follows pointer-ness, primary keys match
// and each column's type suits its field.
func TestSchemaMatchesModels(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			db := testdb.Open(t, dialect).Gorm
			for _, model := range repository.Models() {
				checkModel(t, db, dialect, model)
			}
		})
	}
}

func checkModel(t *testing.T, db *gorm.DB, dialect repository.Dialect, model any) {
	t.Helper()
	sch, err := schema.Parse(model, &sync.Map{}, db.NamingStrategy)
	if err != nil {
		t.Fatalf("parse %T: %v", model, err)
	}
	if !db.Migrator().HasTable(model) {
		t.Errorf("%s: no table %s after migration", sch.Name, sch.Table)
		return
	}
	cols, err := db.Migrator().ColumnTypes(model)
	if err != nil {
		t.Fatalf("%s: column types: %v", sch.Name, err)
	}
	byName := map[string]gorm.ColumnType{}
	for _, c := range cols {
		byName[c.Name()] = c
	}
	persisted := map[string]bool{}
	for _, f := range sch.Fields {
		if f.DBName == "" {
			continue
		}
		where := sch.Name + "." + f.Name
		col, hasColumn := byName[f.DBName]
		// Computed fields (-:migration, or read-only ->) are not stored and
		// must not shadow a column either.
		if f.IgnoreMigration || (!f.Creatable && !f.Updatable) {
			if hasColumn {
				t.Errorf("%s is not persisted but %s.%s exists", where, sch.Table, f.DBName)
			}
			continue
		}
		persisted[f.DBName] = true
		if !hasColumn {
			t.Errorf("%s has no column %s.%s", where, sch.Table, f.DBName)
			continue
		}
		isPtr := f.FieldType.Kind() == reflect.Pointer
		if pk, ok := col.PrimaryKey(); !ok || pk != f.PrimaryKey {
			t.Errorf("%s: column primary key %v (known %v), field primary key %v", where, pk, ok, f.PrimaryKey)
		}
		nullable, ok := col.Nullable()
		switch {
		case !ok:
			t.Errorf("%s: the %s driver does not report whether %s is nullable", where, dialect, f.DBName)
		case nullable != isPtr && !(sqliteLegacyPrimaryKey(dialect, f) && nullable):
			t.Errorf("%s: column nullable=%v but field is %s", where, nullable, f.FieldType)
		}
		if !typeOK(f, col.DatabaseTypeName()) {
			t.Errorf("%s: column type %s does not suit a %s", where, col.DatabaseTypeName(), f.FieldType)
		}
	}
	for name := range byName {
		if !persisted[name] {
			t.Errorf("column %s.%s has no field in %s", sch.Table, name, sch.Name)
		}
	}
}

// sqliteLegacyPrimaryKey reports an INTEGER PRIMARY KEY AUTOINCREMENT, which
// the SQLite driver calls nullable (it reads nullability from a NOT NULL in
// the DDL only) although it is the rowid and cannot be NULL. Every other
// primary key is declared NOT NULL and checked strictly.
func sqliteLegacyPrimaryKey(d repository.Dialect, f *schema.Field) bool {
	return d == repository.SQLite && f.PrimaryKey && f.AutoIncrement
}

// typeOK reports whether a column of the database type suits the field:
// every dialect's name for the type contains the family checked here.
// Instants need a time of day (TIMESTAMPTZ, DATETIME); only the calendar
// dates (calendarDates) are DATE.
func typeOK(f *schema.Field, dbType string) bool {
	typ := strings.ToUpper(dbType)
	t := f.FieldType
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		if calendarDates[f.Schema.Name+"."+f.Name] {
			return typ == "DATE"
		}
		return strings.Contains(typ, "TIMESTAMP") || strings.Contains(typ, "DATETIME")
	case t.Implements(reflect.TypeFor[driver.Valuer]()):
		// A type that stores itself (repository.List) is written as what
		// its Value returns, which is what gorm reports as its data type.
		return f.DataType == schema.String && (strings.Contains(typ, "TEXT") || strings.Contains(typ, "CHAR"))
	case t == reflect.TypeFor[[]byte]():
		return typ == "BYTEA" || typ == "BLOB"
	case t.Kind() == reflect.Bool:
		return strings.Contains(typ, "BOOL")
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return strings.Contains(typ, "INT")
	case t.Kind() == reflect.String:
		return strings.Contains(typ, "TEXT") || strings.Contains(typ, "CHAR")
	}
	return false
}

// calendarDates are the fields that hold a date without a time of day.
var calendarDates = map[string]bool{
	"Member.BirthDate": true, "Household.ApprovalDate": true, "StatusChange.EffectiveDate": true,
	"Campaign.StartDate": true, "Campaign.EndDate": true, "CampaignVisit.VisitDate": true,
	"RecruitmentEvent.EventDate": true, "Application.PlacementDate": true,
}

// sealedColumns are the columns the store seals, by table: the at-rest
// scans (storetest's Sealing category, e2e's leak scan) keep lists of their
// own, and this one is held to what the store does.
var sealedColumns = map[string][]string{
	"households": {"phone", "preferential_certificate_number", "servicemember_id_number"},
	"members":    {"id_number", "phone"},
}

// TestSealedColumns fills every text field of a household and a member,
// seals them as the store does before writing, and checks that exactly the
// listed columns came out sealed, and that each is a column of the schema.
func TestSealedColumns(t *testing.T) {
	db := testdb.SQLite(t)
	for table, row := range map[string]any{"households": &repository.Household{}, "members": &repository.Member{}} {
		v := reflect.ValueOf(row).Elem()
		for i := range v.NumField() {
			if v.Field(i).Kind() == reflect.String {
				v.Field(i).SetString("plain " + v.Type().Field(i).Name)
			}
		}
		var err error
		switch r := row.(type) {
		case *repository.Household:
			err = repository.SealHousehold(db.Keyring, r)
		case *repository.Member:
			err = repository.SealMember(db.Keyring, r)
		}
		if err != nil {
			t.Fatal(err)
		}
		sch, err := schema.Parse(row, &sync.Map{}, db.Gorm.NamingStrategy)
		if err != nil {
			t.Fatal(err)
		}
		var sealed []string
		for _, f := range sch.Fields {
			if s, ok := reflect.ValueOf(row).Elem().FieldByName(f.Name).Interface().(string); ok && strings.HasPrefix(s, "sealed:") {
				sealed = append(sealed, f.DBName)
			}
		}
		slices.Sort(sealed)
		if !slices.Equal(sealed, sealedColumns[table]) {
			t.Errorf("%s: the store seals %v, the list says %v: update the lists here, in storetest/security.go and e2e/leaks_test.go", table, sealed, sealedColumns[table])
		}
		for _, c := range sealedColumns[table] {
			if !db.Gorm.Migrator().HasColumn(row, c) {
				t.Errorf("%s has no column %s", table, c)
			}
		}
	}
}

// TestMigrateTwice proves migrating an up-to-date database applies nothing
// and that MigrationStatus then reports the newest embedded version.
func TestMigrateTwice(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			db := testdb.Open(t, dialect) // migrated once already
			ctx := context.Background()
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			for i := range 2 {
				if err := repository.Migrate(ctx, db.Gorm, dialect, log); err != nil {
					t.Fatalf("migration %d: %v", i+2, err)
				}
			}
			if logs.Len() != 0 {
				t.Fatalf("migrating an up-to-date database applied migrations:\n%s", logs.String())
			}
			current, latest, err := repository.MigrationStatus(ctx, db.Gorm, db.Dialect)
			if err != nil {
				t.Fatalf("MigrationStatus: %v", err)
			}
			if current != latest {
				t.Fatalf("MigrationStatus: current %d, latest %d", current, latest)
			}
			if want := newestMigration(t, dialect); latest != want {
				t.Fatalf("MigrationStatus: latest %d, newest migration file is %d", latest, want)
			}
			// Re-migrating must not have disturbed the schema.
			for _, model := range repository.Models() {
				checkModel(t, db.Gorm, dialect, model)
			}
		})
	}
}

func newestMigration(t *testing.T, d repository.Dialect) int64 {
	return slices.Max(migrationVersions(t, d))
}

// migrationVersions is every migration file's version, in order.
func migrationVersions(t *testing.T, d repository.Dialect) []int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", string(d), "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations for %s: %v", d, err)
	}
	var versions []int64
	for _, f := range files {
		num, _, _ := strings.Cut(filepath.Base(f), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			t.Fatalf("migration file %s: %v", f, err)
		}
		versions = append(versions, v)
	}
	if _, err := os.Stat(filepath.Join("migrations", string(d))); err != nil {
		t.Fatal(err)
	}
	return versions
}

// TestMigrateConcurrently starts three servers' migrations at once on an
// empty PostgreSQL database, as three replicas starting together would:
// the migration lock lets one apply each version and the others find
// nothing left to do.
func TestMigrateConcurrently(t *testing.T) {
	u := testdb.EmptyPostgres(t)
	ctx := context.Background()
	const replicas = 3
	errs := make(chan error, replicas)
	for range replicas {
		db, dialect, err := repository.Open(ctx, u, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if sqlDB, err := db.DB(); err == nil {
				_ = sqlDB.Close()
			}
		})
		go func() { errs <- repository.Migrate(ctx, db, dialect, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	}
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatalf("a concurrent migration failed: %v", err)
		}
	}
	db, dialect, err := repository.Open(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}()
	var applied []int64
	if err := db.Raw("SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id").Scan(&applied).Error; err != nil {
		t.Fatal(err)
	}
	if want := migrationVersions(t, dialect); !slices.Equal(applied, want) {
		t.Fatalf("goose recorded versions %v; want each of %v once", applied, want)
	}
	for _, model := range repository.Models() {
		checkModel(t, db, dialect, model)
	}
}
