package service

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// endlessExport reports a row at a time until its context ends, as a very
// large export would; started says it is running.
type endlessExport struct{ started chan struct{} }

func (endlessExport) check(context.Context, proto.Message) error { return nil }

func (x endlessExport) export(ctx context.Context, _ proto.Message, _ io.Writer, report Reporter) (string, int64, error) {
	close(x.started)
	for n := int64(1); ; n++ {
		report(Progress{Read: n, Written: n})
		select {
		case <-ctx.Done():
			return "", n, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// queueNothing queues no job: the test runs the operation itself.
type queueNothing struct{}

func (queueNothing) EnqueueOperation(context.Context, *sql.Tx, string) (int64, error) { return 1, nil }

// TestCancelStopsARunningOperation: a running export notices the
// cancellation when it next stores its progress, stops, and ends
// CANCELLED with the rows it had reached; a cancel of another caller's
// operation is NOT_FOUND.
func TestCancelStopsARunningOperation(t *testing.T) {
	for _, open := range []func(testing.TB) testdb.DB{testdb.SQLite, testdb.Postgres} {
		db := open(t)
		t.Run(string(db.Dialect), func(t *testing.T) {
			store := db.Store()
			x := endlessExport{started: make(chan struct{})}
			ops := NewOperations(store, Works{exports: map[pb.OperationMetadata_Kind]exporter{pb.OperationMetadata_KIND_EXPORT_CASES: x}},
				nil, Options{PageTokenKey: []byte("operations-test-page-token-key-0123")}, OperationOptions{ProgressEvery: 10 * time.Millisecond})
			ops.SetQueue(queueNothing{})
			p := &principal.Principal{ID: "alice", Kind: principal.User, Roles: []principal.Role{principal.Caseworker}, Towns: []string{"500230101"}}
			ctx := principal.NewContext(context.Background(), p)
			op, err := ops.start(ctx, pb.OperationMetadata_KIND_EXPORT_CASES, &pb.ExportCasesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			ran := make(chan error, 1)
			go func() { ran <- ops.Run(context.Background(), op.GetName()[len("operations/"):], false) }()
			<-x.started
			bob := principal.NewContext(context.Background(), &principal.Principal{ID: "bob", Roles: []principal.Role{principal.Caseworker}})
			if _, err := ops.CancelOperation(bob, &pb.CancelOperationRequest{Name: op.GetName()}); !errors.Is(err, repository.ErrNotFound) {
				t.Fatalf("another caller's cancel: %v", err)
			}
			if _, err := ops.CancelOperation(ctx, &pb.CancelOperationRequest{Name: op.GetName()}); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-ran:
				if err != nil {
					t.Fatalf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the export did not stop within 10s of its cancellation")
			}
			got, err := ops.GetOperation(ctx, &pb.GetOperationRequest{Name: op.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			md := &pb.OperationMetadata{}
			_ = got.GetMetadata().UnmarshalTo(md)
			if !got.GetDone() || md.GetState() != pb.OperationMetadata_STATE_CANCELLED || codes.Code(got.GetError().GetCode()) != codes.Canceled ||
				md.GetRowsRead() == 0 || md.GetFile() != nil {
				t.Fatalf("after the cancel: %v, error %v", md, got.GetError())
			}
		})
	}
}

// fixedExport writes data as its workbook.
type fixedExport struct{ data []byte }

func (fixedExport) check(context.Context, proto.Message) error { return nil }

func (x fixedExport) export(_ context.Context, _ proto.Message, w io.Writer, _ Reporter) (string, int64, error) {
	_, err := w.Write(x.data)
	return "案件台账.xlsx", 1, err
}

// pieces is the server side of a StreamOperationResult call: it keeps
// what is sent.
type pieces struct {
	grpc.ServerStream
	ctx    context.Context
	header metadata.MD
	sent   []*httpbody.HttpBody
}

func (p *pieces) Context() context.Context        { return p.ctx }
func (p *pieces) SendHeader(md metadata.MD) error { p.header = md; return nil }
func (p *pieces) Send(m *httpbody.HttpBody) error {
	p.sent = append(p.sent, proto.Clone(m).(*httpbody.HttpBody))
	return nil
}
func (p *pieces) SetHeader(md metadata.MD) error { return p.SendHeader(md) }
func (p *pieces) SetTrailer(metadata.MD)         {}
func (p *pieces) SendMsg(m any) error            { return p.Send(m.(*httpbody.HttpBody)) }
func (p *pieces) RecvMsg(any) error              { return io.EOF }

// TestStreamOperationResult: a file of several pieces streams whole, in
// pieces of at most downloadChunk, the first with the content type, the
// name in the header, as DownloadOperationResult answers it in one; both
// are audited; another caller is told it does not exist.
func TestStreamOperationResult(t *testing.T) {
	for _, open := range []func(testing.TB) testdb.DB{testdb.SQLite, testdb.Postgres} {
		db := open(t)
		t.Run(string(db.Dialect), func(t *testing.T) {
			store := db.Store()
			data := make([]byte, 3*downloadChunk+123)
			for i := range data {
				data[i] = byte(i * 7 % 251)
			}
			ops := NewOperations(store, Works{exports: map[pb.OperationMetadata_Kind]exporter{pb.OperationMetadata_KIND_EXPORT_CASES: fixedExport{data}}},
				nil, Options{PageTokenKey: []byte("operations-test-page-token-key-0123")}, OperationOptions{})
			ops.SetQueue(queueNothing{})
			p := &principal.Principal{ID: "alice", Kind: principal.User, Roles: []principal.Role{principal.Caseworker}, Towns: []string{"500230101"}}
			ctx := principal.NewContext(context.Background(), p)
			op, err := ops.start(ctx, pb.OperationMetadata_KIND_EXPORT_CASES, &pb.ExportCasesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ops.Run(context.Background(), op.GetName()[len("operations/"):], false); err != nil {
				t.Fatal(err)
			}
			got := &pieces{ctx: ctx}
			if err := ops.StreamOperationResult(&pb.StreamOperationResultRequest{Name: op.GetName()}, got); err != nil {
				t.Fatal(err)
			}
			var streamed []byte
			for i, m := range got.sent {
				if len(m.GetData()) > downloadChunk || m.GetContentType() != xlsxType {
					t.Fatalf("piece %d: %d bytes of %q", i, len(m.GetData()), m.GetContentType())
				}
				streamed = append(streamed, m.GetData()...)
			}
			if len(got.sent) != 4 || !bytes.Equal(streamed, data) {
				t.Fatalf("%d pieces, %d bytes, equal %v; want 4 pieces of the %d bytes", len(got.sent), len(streamed), bytes.Equal(streamed, data), len(data))
			}
			if cd := got.header.Get(ContentDispositionKey); len(cd) != 1 || !strings.HasSuffix(cd[0], url.PathEscape("案件台账.xlsx")) {
				t.Errorf("header %v", got.header)
			}
			whole, err := ops.DownloadOperationResult(ctx, &pb.DownloadOperationResultRequest{Name: op.GetName()})
			if err != nil || !bytes.Equal(whole.GetData(), data) {
				t.Fatalf("DownloadOperationResult: %d bytes, %v", len(whole.GetData()), err)
			}
			var downloads int64
			if err := db.Gorm.Table("audit_log").Where("action = ? AND resource = ?", "download", op.GetName()).Count(&downloads).Error; err != nil || downloads != 2 {
				t.Errorf("%d downloads audited (%v), want 2", downloads, err)
			}
			bob := principal.NewContext(context.Background(), &principal.Principal{ID: "bob", Roles: []principal.Role{principal.Caseworker}})
			if err := ops.StreamOperationResult(&pb.StreamOperationResultRequest{Name: op.GetName()}, &pieces{ctx: bob}); !errors.Is(err, repository.ErrNotFound) {
				t.Errorf("another caller's stream: %v", err)
			}
		})
	}
}
