package repository_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// BenchmarkBatchAssign is issue 14's batch: 500 cases assigned, turn about,
// to two caseworkers, so every call changes every case. set-wise is
// MutateCases, as BatchAssignCases calls it; per-case is the shape it had
// before, one MutateCase (a savepoint) per case in one transaction.
func BenchmarkBatchAssign(b *testing.B) {
	for _, d := range testdb.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := testdb.Open(b, d)
			s := db.Store()
			ctx := audit.NewContext(repository.WithScope(context.Background(), principal.Scope{All: true}),
				&audit.Record{Principal: "users/bench", Method: "/casework.v1.CaseService/BatchAssignCases"})
			const n = 500
			h := &repository.Household{ID: uuid.NewString(), ServicememberName: "Bench",
				ServicememberIDNumber: idnumber.Make("500230", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), 1),
				ServiceBranch:         "ARMY", RankCategory: "NCO", PostType: domain.PostRegular,
				Category: domain.CategoryActiveDutyFamily, TownCode: "500230101"}
			if err := s.CreateHouseholds(ctx, []*repository.Household{h}); err != nil {
				b.Fatal(err)
			}
			m := &repository.Member{ID: uuid.NewString(), HouseholdID: h.ID, DisplayName: "Bench", Relation: domain.RelationChild,
				BirthDate: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC),
				IDNumber:  idnumber.Make("500230", time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), 2)}
			if err := s.CreateMember(ctx, m); err != nil {
				b.Fatal(err)
			}
			cs := make([]*repository.Case, n)
			hists := make([]*repository.HistoryEntry, n)
			edits := make([]repository.CaseEdit, n)
			for i := range cs {
				// Closed, so that one member holds them all: the store does
				// not judge the action, the service does.
				cs[i] = &repository.Case{ID: uuid.NewString(), HouseholdID: h.ID, SubjectID: m.ID, Kind: domain.KindLegalAid,
					Details: `{"matter":"bench"}`, Status: domain.StatusClosed, TownCode: h.TownCode, Priority: domain.PriorityNormal}
				hists[i] = &repository.HistoryEntry{Actor: "bench", Method: "CreateCase", ToStatus: cs[i].Status}
				edits[i] = repository.CaseEdit{ID: cs[i].ID}
			}
			if err := s.CreateCases(ctx, cs, hists); err != nil {
				b.Fatal(err)
			}
			call := 0
			assign := func(c *repository.Case) *repository.HistoryEntry {
				c.Assignee = []string{"bench-a", "bench-b"}[call%2]
				return &repository.HistoryEntry{Actor: "users/bench", Method: "BatchAssignCases", FromStatus: c.Status,
					ToStatus: c.Status, ChangedFields: repository.List[string]{"assignee"}}
			}
			b.Run("set-wise", func(b *testing.B) {
				var p p99
				for b.Loop() {
					call++
					start := time.Now()
					_, err := s.MutateCases(ctx, edits, func(_ context.Context, _ int, c *repository.Case) (*repository.HistoryEntry, error) {
						return assign(c), nil
					})
					if err != nil {
						b.Fatal(err)
					}
					p.add(time.Since(start))
				}
				p.report(b)
			})
			b.Run("per-case", func(b *testing.B) {
				var p p99
				for b.Loop() {
					call++
					start := time.Now()
					err := s.InTx(ctx, func(ctx context.Context) error {
						for _, e := range edits {
							if _, err := s.MutateCase(ctx, e.ID, "", func(_ context.Context, c *repository.Case) (*repository.HistoryEntry, error) {
								return assign(c), nil
							}); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
					p.add(time.Since(start))
				}
				p.report(b)
			})
		})
	}
}
