package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// The raw baselines must issue what the server issues. The server's SQL is
// built by the repository package through gorm, so the benchmark runs the
// same repository calls against the same database with a recorder on
// gorm's callbacks: the list baseline then runs exactly the recorded query
// with its recorded arguments, and the create baseline, written out by
// hand, is checked statement for statement against the recording.

// statement is one SQL statement gorm sent, with its arguments.
type statement struct {
	SQL  string
	Args []any
}

type recorder struct {
	mu    sync.Mutex
	stmts []statement
}

func (r *recorder) record(db *gorm.DB) {
	if db.DryRun {
		// gorm builds a subquery's SQL by running the query callbacks
		// dry; it is part of the statement that contains it.
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stmts = append(r.stmts, statement{SQL: db.Statement.SQL.String(), Args: append([]any(nil), db.Statement.Vars...)})
}

func (r *recorder) take() []statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stmts
	r.stmts = nil
	return out
}

// recordingStore opens the repository on dbURL as the server does, with
// every statement recorded.
func recordingStore(ctx context.Context, dbURL string, keys *sealed.Keyring) (*repository.Store, *recorder, error) {
	db, dialect, err := repository.Open(ctx, dbURL, "")
	if err != nil {
		return nil, nil, err
	}
	rec := &recorder{}
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().Register("bench:record", rec.record),
		cb.Create().Register("bench:record", rec.record),
		cb.Update().Register("bench:record", rec.record),
		cb.Delete().Register("bench:record", rec.record),
		cb.Row().Register("bench:record", rec.record),
		cb.Raw().Register("bench:record", rec.record),
	} {
		if err != nil {
			return nil, nil, err
		}
	}
	return repository.New(db, dialect, keys, repository.WithCaseNumberPrefix("FD")), rec, nil
}

// serverContext is what the server's interceptors put in a call's context
// for the benchmark's principal.
func serverContext(ctx context.Context, method string) context.Context {
	ctx = audit.NewContext(ctx, &audit.Record{Principal: "bench", Roles: "supervisor,batch", Credential: "local-token",
		Method: method, RequestID: uuid.Must(uuid.NewV7()).String(), ClientAddr: "127.0.0.1"})
	return repository.WithScope(ctx, principal.Scope{All: true})
}

// recordCreate makes one case through the repository the way the case
// service's CreateCase does (read the household and the subject, then
// create) and returns the statements it sent.
func recordCreate(ctx context.Context, store *repository.Store, rec *recorder, h *household, m *member) ([]statement, error) {
	ctx = serverContext(ctx, "/casework.v1.CaseService/CreateCase")
	rec.take()
	house, err := store.GetHousehold(ctx, h.id.String(), false)
	if err != nil {
		return nil, err
	}
	if _, err := store.GetMember(ctx, h.id.String(), m.id.String()); err != nil {
		return nil, err
	}
	p, reasons, _ := domain.ComputePriority(domain.FromCategory(house.Category, house.RankCategory, house.PostType, house.Hardship))
	details, err := detailsJSON.Marshal(&pb.EmploymentPlacement{PlacementYear: placementYear(), Eligible: true,
		Channel: pb.PlacementChannel_PLACEMENT_CHANNEL_STATE_ENTERPRISE})
	if err != nil {
		return nil, err
	}
	c := &repository.Case{ID: uuid.Must(uuid.NewV7()).String(), HouseholdID: house.ID, SubjectID: m.id.String(),
		Kind: domain.KindEmploymentPlacement, Details: string(details),
		Status: domain.StatusDraft, TownCode: house.TownCode, Priority: p,
		PriorityReasons: reasons, Creator: "bench"}
	hist := &repository.HistoryEntry{Actor: "bench", Method: "CreateCase", ToStatus: domain.StatusDraft}
	if err := store.CreateCase(ctx, c, hist); err != nil {
		return nil, err
	}
	return rec.take(), nil
}

// createStatements are the statements createRaw sends, in its order.
var createStatements = []string{sqlGetHousehold, sqlGetMember, sqlLockHouse, sqlLockMember, sqlOpenCase,
	sqlAuditLock, sqlCreateLocked}

// checkCreateBaseline compares the server's statements with the raw
// baseline's. A difference means the baseline no longer measures what the
// server does, and createRaw must be brought up to date.
func checkCreateBaseline(got []statement) error {
	same := len(got) == len(createStatements)
	for i := 0; same && i < len(got); i++ {
		same = strings.Join(strings.Fields(got[i].SQL), " ") == strings.Join(strings.Fields(createStatements[i]), " ")
	}
	if same {
		return nil
	}
	var b strings.Builder
	b.WriteString("the raw-pgx create baseline no longer sends the statements the server sends for CreateCase; " +
		"update createRaw and its statements in tools/bench/scenarios.go to these, in this order:\n")
	for i, s := range got {
		fmt.Fprintf(&b, "  %2d. %s\n", i+1, s.SQL)
	}
	return errors.New(b.String())
}

// recordList runs a page of the list benchmark through the repository and
// returns the query the server sends for it.
func recordList(ctx context.Context, store *repository.Store, rec *recorder, p listPage) (statement, error) {
	f, err := filter.Parse(listFilter, repository.CaseFilter)
	if err != nil {
		return statement{}, err
	}
	q := repository.CaseQuery{Filter: f, Order: repository.Order{Column: "create_time"}, Page: repository.Page{Size: int(p.pageSize)}}
	if p.after != nil {
		t := p.after.GetCreateTime().AsTime()
		q.Page.After = &repository.Cursor{Time: &t, ID: strings.TrimPrefix(p.after.GetName(), "cases/")}
	}
	rec.take()
	rows, _, err := store.ListCases(serverContext(ctx, "/casework.v1.CaseService/ListCases"), q)
	if err != nil {
		return statement{}, err
	}
	if len(rows) != int(p.pageSize) {
		return statement{}, fmt.Errorf("the repository listed %d cases on page %d, the server %d", len(rows), p.number, p.pageSize)
	}
	got := rec.take()
	if len(got) != 1 {
		return statement{}, fmt.Errorf("ListCases sent %d statements, the list baseline expects one", len(got))
	}
	return got[0], nil
}

// pgType names the PostgreSQL type of a recorded argument, for PREPARE.
func pgType(v any) string {
	switch v.(type) {
	case time.Time, *time.Time:
		return "timestamptz"
	case int, int32, int64:
		return "bigint"
	case bool:
		return "boolean"
	}
	return "text"
}
