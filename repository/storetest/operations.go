package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/jobs"
	"github.com/fengdu-county/casework/repository"
)

// secretRequest stands for a request that holds an ID number, as an
// import's file does: it must never be stored in plaintext.
const secretRequest = "import 110101199003071234"

// queue is an insert-only job queue on the env's database: operations'
// jobs go into river's tables in the operation's transaction.
func (e *env) queue() *jobs.Queue {
	e.t.Helper()
	sqlDB, err := e.s.SQLDB()
	must(e.t, err, "SQLDB")
	q, err := jobs.New(sqlDB, e.s.Dialect(), jobs.Handlers{
		Operation: func(context.Context, string, bool) error { return nil },
		Sweep:     func(context.Context) error { return nil },
		EndHolds:  func(context.Context) error { return nil },
	}, jobs.Config{Workers: -1}, slog.New(slog.DiscardHandler))
	must(e.t, err, "jobs.New")
	return q
}

// newOperation stores a pending operation of creator, its job queued.
func (e *env) newOperation(q *jobs.Queue, creator, kind string) *repository.Operation {
	e.t.Helper()
	e.clock.Advance(e.step)
	o := &repository.Operation{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Method: "/casework.v1.SpreadsheetService/ExportCases",
		Creator: creator, CreatorKind: principal.User, CreatorRoles: repository.List[principal.Role]{principal.Caseworker},
		CreatorTowns: repository.List[string]{townA}, CreatorCredential: "local-token", Request: []byte(secretRequest)}
	must(e.t, e.s.CreateOperation(e.ctx, o, func(ctx context.Context, tx *sql.Tx) (int64, error) {
		return q.EnqueueOperation(ctx, tx, o.ID)
	}), "CreateOperation")
	return o
}

func (e *env) jobState(jobID int64) string {
	e.t.Helper()
	var state string
	must(e.t, e.db.Raw("SELECT state FROM river_job WHERE id = ?", jobID).Scan(&state).Error, "read the job")
	return state
}

var operationTests = []test{
	{"CreateSealsTheRequestAndQueuesItsJob", func(t *testing.T, e *env) {
		o := e.newOperation(e.queue(), "alice", "export_cases")
		if o.JobID == 0 || e.jobState(o.JobID) != "available" {
			t.Fatalf("job %d in state %q", o.JobID, e.jobState(o.JobID))
		}
		var raw struct{ Request, State, Creator, CreatorRoles string }
		must(t, e.db.Raw("SELECT request, state, creator, creator_roles FROM operations WHERE id = ?", o.ID).Scan(&raw).Error, "raw row")
		if strings.Contains(raw.Request, "110101199003071234") || raw.Request == "" || raw.State != "pending" || raw.CreatorRoles != "caseworker" {
			t.Fatalf("stored row: %+v", raw)
		}
		got, err := e.s.GetOperation(e.ctx, o.ID)
		must(t, err, "GetOperation")
		if got.Request != nil || got.Creator != "alice" || got.Principal().Towns[0] != townA || !got.CreateTime.Equal(e.nowStored()) {
			t.Fatalf("read back %+v", got)
		}
	}},
	{"AnOperationAndItsJobCommitTogether", func(t *testing.T, e *env) {
		q := e.queue()
		boom := errors.New("boom")
		var o *repository.Operation
		err := e.s.InTx(e.ctx, func(ctx context.Context) error {
			o = &repository.Operation{ID: uuid.Must(uuid.NewV7()).String(), Kind: "export_cases", Method: "m", Creator: "alice", Request: []byte("r")}
			if err := e.s.CreateOperation(ctx, o, func(ctx context.Context, tx *sql.Tx) (int64, error) {
				return q.EnqueueOperation(ctx, tx, o.ID)
			}); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, err, boom, "the rolled-back transaction")
		if n := e.countRows("operations"); n != 0 {
			t.Errorf("%d operations after a rollback", n)
		}
		if n := e.countRows("river_job"); n != 0 {
			t.Errorf("%d jobs after a rollback", n)
		}
	}},
	{"StartReportFinish", func(t *testing.T, e *env) {
		o := e.newOperation(e.queue(), "alice", "export_cases")
		started, err := e.s.StartOperation(e.ctx, o.ID)
		must(t, err, "StartOperation")
		if started.State != repository.OperationRunning || started.Runs != 1 || string(started.Request) != secretRequest {
			t.Fatalf("started: state %s, runs %d, request %q", started.State, started.Runs, started.Request)
		}
		cancelled, err := e.s.ReportOperation(e.ctx, o.ID, repository.Progress{Read: 5, Written: 4, Total: 10})
		must(t, err, "ReportOperation")
		got, _ := e.s.GetOperation(e.ctx, o.ID)
		if cancelled || got.RowsRead != 5 || got.RowsWritten != 4 || got.RowsTotal != 10 {
			t.Fatalf("after a report: cancelled %v, %+v", cancelled, got)
		}
		file := []byte("PK workbook " + secretRequest)
		expire := e.clock.Now().Add(time.Hour)
		must(t, e.s.FinishOperation(e.ctx, o.ID, repository.OperationEnd{State: repository.OperationSucceeded, Response: []byte{1, 2},
			Progress: repository.Progress{Read: 10, Written: 10}, File: bytes.NewReader(file), FileSize: int64(len(file)), FileName: "案件台账.xlsx", ContentType: "x", FileSha256: "abc", ExpireTime: expire}), "FinishOperation")
		got, _ = e.s.GetOperation(e.ctx, o.ID)
		if got.State != repository.OperationSucceeded || got.EndTime == nil || got.FileSize != int64(len(file)) || got.FileName != "案件台账.xlsx" ||
			got.RowsWritten != 10 || string(got.Response) != "\x01\x02" || !got.ExpireTime.Equal(stored(expire)) {
			t.Fatalf("finished: %+v", got)
		}
		var raw struct{ Request, Content string }
		must(t, e.db.Raw("SELECT o.request, f.content FROM operations o JOIN operation_files f ON f.operation_id = o.id WHERE o.id = ?", o.ID).Scan(&raw).Error, "raw")
		var parts [][]byte
		must(t, e.db.Raw("SELECT data FROM attachment_blob_parts WHERE blob_key = ?", "operation-"+o.ID).Scan(&parts).Error, "parts")
		if raw.Request != "" || len(parts) == 0 {
			t.Fatalf("at rest: request %q, %d parts", raw.Request, len(parts))
		}
		for _, p := range append(parts, []byte(raw.Content)) {
			if bytes.Contains(p, []byte("110101199003071234")) || bytes.Contains(p, []byte("workbook")) {
				t.Fatalf("at rest: file %q", p)
			}
		}
		rc, err := e.s.OperationFile(e.ctx, o.ID)
		must(t, err, "OperationFile")
		back, err := io.ReadAll(rc)
		must(t, errors.Join(err, rc.Close()), "reading the file")
		if string(back) != string(file) {
			t.Fatalf("file read back %q", back)
		}
		wantErr(t, e.s.FinishOperation(e.ctx, o.ID, repository.OperationEnd{State: repository.OperationFailed}), repository.ErrOperationDone, "finishing twice")
		_, err = e.s.StartOperation(e.ctx, o.ID)
		wantErr(t, err, repository.ErrOperationDone, "starting an ended operation")
		// A restart after a crash finds it running and counts the run.
		o2 := e.newOperation(e.queue(), "alice", "export_cases")
		_, _ = e.s.StartOperation(e.ctx, o2.ID)
		again, err := e.s.StartOperation(e.ctx, o2.ID)
		must(t, err, "restart")
		if again.Runs != 2 || again.State != repository.OperationRunning {
			t.Fatalf("restarted: runs %d state %s", again.Runs, again.State)
		}
	}},
	{"Cancel", func(t *testing.T, e *env) {
		q := e.queue()
		pending, running, ended := e.newOperation(q, "alice", "export_cases"), e.newOperation(q, "alice", "export_cases"), e.newOperation(q, "alice", "export_cases")
		_, _ = e.s.StartOperation(e.ctx, running.ID)
		_, _ = e.s.StartOperation(e.ctx, ended.ID)
		must(t, e.s.FinishOperation(e.ctx, ended.ID, repository.OperationEnd{State: repository.OperationSucceeded}), "finish")
		for _, o := range []*repository.Operation{pending, running, ended} {
			_, err := e.s.CancelOperation(e.ctx, o.ID, []byte("cancelled"))
			must(t, err, "CancelOperation")
		}
		p, _ := e.s.GetOperation(e.ctx, pending.ID)
		if p.State != repository.OperationCancelled || !p.CancelRequested || string(p.Error) != "cancelled" || p.EndTime == nil {
			t.Errorf("pending, cancelled: %+v", p)
		}
		r, _ := e.s.GetOperation(e.ctx, running.ID)
		if r.State != repository.OperationRunning || !r.CancelRequested {
			t.Errorf("running, cancelled: %+v", r)
		}
		if asked, err := e.s.ReportOperation(e.ctx, running.ID, repository.Progress{Read: 1}); err != nil || !asked {
			t.Errorf("a report after the cancel: asked %v, %v", asked, err)
		}
		d, _ := e.s.GetOperation(e.ctx, ended.ID)
		if d.State != repository.OperationSucceeded || d.CancelRequested {
			t.Errorf("ended, cancelled: %+v", d)
		}
	}},
	{"ListNewestFirst", func(t *testing.T, e *env) {
		q := e.queue()
		a1 := e.newOperation(q, "alice", "export_cases")
		b1 := e.newOperation(q, "bob", "export_cases")
		a2 := e.newOperation(q, "alice", "import_households")
		_, _ = e.s.StartOperation(e.ctx, a1.ID)
		must(t, e.s.FinishOperation(e.ctx, a1.ID, repository.OperationEnd{State: repository.OperationFailed}), "finish")
		ids := func(q repository.OperationQuery) []string {
			rows, _, err := e.s.ListOperations(e.ctx, q)
			must(t, err, "ListOperations")
			var out []string
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		yes, no := true, false
		for _, c := range []struct {
			q    repository.OperationQuery
			want []string
		}{
			{repository.OperationQuery{}, []string{a2.ID, b1.ID, a1.ID}},
			{repository.OperationQuery{Creator: "alice"}, []string{a2.ID, a1.ID}},
			{repository.OperationQuery{Creator: "alice", Done: &yes}, []string{a1.ID}},
			{repository.OperationQuery{Done: &no}, []string{a2.ID, b1.ID}},
			{repository.OperationQuery{Kind: "import_households"}, []string{a2.ID}},
		} {
			if got := ids(c.q); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%+v: %v, want %v", c.q, got, c.want)
			}
		}
		var all []string
		var after *repository.Cursor
		for {
			rows, next, err := e.s.ListOperations(e.ctx, repository.OperationQuery{Page: repository.Page{Size: 1, After: after}})
			must(t, err, "page")
			for _, r := range rows {
				all = append(all, r.ID)
			}
			if next == nil {
				break
			}
			after = next
		}
		if strings.Join(all, ",") != strings.Join([]string{a2.ID, b1.ID, a1.ID}, ",") {
			t.Errorf("pages: %v", all)
		}
	}},
	{"FilesExpireAndOperationsArePruned", func(t *testing.T, e *env) {
		o := e.newOperation(e.queue(), "alice", "export_cases")
		_, _ = e.s.StartOperation(e.ctx, o.ID)
		must(t, e.s.FinishOperation(e.ctx, o.ID, repository.OperationEnd{State: repository.OperationSucceeded, File: strings.NewReader("f"), FileSize: 1,
			FileName: "f.xlsx", ExpireTime: e.clock.Now().Add(time.Hour)}), "finish")
		if n, err := e.s.ExpireOperationFiles(e.ctx, e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("expired before its time: %d, %v", n, err)
		}
		if n, err := e.s.ExpireOperationFiles(e.ctx, e.clock.Now().Add(2*time.Hour)); err != nil || n != 1 {
			t.Fatalf("ExpireOperationFiles = %d, %v", n, err)
		}
		_, err := e.s.OperationFile(e.ctx, o.ID)
		wantErr(t, err, repository.ErrNotFound, "an expired file")
		var parts int64
		must(t, e.db.Raw("SELECT COUNT(*) FROM attachment_blob_parts WHERE blob_key = ?", "operation-"+o.ID).Scan(&parts).Error, "parts")
		if parts != 0 {
			t.Errorf("an expired file keeps %d parts", parts)
		}
		if got, _ := e.s.GetOperation(e.ctx, o.ID); !got.FileExpired || got.FileName != "f.xlsx" {
			t.Errorf("after expiry: %+v", got)
		}
		if n, err := e.s.PruneOperations(e.ctx, e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("pruned an operation that ended now: %d, %v", n, err)
		}
		if n, err := e.s.PruneOperations(e.ctx, e.clock.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("PruneOperations = %d, %v", n, err)
		}
		_, err = e.s.GetOperation(e.ctx, o.ID)
		wantErr(t, err, repository.ErrNotFound, "a pruned operation")
	}},
	{"OrphanedOperationsFail", func(t *testing.T, e *env) {
		q := e.queue()
		orphan, queued := e.newOperation(q, "alice", "export_cases"), e.newOperation(q, "alice", "export_cases")
		_, _ = e.s.StartOperation(e.ctx, orphan.ID)
		must(t, e.db.Exec("UPDATE river_job SET state = 'discarded', finalized_at = ? WHERE id = ?", e.clock.Now(), orphan.JobID).Error, "discard the job")
		e.clock.Advance(time.Minute)
		n, err := e.s.FailOrphanedOperations(e.ctx, []byte("interrupted"))
		if err != nil || n != 1 {
			t.Fatalf("FailOrphanedOperations = %d, %v", n, err)
		}
		got, _ := e.s.GetOperation(e.ctx, orphan.ID)
		if got.State != repository.OperationFailed || string(got.Error) != "interrupted" {
			t.Errorf("orphan: %+v", got)
		}
		if got, _ := e.s.GetOperation(e.ctx, queued.ID); got.State != repository.OperationPending {
			t.Errorf("an operation whose job waits was ended: %+v", got)
		}
		wantErr(t, e.s.DeleteOperation(e.ctx, queued.ID), repository.ErrOperationRunning, "deleting a pending operation")
		must(t, e.s.DeleteOperation(e.ctx, orphan.ID), "DeleteOperation")
		_, err = e.s.GetOperation(e.ctx, orphan.ID)
		wantErr(t, err, repository.ErrNotFound, "a deleted operation")
	}},
}
