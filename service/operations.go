package service

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"buf.build/go/protovalidate"
	longrunningpb "cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/api/httpbody"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// OperationStore keeps long-running operations and their files.
type OperationStore interface {
	CreateOperation(ctx context.Context, o *repository.Operation, enqueue func(ctx context.Context, tx *sql.Tx) (int64, error)) error
	GetOperation(ctx context.Context, id string) (*repository.Operation, error)
	ListOperations(ctx context.Context, q repository.OperationQuery) ([]repository.Operation, *repository.Cursor, error)
	StartOperation(ctx context.Context, id string) (*repository.Operation, error)
	ReportOperation(ctx context.Context, id string, p repository.Progress) (bool, error)
	FinishOperation(ctx context.Context, id string, end repository.OperationEnd) error
	CancelOperation(ctx context.Context, id string, cancelled []byte) (*repository.Operation, error)
	OperationFile(ctx context.Context, id string) (io.ReadCloser, error)
	ExpireOperationFiles(ctx context.Context, now time.Time) (int64, error)
	PruneOperations(ctx context.Context, before time.Time) (int64, error)
	FailOrphanedOperations(ctx context.Context, failed []byte) (int64, error)
	DeleteOperation(ctx context.Context, id string) error
	Auditor
}

// Queue puts an operation's job on the job queue, inside the transaction
// (tx) that stores the operation.
type Queue interface {
	EnqueueOperation(ctx context.Context, tx *sql.Tx, id string) (int64, error)
}

// OperationOptions configure how operations run and how long they last.
type OperationOptions struct {
	// FileTTL is how long an operation's file may be downloaded (0: 24h).
	FileTTL time.Duration
	// Retention is how long an ended operation is kept (0: 30 days).
	Retention time.Duration
	// ProgressEvery is how often a running operation's progress is
	// stored (0: 300ms).
	ProgressEvery time.Duration
	// TempDir holds files while they are written ("": the system's).
	TempDir string
	Log     *slog.Logger
}

// Works are the imports and exports operations run, by kind. A kind
// missing here answers UNIMPLEMENTED when asked for.
type Works struct {
	imports importer
	exports map[pb.OperationMetadata_Kind]exporter
}

// NewWorks builds the works this build has: the household import over the
// household service (its rules and its batch update path), and an export of
// each ledger from the store it reads.
func NewWorks(store ExportStore, households *Households, t *towns.Table, o Options) Works {
	return Works{
		imports: NewHouseholdImport(households),
		exports: map[pb.OperationMetadata_Kind]exporter{
			pb.OperationMetadata_KIND_EXPORT_CASES:      NewCaseExporter(store, t, o).e,
			pb.OperationMetadata_KIND_EXPORT_HOUSEHOLDS: newHouseholdExport(store, t, o),
			pb.OperationMetadata_KIND_EXPORT_CAMPAIGN:   newCampaignExport(store, t, o),
			pb.OperationMetadata_KIND_EXPORT_MEASURES:   newMeasureExport(store, t, o),
		},
	}
}

// spreadsheetSvc is the service whose methods start operations; a job
// runs with the scope the policy gives its creator for the method that
// started it.
const spreadsheetSvc = "/casework.v1.SpreadsheetService/"

// kindSpec is what the runner knows of each kind of operation.
type kindSpec struct {
	method   string // the RPC that starts it
	request  func() proto.Message
	response string // the full name of its response message
}

var kindSpecs = map[pb.OperationMetadata_Kind]kindSpec{
	pb.OperationMetadata_KIND_IMPORT_HOUSEHOLDS: {spreadsheetSvc + "ImportHouseholds",
		func() proto.Message { return &pb.ImportHouseholdsRequest{} }, "casework.v1.ImportHouseholdsResponse"},
	pb.OperationMetadata_KIND_EXPORT_HOUSEHOLDS: {spreadsheetSvc + "ExportHouseholds",
		func() proto.Message { return &pb.ExportHouseholdsRequest{} }, "casework.v1.ExportResponse"},
	pb.OperationMetadata_KIND_EXPORT_CAMPAIGN: {spreadsheetSvc + "ExportCampaign",
		func() proto.Message { return &pb.ExportCampaignRequest{} }, "casework.v1.ExportResponse"},
	pb.OperationMetadata_KIND_EXPORT_MEASURES: {spreadsheetSvc + "ExportMeasures",
		func() proto.Message { return &pb.ExportMeasuresRequest{} }, "casework.v1.ExportResponse"},
	pb.OperationMetadata_KIND_EXPORT_CASES: {spreadsheetSvc + "ExportCases",
		func() proto.Message { return &pb.ExportCasesRequest{} }, "casework.v1.ExportResponse"},
}

// kindName is how a kind is stored: KIND_EXPORT_CASES as export_cases.
func kindName(k pb.OperationMetadata_Kind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "KIND_"))
}

func kindOf(stored string) pb.OperationMetadata_Kind {
	return pb.OperationMetadata_Kind(pb.OperationMetadata_Kind_value["KIND_"+strings.ToUpper(stored)])
}

var stateOf = map[repository.OperationState]pb.OperationMetadata_State{
	repository.OperationPending:   pb.OperationMetadata_STATE_PENDING,
	repository.OperationRunning:   pb.OperationMetadata_STATE_RUNNING,
	repository.OperationSucceeded: pb.OperationMetadata_STATE_SUCCEEDED,
	repository.OperationFailed:    pb.OperationMetadata_STATE_FAILED,
	repository.OperationCancelled: pb.OperationMetadata_STATE_CANCELLED,
}

// Operations implements pb.OperationServiceServer and runs the operations'
// jobs. Its twin LongRunning serves the same operations as
// google.longrunning.Operations.
type Operations struct {
	pb.UnimplementedOperationServiceServer
	base
	store OperationStore
	queue Queue
	works Works
	opts  OperationOptions
	log   *slog.Logger
}

// NewOperations builds the operation service and runner. queue may be set
// later (SetQueue), as the queue needs the runner to be built.
func NewOperations(store OperationStore, works Works, v protovalidate.Validator, o Options, oo OperationOptions) *Operations {
	oo.FileTTL = cmp.Or(oo.FileTTL, 24*time.Hour)
	oo.Retention = cmp.Or(oo.Retention, 30*24*time.Hour)
	oo.ProgressEvery = cmp.Or(oo.ProgressEvery, 300*time.Millisecond)
	log := oo.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if works.exports == nil {
		works.exports = map[pb.OperationMetadata_Kind]exporter{}
	}
	return &Operations{base: newBase(v, o), store: store, works: works, opts: oo, log: log}
}

// SetQueue gives the runner the queue its operations' jobs go on.
func (s *Operations) SetQueue(q Queue) { s.queue = q }

// errNoWork answers a kind of operation this build cannot run yet.
var errNoWork = apierr.New(codes.Unimplemented, pb.ErrorReason_METHOD_NOT_ALLOWED,
	"this server cannot run this kind of operation yet")

var (
	errNotReady = apierr.New(codes.FailedPrecondition, pb.ErrorReason_RESULT_NOT_READY,
		"the operation has not finished, or finished without a file")
	errExpired = apierr.New(codes.FailedPrecondition, pb.ErrorReason_RESULT_EXPIRED,
		"the operation's file has passed its expire_time and was deleted; run the export again")
)

// start checks the request as its work would, then stores the operation
// and queues its job in one transaction, and answers it PENDING.
func (s *Operations) start(ctx context.Context, kind pb.OperationMetadata_Kind, req proto.Message) (*longrunningpb.Operation, error) {
	spec := kindSpecs[kind]
	switch {
	case kind == pb.OperationMetadata_KIND_IMPORT_HOUSEHOLDS && s.works.imports != nil:
		if err := s.works.imports.check(ctx, req.(*pb.ImportHouseholdsRequest)); err != nil {
			return nil, err
		}
	case kind != pb.OperationMetadata_KIND_IMPORT_HOUSEHOLDS && s.works.exports[kind] != nil:
		if err := s.works.exports[kind].check(ctx, req); err != nil {
			return nil, err
		}
	default:
		return nil, errNoWork
	}
	p := principal.FromContext(ctx)
	if p == nil || s.queue == nil {
		return nil, errors.New("service: an operation needs a principal and a queue")
	}
	body, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	op := &repository.Operation{
		ID: newID(), Kind: kindName(kind), Method: spec.method,
		Creator: p.ID, CreatorKind: p.Kind, CreatorRoles: p.Roles, CreatorTowns: p.Towns,
		CreatorCredential: p.Credential, CreatorKeyID: p.KeyID, Request: body,
	}
	if err := s.store.CreateOperation(ctx, op, func(ctx context.Context, tx *sql.Tx) (int64, error) {
		return s.queue.EnqueueOperation(ctx, tx, op.ID)
	}); err != nil {
		return nil, err
	}
	return s.render(op)
}

// render is an operation as google.longrunning.Operation.
func (s *Operations) render(op *repository.Operation) (*longrunningpb.Operation, error) {
	kind := kindOf(op.Kind)
	md := &pb.OperationMetadata{
		Kind: kind, State: stateOf[op.State], Creator: op.Creator,
		CreateTime: timestamppb.New(op.CreateTime), UpdateTime: timestamppb.New(op.UpdateTime),
		RowsRead: op.RowsRead, RowsWritten: op.RowsWritten, RowsRefused: op.RowsRefused,
		RowsUnchanged: op.RowsUnchanged, RowsTotal: op.RowsTotal, CancelRequested: op.CancelRequested,
		File: fileOf(op),
	}
	if op.EndTime != nil {
		md.EndTime = timestamppb.New(*op.EndTime)
	}
	anyMD, err := anypb.New(md)
	if err != nil {
		return nil, err
	}
	out := &longrunningpb.Operation{Name: names.Operation{ID: op.ID}.String(), Metadata: anyMD, Done: op.State.Done()}
	switch {
	case op.State == repository.OperationSucceeded:
		out.Result = &longrunningpb.Operation_Response{Response: &anypb.Any{
			TypeUrl: "type.googleapis.com/" + kindSpecs[kind].response, Value: op.Response}}
	case op.State.Done():
		st := &spb.Status{}
		if err := proto.Unmarshal(op.Error, st); err != nil {
			return nil, err
		}
		out.Result = &longrunningpb.Operation_Error{Error: st}
	}
	return out, nil
}

func fileOf(op *repository.Operation) *pb.OperationFile {
	if op.FileName == "" {
		return nil
	}
	f := &pb.OperationFile{Filename: op.FileName, ContentType: op.ContentType, SizeBytes: op.FileSize,
		Sha256: op.FileSha256, DownloadUri: "/v1/" + names.Operation{ID: op.ID}.String() + ":download"}
	if op.ExpireTime != nil {
		f.ExpireTime = timestamppb.New(*op.ExpireTime)
	}
	return f
}

// visible loads the operation name names, if the caller may read it: its
// creator, or an auditor. Anyone else is told it does not exist.
func (s *Operations) visible(ctx context.Context, name string) (*repository.Operation, error) {
	n, err := names.As[names.Operation](name)
	if err != nil {
		return nil, repository.ErrNotFound
	}
	op, err := s.store.GetOperation(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	p := principal.FromContext(ctx)
	if p == nil || (op.Creator != p.ID && !p.Has(principal.Auditor)) {
		return nil, repository.ErrNotFound
	}
	return op, nil
}

// GetOperation answers an operation as it stands.
func (s *Operations) GetOperation(ctx context.Context, req *pb.GetOperationRequest) (*longrunningpb.Operation, error) {
	op, err := s.visible(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return s.render(op)
}

// operationFilter is the schema of ListOperations filters.
var operationFilter = filter.Schema{
	"done": {Kind: filter.KindBool},
	"kind": {Kind: filter.KindEnum, Prefix: "KIND_", Values: []string{
		"IMPORT_HOUSEHOLDS", "EXPORT_HOUSEHOLDS", "EXPORT_CAMPAIGN", "EXPORT_MEASURES", "EXPORT_CASES"}},
}

// ListOperations lists the caller's operations (an auditor's: everyone's),
// newest first.
func (s *Operations) ListOperations(ctx context.Context, req *pb.ListOperationsRequest) (*pb.ListOperationsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), operationFilter)
	if err != nil {
		return nil, filterError(err)
	}
	p := principal.FromContext(ctx)
	q := repository.OperationQuery{Page: repository.Page{Size: cmp.Or(int(req.GetPageSize()), 20)}}
	if !p.Has(principal.Auditor) {
		q.Creator = p.ID
	}
	for _, c := range f.Conditions {
		switch c.Field {
		case "done":
			done := c.Bool
			q.Done = &done
		case "kind":
			q.Kind = strings.ToLower(c.Value)
		}
	}
	query := listQuery("operations", req.GetFilter(), "")
	if q.Page.After, err = s.pages.decode(req.GetPageToken(), query); err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListOperations(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListOperationsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		op, err := s.render(&rows[i])
		if err != nil {
			return nil, err
		}
		resp.Operations = append(resp.Operations, op)
	}
	return resp, nil
}

// cancelledStatus is the error of an operation stopped by CancelOperation.
func cancelledStatus() []byte {
	b, _ := proto.Marshal(apierr.Status(codes.Canceled, pb.ErrorReason_CANCELED, "the operation was cancelled").Proto())
	return b
}

// CancelOperation asks the operation to stop; only its creator may.
func (s *Operations) CancelOperation(ctx context.Context, req *pb.CancelOperationRequest) (*emptypb.Empty, error) {
	op, err := s.visible(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if op.Creator != principal.FromContext(ctx).ID {
		return nil, policy.ErrDenied
	}
	if _, err := s.store.CancelOperation(ctx, op.ID, cancelledStatus()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ContentDispositionKey is the response header metadata that names the
// downloaded file; the gateway answers it as Content-Disposition.
const ContentDispositionKey = "content-disposition"

// DownloadOperationResult answers the operation's file, audited.
func (s *Operations) DownloadOperationResult(ctx context.Context, req *pb.DownloadOperationResultRequest) (*httpbody.HttpBody, error) {
	op, file, err := s.openResult(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	// The answer is one message, so the file is read whole; into a buffer
	// of its size, which io.ReadAll would grow to twice that.
	buf := bytes.NewBuffer(make([]byte, 0, op.FileSize+bytes.MinRead))
	_, err = buf.ReadFrom(file)
	if err = errors.Join(err, file.Close()); err != nil {
		return nil, err
	}
	_ = grpc.SetHeader(ctx, resultHeader(op))
	return &httpbody.HttpBody{ContentType: op.ContentType, Data: buf.Bytes()}, nil
}

// StreamOperationResult answers the operation's file in pieces, audited.
func (s *Operations) StreamOperationResult(req *pb.StreamOperationResultRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	op, file, err := s.openResult(stream.Context(), req.GetName())
	if err != nil {
		return err
	}
	defer func() { _ = file.Close() }()
	if err := stream.SendHeader(resultHeader(op)); err != nil {
		return err
	}
	return sendPieces(stream, file, op.ContentType, nil)
}

// openResult opens the file of the operation name, as its caller may
// download it, and audits the download.
func (s *Operations) openResult(ctx context.Context, name string) (*repository.Operation, io.ReadCloser, error) {
	op, err := s.visible(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case op.FileExpired:
		return nil, nil, errExpired
	case !op.State.Done() || op.FileName == "":
		return nil, nil, errNotReady
	}
	file, err := s.store.OperationFile(ctx, op.ID)
	if errors.Is(err, repository.ErrNotFound) {
		return nil, nil, errExpired
	}
	if err != nil {
		return nil, nil, err
	}
	resource := names.Operation{ID: op.ID}.String()
	if err := s.store.AppendAudit(ctx, audit.FromContext(ctx).Entry(audit.ActionDownload, resource, audit.OutcomeOK, nil)); err != nil {
		_ = file.Close()
		return nil, nil, err
	}
	return op, file, nil
}

// resultHeader names an operation's file for the download's response.
// RFC 6266/5987: the name is Chinese, so it goes percent-encoded.
func resultHeader(op *repository.Operation) metadata.MD {
	return metadata.Pairs(ContentDispositionKey, "attachment; filename*=UTF-8''"+url.PathEscape(op.FileName))
}

// --- the runner ---------------------------------------------------------

// errCancelRequested ends a run whose cancellation was asked for.
var errCancelRequested = errors.New("cancellation requested")

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Run is the job of operation id: it runs the operation's work with its
// creator's rights and scope, and stores how it ended. An error returned
// leaves the operation running, for the queue to retry the job; on the
// last attempt the operation is ended as failed instead.
func (s *Operations) Run(ctx context.Context, id string, lastAttempt bool) (err error) {
	// The queue logs a job's error and keeps it in its table: it gets the
	// error's types only, as the logs do, since a database error quotes
	// the values it failed on (an ID number, in an import).
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("operation %s: panic (%T)", id, r)
		} else if err != nil {
			err = fmt.Errorf("operation %s: %s", id, apierr.ErrorType(err))
		}
	}()
	return s.run(ctx, id, lastAttempt)
}

func (s *Operations) run(ctx context.Context, id string, lastAttempt bool) error {
	op, err := s.store.StartOperation(ctx, id)
	if errors.Is(err, repository.ErrOperationDone) || errors.Is(err, repository.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	kind := kindOf(op.Kind)
	spec := kindSpecs[kind]
	p := op.Principal()
	wctx := principal.NewContext(ctx, p)
	wctx = principal.WithScope(wctx, policy.Scope(p, op.Method))
	wctx = audit.NewContext(wctx, &audit.Record{Principal: p.ID, Roles: joinRoles(p.Roles), Credential: p.Credential, Method: op.Method})
	wctx, cancel := context.WithCancelCause(wctx)
	defer cancel(nil)

	// What the work writes goes to a temporary file, and from there to
	// the store part by part, so that memory stays flat however large the
	// file grows.
	tmp, err := os.CreateTemp(s.opts.TempDir, "casework-operation-*")
	if err != nil {
		return err
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()

	prog := newProgressFlusher(s, id, cancel)
	stop := prog.run(ctx, s.opts.ProgressEvery)
	defer stop()
	end, workErr := s.work(wctx, id, kind, spec, op.Request, tmp, prog.report)
	stop()
	if errors.Is(context.Cause(wctx), errCancelRequested) {
		end = repository.OperationEnd{State: repository.OperationCancelled, Error: cancelledStatus()}
		workErr = nil
	}
	end.Progress = prog.last()
	if workErr != nil {
		if ctx.Err() != nil || (apierr.Fault(workErr) && !lastAttempt) {
			// Stopped by the server's shutdown, or by a fault worth
			// another attempt: the queue runs the job again.
			s.log.Warn("operation interrupted", "operation", id, "error_type", apierr.ErrorType(workErr))
			return workErr
		}
		st := status.Convert(apierr.ToStatus(workErr)).Proto()
		b, err := proto.Marshal(st)
		if err != nil {
			return err
		}
		failed := repository.OperationEnd{State: repository.OperationFailed, Error: b, Progress: prog.last()}
		// A work may fail with a file to offer (an import's report).
		failed.File, failed.FileSize, failed.FileName, failed.FileSha256 = end.File, end.FileSize, end.FileName, end.FileSha256
		failed.ContentType, failed.ExpireTime = end.ContentType, end.ExpireTime
		end = failed
	}
	if err := s.store.FinishOperation(ctx, id, end); err != nil && !errors.Is(err, repository.ErrOperationDone) {
		return err
	}
	return nil
}

// work runs one kind's work, the file it writes going to tmp, which the
// end it returns reads from.
func (s *Operations) work(ctx context.Context, id string, kind pb.OperationMetadata_Kind, spec kindSpec, body []byte, tmp *os.File, report Reporter) (repository.OperationEnd, error) {
	req := spec.request()
	if err := proto.Unmarshal(body, req); err != nil {
		return repository.OperationEnd{}, err
	}
	end := repository.OperationEnd{State: repository.OperationSucceeded}
	var fileName string
	var exported *pb.ExportResponse // an export's response, once its file is known
	switch {
	case kind == pb.OperationMetadata_KIND_IMPORT_HOUSEHOLDS && s.works.imports != nil:
		resp, name, err := s.works.imports.run(ctx, req.(*pb.ImportHouseholdsRequest), tmp, report)
		if err != nil {
			if name == "" {
				return end, err
			}
			// A refused file's report workbook is what the clerk fixes the
			// file from, so it is offered beside the error.
			if ferr := s.attachFile(&end, tmp, name); ferr != nil {
				return end, ferr
			}
			return end, err
		}
		fileName = name
		if end.Response, err = proto.Marshal(resp); err != nil {
			return end, err
		}
	case kind != pb.OperationMetadata_KIND_IMPORT_HOUSEHOLDS && s.works.exports[kind] != nil:
		name, rows, err := s.works.exports[kind].export(ctx, req, tmp, report)
		if err != nil {
			return end, err
		}
		fileName, exported = name, &pb.ExportResponse{Rows: rows}
	default:
		return end, errNoWork
	}
	if fileName == "" {
		return end, nil
	}
	if err := s.attachFile(&end, tmp, fileName); err != nil {
		return end, err
	}
	if exported != nil {
		exported.File = fileOf(&repository.Operation{ID: id, FileName: end.FileName, ContentType: end.ContentType,
			FileSize: end.FileSize, FileSha256: end.FileSha256, ExpireTime: &end.ExpireTime})
		var err error
		if end.Response, err = proto.Marshal(exported); err != nil {
			return end, err
		}
	}
	return end, nil
}

// attachFile makes what the work wrote to tmp the operation's file, read
// twice from the disk (its hash now, its bytes when it is stored) rather
// than held in memory.
func (s *Operations) attachFile(end *repository.OperationEnd, tmp *os.File, fileName string) error {
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := sha256.New()
	size, err := io.Copy(h, tmp)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	end.File, end.FileSize, end.FileName, end.FileSha256 = tmp, size, fileName, hex.EncodeToString(h.Sum(nil))
	end.ContentType = xlsxType
	if strings.HasSuffix(strings.ToLower(fileName), ".csv") {
		end.ContentType = "text/csv; charset=utf-8"
	}
	end.ExpireTime = s.now().Add(s.opts.FileTTL)
	return nil
}

// progressFlusher keeps the latest progress a work reported and stores it
// every so often from a goroutine of its own: a work may call its reporter
// inside a transaction, and on SQLite's single connection a write from
// there would wait for itself.
type progressFlusher struct {
	s      *Operations
	id     string
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	p      Progress
}

func newProgressFlusher(s *Operations, id string, cancel context.CancelCauseFunc) *progressFlusher {
	return &progressFlusher{s: s, id: id, cancel: cancel}
}

func (f *progressFlusher) report(p Progress) {
	f.mu.Lock()
	f.p = p
	f.mu.Unlock()
}

func (f *progressFlusher) last() repository.Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return repository.Progress(f.p)
}

// run stores progress every interval until the returned stop is called,
// and cancels the work when the operation's cancellation was asked for.
func (f *progressFlusher) run(ctx context.Context, every time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cancelled, err := f.s.store.ReportOperation(ctx, f.id, f.last())
			if err != nil {
				f.s.log.Warn("storing an operation's progress", "operation", f.id, "error_type", apierr.ErrorType(err))
				continue
			}
			if cancelled {
				f.cancel(errCancelRequested)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-finished }) }
}

// Sweep is the queue's periodic upkeep: files past their expire_time are
// deleted, operations ended longer ago than the retention are deleted, and
// operations whose job the queue gave up on are ended as failed.
func (s *Operations) Sweep(ctx context.Context) error {
	now := s.now()
	if n, err := s.store.ExpireOperationFiles(ctx, now); err != nil {
		return err
	} else if n > 0 {
		s.log.Info("deleted expired operation files", "count", n)
	}
	if n, err := s.store.PruneOperations(ctx, now.Add(-s.opts.Retention)); err != nil {
		return err
	} else if n > 0 {
		s.log.Info("deleted old operations", "count", n)
	}
	failed, err := proto.Marshal(apierr.Status(codes.Aborted, pb.ErrorReason_ABORTED,
		"the operation was interrupted too often (its server stopped while running it); start it again").Proto())
	if err != nil {
		return err
	}
	if n, err := s.store.FailOrphanedOperations(ctx, failed); err != nil {
		return err
	} else if n > 0 {
		s.log.Warn("ended interrupted operations as failed", "count", n)
	}
	return nil
}

func joinRoles(rs []principal.Role) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return strings.Join(out, ",")
}

// --- google.longrunning.Operations ---------------------------------------

// LongRunning serves the operations as google.longrunning.Operations, for
// gRPC clients whose libraries poll that service. It delegates to
// Operations, so both answer alike.
type LongRunning struct {
	longrunningpb.UnimplementedOperationsServer
	ops *Operations
}

// NewLongRunning wraps ops.
func NewLongRunning(ops *Operations) *LongRunning { return &LongRunning{ops: ops} }

// GetOperation is OperationService.GetOperation.
func (l *LongRunning) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	return l.ops.GetOperation(ctx, &pb.GetOperationRequest{Name: req.GetName()})
}

// ListOperations is OperationService.ListOperations; name must be empty
// or "operations".
func (l *LongRunning) ListOperations(ctx context.Context, req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	if n := req.GetName(); n != "" && n != "operations" {
		return nil, repository.ErrNotFound
	}
	if req.GetPageSize() < 0 || req.GetPageSize() > 100 {
		return nil, domain.Invalid("page_size", "must be between 0 and 100")
	}
	resp, err := l.ops.ListOperations(ctx, &pb.ListOperationsRequest{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Filter: req.GetFilter()})
	if err != nil {
		return nil, err
	}
	return &longrunningpb.ListOperationsResponse{Operations: resp.GetOperations(), NextPageToken: resp.GetNextPageToken()}, nil
}

// CancelOperation is OperationService.CancelOperation.
func (l *LongRunning) CancelOperation(ctx context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	return l.ops.CancelOperation(ctx, &pb.CancelOperationRequest{Name: req.GetName()})
}

// DeleteOperation deletes an ended operation of the caller's, with its file.
func (l *LongRunning) DeleteOperation(ctx context.Context, req *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	op, err := l.ops.visible(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if op.Creator != principal.FromContext(ctx).ID {
		return nil, policy.ErrDenied
	}
	if err := l.ops.store.DeleteOperation(ctx, op.ID); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// waitPoll is how often WaitOperation reads the operation again.
const waitPoll = 200 * time.Millisecond

// WaitOperation answers the operation once it is done, or as it stands
// when the timeout (at most the call's own deadline; 0: that deadline)
// passes.
func (l *LongRunning) WaitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	if d := req.GetTimeout().AsDuration(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	for {
		op, err := l.ops.visible(ctx, req.GetName())
		if err != nil || op.State.Done() {
			if err != nil && ctx.Err() != nil {
				break
			}
			if err != nil {
				return nil, err
			}
			return l.ops.render(op)
		}
		select {
		case <-ctx.Done():
			return l.ops.render(op)
		case <-tick.C:
		}
	}
	return nil, ctx.Err()
}
