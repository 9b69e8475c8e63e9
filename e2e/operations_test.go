package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	longrunningpb "cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
	"github.com/fengdu-county/casework/service"
)

// fastJobs makes a server's job queue look for work often, so scenarios
// wait milliseconds, not seconds.
func fastJobs(c *server.Config) {
	c.JobPoll = 50 * time.Millisecond
	c.JobSweepEvery = 200 * time.Millisecond
	c.OperationProgressEvery = 50 * time.Millisecond
}

// metadataOf unpacks an operation's OperationMetadata.
func metadataOf(t *testing.T, op *longrunningpb.Operation) *pb.OperationMetadata {
	t.Helper()
	md := &pb.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatalf("%s: metadata: %v", op.GetName(), err)
	}
	return md
}

// waitDone polls GetOperation until the operation is done.
func waitDone(t *testing.T, ops pb.OperationServiceClient, name string) *longrunningpb.Operation {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		op := must(ops.GetOperation(ctxFor(t), &pb.GetOperationRequest{Name: name})).ok(t)
		if op.GetDone() {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not done after 30s: %v", name, metadataOf(t, op))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// someCases creates a family and n employment cases of it.
func (e *env) someCases(t *testing.T, n int) {
	t.Helper()
	c := e.grpcClient(t)
	for range n {
		must(c.CreateCase(employmentCase(e.family(t, c)))).ok(t)
	}
}

// checkCaseWorkbook opens an exported case ledger and checks its headers
// and that it has rows data rows.
func checkCaseWorkbook(t *testing.T, data []byte, rows int) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("open the workbook: %v", err)
	}
	defer func() { _ = f.Close() }()
	got, err := f.GetRows("案件")
	if err != nil {
		t.Fatalf("sheet 案件: %v", err)
	}
	if len(got) != rows+1 {
		t.Fatalf("sheet 案件 has %d rows, want a header and %d", len(got), rows)
	}
	for i, h := range []string{"案件编号", "类型", "状态", "优先级", "镇街", "承办人", "受理时间", "办结期限", "是否逾期"} {
		if got[0][i] != h {
			t.Errorf("header %d = %q, want %q", i, got[0][i], h)
		}
	}
	for _, r := range got[1:] {
		if !strings.HasPrefix(r[0], "FD") || r[1] != "随军家属就业安置" || r[2] != "草稿" || r[8] != "否" {
			t.Errorf("row %q", r)
		}
	}
}

func testOperations(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), fastJobs)
	conn := e.conn
	e.someCases(t, 3)
	sheets, ops := pb.NewSpreadsheetServiceClient(conn), pb.NewOperationServiceClient(conn)

	// gRPC: start, retry with the same request id, poll, download.
	req := &pb.ExportCasesRequest{Filter: `case_type = EMPLOYMENT_PLACEMENT`, RequestId: "export-cases-1"}
	op := must(sheets.ExportCases(ctxFor(t), req)).ok(t)
	if md := metadataOf(t, op); md.GetKind() != pb.OperationMetadata_KIND_EXPORT_CASES || md.GetCreator() != supervisorUser ||
		(md.GetState() != pb.OperationMetadata_STATE_PENDING && md.GetState() != pb.OperationMetadata_STATE_RUNNING) {
		t.Errorf("a new operation's metadata: %v", md)
	}
	again := must(sheets.ExportCases(ctxFor(t), req)).ok(t)
	if again.GetName() != op.GetName() {
		t.Errorf("a retry with the same request id started %s, not %s", again.GetName(), op.GetName())
	}
	wantReason(t, must(sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{RequestId: "export-cases-1"})).fails(t, codes.AlreadyExists), pb.ErrorReason_REQUEST_ID_REUSED)
	must(sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{Filter: "colour = red"})).fails(t, codes.InvalidArgument)
	done := waitDone(t, ops, op.GetName())
	md := metadataOf(t, done)
	if md.GetState() != pb.OperationMetadata_STATE_SUCCEEDED || md.GetRowsWritten() != 3 || md.GetEndTime() == nil {
		t.Fatalf("done: %v, error %v", md, done.GetError())
	}
	resp := &pb.ExportResponse{}
	if err := done.GetResponse().UnmarshalTo(resp); err != nil {
		t.Fatalf("response: %v", err)
	}
	if resp.GetRows() != 3 || !strings.HasSuffix(resp.GetFile().GetFilename(), ".xlsx") ||
		resp.GetFile().GetDownloadUri() != "/v1/"+op.GetName()+":download" || resp.GetFile().GetExpireTime() == nil {
		t.Errorf("response %v", resp)
	}
	var header metadata.MD
	body := must(ops.DownloadOperationResult(ctxFor(t), &pb.DownloadOperationResultRequest{Name: op.GetName()}, grpc.Header(&header))).ok(t)
	if int64(len(body.GetData())) != resp.GetFile().GetSizeBytes() || !strings.Contains(body.GetContentType(), "spreadsheetml") {
		t.Errorf("download: %d bytes of %s, the file says %d", len(body.GetData()), body.GetContentType(), resp.GetFile().GetSizeBytes())
	}
	checkCaseWorkbook(t, body.GetData(), 3)
	// The same file streamed, as a client reads one past gRPC's 4 MiB.
	stream := must(ops.StreamOperationResult(ctxFor(t), &pb.StreamOperationResultRequest{Name: op.GetName()})).ok(t)
	var streamed []byte
	for {
		piece, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("StreamOperationResult: %v", err)
		}
		if piece.GetContentType() != body.GetContentType() {
			t.Errorf("a piece of %q, the download %q", piece.GetContentType(), body.GetContentType())
		}
		streamed = append(streamed, piece.GetData()...)
	}
	if streamHeader, err := stream.Header(); err != nil || fmt.Sprint(streamHeader.Get(service.ContentDispositionKey)) != fmt.Sprint(header.Get(service.ContentDispositionKey)) {
		t.Errorf("the stream's header %v (%v), the download's %v", streamHeader, err, header)
	}
	if !bytes.Equal(streamed, body.GetData()) {
		t.Errorf("streamed %d bytes, downloaded %d, not the same", len(streamed), len(body.GetData()))
	}

	// HTTP: the same round trip as JSON, the file with its name.
	code, out := e.jsonHTTP(t, http.MethodPost, "/v1/cases:export", `{"orderBy": "create_time desc"}`)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/cases:export: %d %s", code, out)
	}
	var started struct{ Name string }
	if err := json.Unmarshal(out, &started); err != nil || !strings.HasPrefix(started.Name, "operations/") {
		t.Fatalf("POST /v1/cases:export answered %s", out)
	}
	waitDone(t, ops, started.Name)
	code, out = e.jsonHTTP(t, http.MethodGet, "/v1/"+started.Name, "")
	httpOp := &longrunningpb.Operation{}
	if err := protojson.Unmarshal(out, httpOp); code != http.StatusOK || err != nil || !httpOp.GetDone() {
		t.Fatalf("GET %s: %d %s (%v)", started.Name, code, out, err)
	}
	code, hdr, data, err := e.doHTTP(t, nil, e.httpBase+"/v1/"+started.Name+":download", http.MethodGet, nil, 0, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("download over HTTP: %d %v", code, err)
	}
	if cd := hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename*=UTF-8''") || !strings.HasSuffix(cd, ".xlsx") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !strings.Contains(hdr.Get("Content-Type"), "spreadsheetml") {
		t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
	}
	checkCaseWorkbook(t, data, 3)

	// Cancelling a finished operation changes nothing.
	must(ops.CancelOperation(ctxFor(t), &pb.CancelOperationRequest{Name: op.GetName()})).ok(t)
	if md := metadataOf(t, must(ops.GetOperation(ctxFor(t), &pb.GetOperationRequest{Name: op.GetName()})).ok(t)); md.GetState() != pb.OperationMetadata_STATE_SUCCEEDED {
		t.Errorf("cancelling a finished operation made it %v", md.GetState())
	}

	// Lists: newest first, filtered.
	list := must(ops.ListOperations(ctxFor(t), &pb.ListOperationsRequest{Filter: "done = true AND kind = KIND_EXPORT_CASES"})).ok(t)
	if len(list.GetOperations()) != 2 || list.GetOperations()[0].GetName() != started.Name {
		t.Errorf("list: %v", list.GetOperations())
	}
	if n := len(must(ops.ListOperations(ctxFor(t), &pb.ListOperationsRequest{Filter: "done = false"})).ok(t).GetOperations()); n != 0 {
		t.Errorf("%d operations not done", n)
	}

	// Another caller is told it does not exist; an auditor reads it.
	other := e.dial(t, e.token(t, "e2e-other-caseworker", []principal.Role{principal.Caseworker}, "500230101"))
	otherOps := pb.NewOperationServiceClient(other)
	must(otherOps.GetOperation(ctxFor(t), &pb.GetOperationRequest{Name: op.GetName()})).fails(t, codes.NotFound)
	must(otherOps.DownloadOperationResult(ctxFor(t), &pb.DownloadOperationResultRequest{Name: op.GetName()})).fails(t, codes.NotFound)
	if _, err := must(otherOps.StreamOperationResult(ctxFor(t), &pb.StreamOperationResultRequest{Name: op.GetName()})).ok(t).Recv(); status.Code(err) != codes.NotFound {
		t.Errorf("another caller's stream: %v, want NotFound", err)
	}
	must(otherOps.CancelOperation(ctxFor(t), &pb.CancelOperationRequest{Name: op.GetName()})).fails(t, codes.NotFound)
	if n := len(must(otherOps.ListOperations(ctxFor(t), &pb.ListOperationsRequest{})).ok(t).GetOperations()); n != 0 {
		t.Errorf("another caller lists %d operations", n)
	}
	code, _, _, _ = e.doHTTP(t, e.httpAs(e.token(t, "e2e-other-caseworker", []principal.Role{principal.Caseworker}, "500230101")),
		e.httpBase+"/v1/"+op.GetName(), http.MethodGet, nil, 0, nil)
	if code != http.StatusNotFound {
		t.Errorf("another caller's GET: %d, want 404", code)
	}
	code, _, data, _ = e.doHTTP(t, e.httpAs(e.token(t, "e2e-other-caseworker", []principal.Role{principal.Caseworker}, "500230101")),
		e.httpBase+"/v1/"+op.GetName()+":download", http.MethodGet, nil, 0, nil)
	if code != http.StatusNotFound || !json.Valid(data) {
		t.Errorf("another caller's download: %d %s, want 404 as JSON", code, data)
	}
	auditor := pb.NewOperationServiceClient(e.dial(t, e.token(t, "e2e-auditor", []principal.Role{principal.Auditor})))
	must(auditor.GetOperation(ctxFor(t), &pb.GetOperationRequest{Name: op.GetName()})).ok(t)

	// google.longrunning.Operations answers the same.
	lro := longrunningpb.NewOperationsClient(conn)
	same := must(lro.GetOperation(ctxFor(t), &longrunningpb.GetOperationRequest{Name: op.GetName()})).ok(t)
	if !same.GetDone() || same.GetName() != op.GetName() {
		t.Errorf("google.longrunning: %v", same)
	}
	waited := must(lro.WaitOperation(ctxFor(t), &longrunningpb.WaitOperationRequest{Name: started.Name})).ok(t)
	if !waited.GetDone() {
		t.Errorf("WaitOperation answered an operation not done")
	}
	if n := len(must(lro.ListOperations(ctxFor(t), &longrunningpb.ListOperationsRequest{Name: "operations"})).ok(t).GetOperations()); n != 2 {
		t.Errorf("google.longrunning lists %d operations", n)
	}

	// Downloads are audited.
	var downloads int64
	if err := e.db.Gorm.Table("audit_log").Where("action = ? AND resource = ?", "download", op.GetName()).Count(&downloads).Error; err != nil {
		t.Fatal(err)
	}
	if downloads != 2 {
		t.Errorf("%d audit entries for the gRPC download and stream, want 2", downloads)
	}
}

// testOperationsQueued: an operation no server has started yet is not
// ready to download, and cancelling it ends it at once; another server
// runs what an API-only server queued; a file past its TTL is gone.
func testOperationsQueued(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) { c.JobWorkers = -1 })
	apiOnly := e.conn
	e.someCases(t, 2)
	sheets, ops := pb.NewSpreadsheetServiceClient(apiOnly), pb.NewOperationServiceClient(apiOnly)

	op := must(sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{})).ok(t)
	wantReason(t, must(ops.DownloadOperationResult(ctxFor(t), &pb.DownloadOperationResultRequest{Name: op.GetName()})).fails(t, codes.FailedPrecondition), pb.ErrorReason_RESULT_NOT_READY)
	must(ops.CancelOperation(ctxFor(t), &pb.CancelOperationRequest{Name: op.GetName()})).ok(t)
	cancelled := must(ops.GetOperation(ctxFor(t), &pb.GetOperationRequest{Name: op.GetName()})).ok(t)
	if md := metadataOf(t, cancelled); !cancelled.GetDone() || md.GetState() != pb.OperationMetadata_STATE_CANCELLED ||
		!md.GetCancelRequested() || codes.Code(cancelled.GetError().GetCode()) != codes.Canceled {
		t.Errorf("cancelled: %v, error %v", md, cancelled.GetError())
	}

	// A server that runs jobs, with files kept for a second.
	queued := must(sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{})).ok(t)
	secondStore := e.secondStore(t)
	e.serveWith(t, secondStore, func(c *server.Config) {
		fastJobs(c)
		c.OperationFileTTL = time.Second
	})
	done := waitDone(t, ops, queued.GetName())
	if md := metadataOf(t, done); md.GetState() != pb.OperationMetadata_STATE_SUCCEEDED || md.GetRowsWritten() != 2 {
		t.Fatalf("run by the other server: %v %v", md, done.GetError())
	}
	// The cancelled one stays cancelled: its job never ran it.
	if md := metadataOf(t, must(ops.GetOperation(ctxFor(t), &pb.GetOperationRequest{Name: op.GetName()})).ok(t)); md.GetState() != pb.OperationMetadata_STATE_CANCELLED {
		t.Errorf("the cancelled operation is now %v", md.GetState())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := ops.DownloadOperationResult(ctxFor(t), &pb.DownloadOperationResultRequest{Name: queued.GetName()})
		if err != nil {
			wantReason(t, must(ops.DownloadOperationResult(ctxFor(t), &pb.DownloadOperationResultRequest{Name: queued.GetName()})).fails(t, codes.FailedPrecondition), pb.ErrorReason_RESULT_EXPIRED)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file is still there 20s after its expire_time")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var files int64
	if err := e.db.Gorm.Table("operation_files").Count(&files).Error; err != nil {
		t.Fatal(err)
	}
	if files != 0 {
		t.Errorf("%d files left after their expiry", files)
	}
}

// testOperationsTwoServers: exports started on two servers sharing the
// database each run exactly once.
func testOperationsTwoServers(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), fastJobs)
	connA := e.conn
	_, connB := e.serveWith(t, e.secondStore(t), fastJobs)
	e.someCases(t, 2)
	const n = 8
	var names []string
	for i := range n {
		conn := connA
		if i%2 == 1 {
			conn = connB
		}
		names = append(names, must(pb.NewSpreadsheetServiceClient(conn).ExportCases(ctxFor(t), &pb.ExportCasesRequest{})).ok(t).GetName())
	}
	ops := pb.NewOperationServiceClient(connA)
	for _, name := range names {
		if md := metadataOf(t, waitDone(t, ops, name)); md.GetState() != pb.OperationMetadata_STATE_SUCCEEDED {
			t.Errorf("%s: %v", name, md.GetState())
		}
	}
	var runs []struct {
		Runs    int
		Attempt int
	}
	if err := e.db.Gorm.Raw(`SELECT o.runs, j.attempt FROM operations o JOIN river_job j ON j.id = o.job_id`).Scan(&runs).Error; err != nil {
		t.Fatal(err)
	}
	if len(runs) != n {
		t.Fatalf("%d operations with a job, want %d", len(runs), n)
	}
	for _, r := range runs {
		if r.Runs != 1 || r.Attempt != 1 {
			t.Errorf("an operation ran %d times (job attempt %d), want once", r.Runs, r.Attempt)
		}
	}
}

// testOperationsRestart: an operation whose server died while running it
// (its job and row left running, as a crash leaves them) is run again by
// the queue after its rescue window and ends; one whose job was given up
// on ends failed. Neither stays running.
func testOperationsRestart(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) { c.JobWorkers = -1 })
	apiOnly := e.conn
	e.someCases(t, 1)
	sheets, ops := pb.NewSpreadsheetServiceClient(apiOnly), pb.NewOperationServiceClient(apiOnly)
	crashed := must(sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{})).ok(t).GetName()
	abandoned := must(sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{})).ok(t).GetName()
	id := func(name string) string { return strings.TrimPrefix(name, "operations/") }
	// What a server killed mid-run leaves: the job running, attempted an
	// hour ago by a client that is gone, and the operation running.
	long := time.Now().Add(-time.Hour).UTC()
	for _, name := range []string{crashed, abandoned} {
		if err := e.db.Gorm.Exec(`UPDATE operations SET state = 'running', runs = 1 WHERE id = ?`, id(name)).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.Gorm.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = ? WHERE id = (SELECT job_id FROM operations WHERE id = ?)`,
		long, id(crashed)).Error; err != nil {
		t.Fatal(err)
	}
	// The other's last attempt was interrupted: the queue discards it
	// without running our code.
	if err := e.db.Gorm.Exec(`UPDATE river_job SET state = 'discarded', attempt = max_attempts, attempted_at = ?, finalized_at = ? WHERE id = (SELECT job_id FROM operations WHERE id = ?)`,
		long, long, id(abandoned)).Error; err != nil {
		t.Fatal(err)
	}
	e.serveWith(t, e.secondStore(t), func(c *server.Config) {
		fastJobs(c)
		c.JobRescueAfter = time.Second
	})
	lro := pb.NewOperationServiceClient(apiOnly)
	if md := metadataOf(t, waitDone(t, lro, abandoned)); md.GetState() != pb.OperationMetadata_STATE_FAILED {
		t.Errorf("the abandoned operation ended %v", md.GetState())
	}
	ctx, cancel := context.WithTimeout(ctxFor(t), 90*time.Second)
	defer cancel()
	for {
		op, err := ops.GetOperation(ctx, &pb.GetOperationRequest{Name: crashed})
		if err != nil {
			t.Fatalf("the crashed operation is still not done: %v", err)
		}
		if op.GetDone() {
			md := metadataOf(t, op)
			if md.GetState() != pb.OperationMetadata_STATE_SUCCEEDED || md.GetRowsWritten() != 1 {
				t.Errorf("the crashed operation ended %v (%v)", md, op.GetError())
			}
			var runs int
			if err := e.db.Gorm.Raw(`SELECT runs FROM operations WHERE id = ?`, id(crashed)).Scan(&runs).Error; err != nil {
				t.Fatal(err)
			}
			if runs != 2 {
				t.Errorf("the crashed operation was started %d times, want twice (the crash, then the rescue)", runs)
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
}
