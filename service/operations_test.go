package service

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
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
