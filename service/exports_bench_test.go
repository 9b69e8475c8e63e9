package service

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// BenchmarkExportHouseholds is issue 13's export figure: the household
// ledger of 100,000 households (two members, a contact each, assistance for
// one in ten) on PostgreSQL, written to a file. It reports the wall time of
// one export and how far the process's peak resident set grew during it:
// the target is under 30 s and 200 MiB. CASEWORK_BENCH_EXPORT_HOUSEHOLDS
// sets another size, CASEWORK_BENCH_EXPORT_PAGE another page size.
//
//	go test ./service -run '^$' -bench ExportHouseholds -benchtime 1x
func BenchmarkExportHouseholds(b *testing.B) {
	n := 100000
	if v := os.Getenv("CASEWORK_BENCH_EXPORT_HOUSEHOLDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	db := testdb.Postgres(b)
	seedExportBench(b, db, n)
	if os.Getenv("CASEWORK_BENCH_SLOW_SQL") != "" {
		db.Gorm = db.Gorm.Session(&gorm.Session{Logger: logger.New(log.New(os.Stderr, "", 0),
			logger.Config{SlowThreshold: 50 * time.Millisecond, LogLevel: logger.Warn})})
	}
	store := db.Store()
	p := &principal.Principal{ID: "users/bench", Kind: principal.User, Roles: []principal.Role{principal.Supervisor}}
	ctx := callerContext(p, principal.Scope{All: true})
	e := newHouseholdExport(store, nil, Options{})
	if v := os.Getenv("CASEWORK_BENCH_EXPORT_PAGE"); v != "" {
		var err error
		if e.pageSize, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	out := b.TempDir() + "/ledger.xlsx"
	for b.Loop() {
		resetPeakRSS(b)
		before := procStatus(b, "VmRSS")
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		_, rows, err := e.export(ctx, &pb.ExportHouseholdsRequest{}, f, func(Progress) {})
		took := time.Since(start)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		peak := procStatus(b, "VmHWM")
		info, _ := os.Stat(out)
		b.ReportMetric(took.Seconds(), "s/export")
		b.ReportMetric(float64(peak-before)/(1<<20), "MiB-peak-RSS-growth")
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(float64(info.Size())/(1<<20), "MiB-file")
		// The reads alone, every page and its related rows with nothing
		// written: what of the export's time is the database's.
		start = time.Now()
		for page := range e.pages(ctx, filter.Filter{}) {
			if page.err != nil {
				b.Fatal(page.err)
			}
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/reads-only")
	}
}

// seedExportBench writes n households of 30 towns with their members,
// contacts and assistance by COPY, sealed as the store seals them.
func seedExportBench(b *testing.B, db testdb.DB, n int) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	birth := time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC)
	created := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	town := func(i int) string { return fmt.Sprintf("500230%03d", 101+i%30) }
	copyRows := func(table string, cols []string, rows int, row func(i int) []any) {
		b.Helper()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == rows {
					return nil, nil
				}
				i++
				return row(i - 1), nil
			}
		}())); err != nil {
			b.Fatalf("copy %s: %v", table, err)
		}
	}
	copyRows("households", []string{"id", "servicemember_name", "servicemember_id_number", "servicemember_id_index",
		"service_branch", "rank_category", "post_type", "unit", "category", "town_code", "address", "phone", "hardship",
		"hardship_note", "revision", "create_time", "update_time", "servicemember_status", "decorated", "next_contact_due"}, n,
		func(i int) []any {
			h := repository.Household{ServicememberIDNumber: idnumber.Make("500230", birth.AddDate(0, 0, i/1000), i%1000),
				Phone: fmt.Sprintf("139%08d", i)}
			if err := repository.SealHousehold(db.Keyring, &h); err != nil {
				b.Fatal(err)
			}
			return []any{ids[i], fmt.Sprintf("王%05d", i), h.ServicememberIDNumber, h.ServicememberIDIndex, "ARMY", "NCO",
				"BORDER_COASTAL_DEFENCE", "某部", "ACTIVE_DUTY_FAMILY", town(i), "丰都县某村某组", h.Phone, i%10 == 0, "",
				int64(1), created, created, "ACTIVE_NCO", false, "2026-03-01"}
		})
	copyRows("members", []string{"id", "household_id", "relation", "display_name", "id_number", "id_number_index",
		"birth_date", "phone", "accompanying", "revision", "create_time", "update_time"}, 2*n,
		func(i int) []any {
			m := repository.Member{IDNumber: idnumber.Make("500231", birth.AddDate(0, 0, i/1000), i%1000),
				Phone: fmt.Sprintf("137%08d", i)}
			if err := repository.SealMember(db.Keyring, &m); err != nil {
				b.Fatal(err)
			}
			rel := []string{"SPOUSE", "CHILD"}[i%2]
			return []any{uuid.NewString(), ids[i/2], rel, "家属", m.IDNumber, m.IDNumberIndex, birth, m.Phone,
				i%2 == 0, int64(1), created, created}
		})
	copyRows("contacts", []string{"id", "household_id", "contact_date", "channel", "recorded_by", "raised", "follow_ups",
		"revision", "create_time", "update_time"}, n,
		func(i int) []any {
			return []any{uuid.NewString(), ids[i], "2025-12-01", "PHONE", "users/cw", "无", "", int64(1), created, created}
		})
	copyRows("assistance", []string{"id", "household_id", "kind", "amount_fen", "assistance_date", "source_of_funds",
		"approver", "note", "recorded_by", "create_time"}, n/10,
		func(i int) []any {
			return []any{uuid.NewString(), ids[i*10], "LIVING", int64(50000), "2026-01-15", "县财政", "局长", "", "users/cw", created}
		})
	for _, t := range []string{"households", "members", "contacts", "assistance"} {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			b.Fatal(err)
		}
	}
}

// resetPeakRSS starts the kernel's peak-RSS count (VmHWM) again from the
// current RSS, so that the figure read after is the export's, not the
// seeding's.
func resetPeakRSS(b *testing.B) {
	b.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// procStatus reads a size field of /proc/self/status, in bytes.
func procStatus(b *testing.B, field string) int64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
