package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	longrunningpb "cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// exportResult is the household ledger's export, end to end: started with
// POST /v1/households:export, polled with GetOperation, downloaded.
type exportResult struct {
	Households int64   `json:"households"` // the operation's rows_total
	Rows       int64   `json:"rows"`       // data rows, all sheets
	FileBytes  int64   `json:"file_bytes"`
	Seconds    float64 `json:"seconds"` // from the POST to the last downloaded byte
	// ServerRSSGrowthBytes is how far the server's resident set rose above
	// what it was when the export started (its peak, reset at the start).
	ServerRSSGrowthBytes int64  `json:"server_rss_growth_bytes"`
	Error                string `json:"error,omitempty"`
}

// exportPoll is how often the operation is polled: short beside the
// export, so the figure is the export's.
const exportPoll = 200 * time.Millisecond

// exportHouseholds exports every household of the county as a county-wide
// supervisor would, and measures the time and the server's memory.
func (b *bench) exportHouseholds(ctx context.Context) (exportResult, error) {
	var res exportResult
	fail := func(err error) (exportResult, error) {
		res.Error = err.Error()
		return res, err
	}
	if err := b.srv.resetPeakRSS(); err != nil {
		return fail(err)
	}
	before, err := b.srv.statusBytes("VmRSS")
	if err != nil {
		return fail(err)
	}
	start := time.Now()
	op, err := pb.NewSpreadsheetServiceClient(b.conn).ExportHouseholds(b.authCtx(ctx), &pb.ExportHouseholdsRequest{})
	if err != nil {
		return fail(fmt.Errorf("ExportHouseholds: %w", err))
	}
	if op, err = b.waitOperation(ctx, op); err != nil {
		return fail(err)
	}
	if st := op.GetError(); st != nil {
		return fail(fmt.Errorf("the export failed: %s", st.GetMessage()))
	}
	var meta pb.OperationMetadata
	if err := anypb.UnmarshalTo(op.GetMetadata(), &meta, proto.UnmarshalOptions{}); err != nil {
		return fail(err)
	}
	var resp pb.ExportResponse
	if err := anypb.UnmarshalTo(op.GetResponse(), &resp, proto.UnmarshalOptions{}); err != nil {
		return fail(err)
	}
	res.Households, res.Rows = meta.GetRowsTotal(), resp.GetRows()
	// Downloaded over HTTP, as a browser would: a large workbook exceeds
	// a gRPC message's default size.
	if res.FileBytes, err = b.download(ctx, "/v1/"+op.GetName()+":download"); err != nil {
		return fail(err)
	}
	res.Seconds = time.Since(start).Seconds()
	peak, err := b.srv.statusBytes("VmHWM")
	if err != nil {
		return fail(err)
	}
	res.ServerRSSGrowthBytes = peak - before
	return res, nil
}

// waitOperation polls op every exportPoll until it is done.
func (b *bench) waitOperation(ctx context.Context, op *longrunningpb.Operation) (*longrunningpb.Operation, error) {
	ops := pb.NewOperationServiceClient(b.conn)
	for !op.GetDone() {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(exportPoll):
		}
		var err error
		if op, err = ops.GetOperation(b.authCtx(ctx), &pb.GetOperationRequest{Name: op.GetName()}); err != nil {
			return nil, fmt.Errorf("GetOperation: %w", err)
		}
	}
	return op, nil
}

func (b *bench) download(ctx context.Context, path string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.srv.httpAddr+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return 0, fmt.Errorf("GET %s: %s: %s", path, resp.Status, msg)
	}
	return io.Copy(io.Discard, resp.Body)
}

// resetPeakRSS starts the server's peak-RSS count (VmHWM) again from its
// current RSS, so that the peak read after a measurement is that
// measurement's.
func (s *serverProcess) resetPeakRSS() error {
	err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
	if err != nil {
		return errors.Join(errors.New("cannot reset the server's peak RSS"), err)
	}
	return nil
}
