package service

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// BenchmarkListCasesPage is a 50-case page of ListCases as the handler
// answers it, on each database: the query, the scan of its rows, their
// conversion to the API's cases, and the protobuf wire encoding gRPC sends.
// The cases are closed school enrollments of one town, what tools/bench
// lists, with clocks and rules as cases the server made carry them.
// "page-20" starts after a cursor. The repository sub-benchmark is the same
// query without the conversion, and "raw-page-1" the recorded statement
// run directly.
//
//	go test ./service -run '^$' -bench ListCasesPage -benchmem -count 6
func BenchmarkListCasesPage(b *testing.B) {
	for _, d := range testdb.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := testdb.Open(b, d)
			store := db.Store()
			v, err := protovalidate.New()
			if err != nil {
				b.Fatal(err)
			}
			p := &principal.Principal{ID: "users/bench", Kind: principal.User, Roles: []principal.Role{principal.Supervisor}}
			ctx := callerContext(p, principal.Scope{All: true})
			opts := Options{PageTokenKey: []byte("0123456789abcdef0123456789abcdef")}
			cases := NewCases(store, nil, v, opts)
			h := &handlers{t: b, households: NewHouseholds(store, nil, v, opts), cases: cases, ctx: ctx, store: store}
			hh := h.household("500230101")
			child, _ := h.member(hh.GetName(), pb.Relation_RELATION_CHILD, time.Date(2012, 5, 1, 0, 0, 0, 0, time.UTC))
			hid, mid, err := memberIDs("subject", child.GetName())
			if err != nil {
				b.Fatal(err)
			}
			seedListBench(b, db, hid, mid, listBenchCases)
			req := &pb.ListCasesRequest{Filter: benchFilter, PageSize: 50}
			deep := proto.CloneOf(req)
			for range 19 {
				resp, err := cases.ListCases(ctx, deep)
				if err != nil {
					b.Fatal(err)
				}
				deep.PageToken = resp.GetNextPageToken()
			}
			for _, page := range []struct {
				name string
				req  *pb.ListCasesRequest
			}{{"page-1", req}, {"page-20", deep}} {
				b.Run(page.name, func(b *testing.B) {
					b.ReportAllocs()
					defer reportCPU(b)()
					for b.Loop() {
						resp, err := cases.ListCases(ctx, page.req)
						if err != nil || len(resp.GetCases()) != 50 {
							b.Fatalf("%d cases, %v", len(resp.GetCases()), err)
						}
						if _, err := proto.Marshal(resp); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			f, err := filter.Parse(benchFilter, repository.CaseFilter)
			if err != nil {
				b.Fatal(err)
			}
			// The same statement run directly, every column of every row
			// read into a generic value, as tools/bench's raw baseline
			// does: the limit the handler is measured against.
			var stmt struct {
				sql  string
				args []any
			}
			record := func(tx *gorm.DB) {
				stmt.sql, stmt.args = tx.Statement.SQL.String(), slices.Clone(tx.Statement.Vars)
			}
			cb := db.Gorm.Callback()
			if err := errors.Join(cb.Query().Register("bench:record", record), cb.Row().Register("bench:record", record)); err != nil {
				b.Fatal(err)
			}
			if _, err := cases.ListCases(ctx, req); err != nil {
				b.Fatal(err)
			}
			if err := errors.Join(cb.Query().Remove("bench:record"), cb.Row().Remove("bench:record")); err != nil {
				b.Fatal(err)
			}
			sqlDB, err := db.Gorm.DB()
			if err != nil {
				b.Fatal(err)
			}
			b.Run("raw-page-1", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					if n := rawRows(b, sqlDB, stmt.sql, stmt.args); n != 51 {
						b.Fatalf("%d rows", n)
					}
				}
			})
			b.Run("repository-page-1", func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					rows, _, err := store.ListCases(ctx, repository.CaseQuery{Filter: f,
						Order: repository.Order{Column: "create_time"}, Page: repository.Page{Size: 50}})
					if err != nil || len(rows) != 50 {
						b.Fatalf("%d rows, %v", len(rows), err)
					}
				}
			})
		})
	}
}

// listBenchCases is how many cases BenchmarkListCasesPage stores.
const listBenchCases = 3000

// seedListBench writes n cases, nine in ten of them closed school
// enrollments of the listed town, the rest in another town.
func seedListBench(b *testing.B, db testdb.DB, household, subject string, n int) {
	b.Helper()
	created := time.Date(2024, 9, 1, 8, 0, 0, 0, time.UTC)
	rows := make([]*repository.Case, 0, n)
	for i := range n {
		at := created.Add(time.Duration(i) * time.Minute)
		submitted, resolved, due := at.Add(time.Hour), at.Add(20*24*time.Hour), at.Add(30*24*time.Hour)
		town := "500230101"
		if i%10 == 9 {
			town = "500230102"
		}
		c := &repository.Case{ID: uuid.Must(uuid.NewV7()).String(), CaseNumber: fmt.Sprintf("FD-2024-%06d", i+1),
			HouseholdID: household, SubjectID: subject, Status: domain.StatusClosed,
			Assignee: "caseworker-101-02", TownCode: town, Priority: 2,
			PriorityReasons: repository.List[domain.Reason]{domain.ReasonBorderCoastalDefence},
			PolicyBasis:     repository.List[domain.RuleID]{domain.RuleSchoolChild, domain.RuleSchoolBorderBasis, domain.RuleSchoolTarget},
			DueTime:         &due, OutcomeResult: domain.ResultAchieved, OutcomeSummary: "按边防军人子女优待政策录取",
			Creator: "caseworker-101-02", Revision: 8, CreateTime: at, UpdateTime: resolved.Add(time.Hour),
			SubmitTime: &submitted, ResolveTime: &resolved}
		c.Clocks.V = domain.Clocks{{Kind: domain.ClockServiceTarget, State: domain.ClockMet, Start: submitted, Due: due, Stop: &resolved,
			Rule: domain.RuleSchoolTarget}}
		detail := &pb.SchoolEnrollment{SchoolStage: pb.SchoolStage_SCHOOL_STAGE_JUNIOR_HIGH,
			RequestedSchool: "丰都县第一中学", AssignedSchool: "丰都县第一中学",
			PriorityBasis: pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_BORDER_HARDSHIP_POST, SchoolYear: "2025-2026"}
		if err := convert.StoreDetails(c, domain.KindSchoolEnrollment, detail); err != nil {
			b.Fatal(err)
		}
		rows = append(rows, c)
	}
	if err := db.Gorm.CreateInBatches(rows, 200).Error; err != nil {
		b.Fatal(err)
	}
}

func rawRows(b *testing.B, db *sql.DB, query string, args []any) int {
	rows, err := db.Query(query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		b.Fatal(err)
	}
	vals := make([]any, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
