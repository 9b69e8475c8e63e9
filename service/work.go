package service

import (
	"context"
	"io"

	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// Progress is how far a long-running operation has got, as its metadata
// (OperationMetadata) shows it.
type Progress struct {
	Read, Written, Refused, Unchanged, Total int64
}

// Reporter receives an operation's progress as it runs. It is cheap to call
// on every row: the operation runner decides how often to store it.
type Reporter func(Progress)

// An exporter writes one kind of ledger as an .xlsx workbook. The operation
// runner calls check when the export is asked for, and export later on the
// job queue, both with the caller's principal and scope in ctx, so that the
// workbook holds exactly what the caller could list.
type exporter interface {
	// check refuses, before anything is queued, what export would refuse:
	// a bad filter, a resource the caller may not see, a view they lack
	// the right to.
	check(ctx context.Context, req proto.Message) error
	// export streams the workbook to w, reporting rows as it goes, and
	// returns the file's name (no directory, e.g. 案件-20261201.xlsx) and
	// the number of data rows written. It stops with ctx's error when ctx
	// is cancelled.
	export(ctx context.Context, req proto.Message, w io.Writer, report Reporter) (filename string, rows int64, err error)
}

// An importer reads households and members from a spreadsheet: the
// operation runner calls check when the import is asked for and run later on
// the job queue, with the caller's principal and scope in ctx.
type importer interface {
	// check refuses at once a file that cannot be read at all (not .xlsx or
	// .csv, or not the template's header rows): UNREADABLE_FILE.
	check(ctx context.Context, req *pb.ImportHouseholdsRequest) error
	// run validates every row, then (unless validate_only, or bad rows
	// without import_valid_rows) writes the good ones. When it has a file
	// to offer (the report of refused rows), it writes it to report and
	// returns its name; otherwise it writes nothing and returns "".
	run(ctx context.Context, req *pb.ImportHouseholdsRequest, report io.Writer, progress Reporter) (resp *pb.ImportHouseholdsResponse, reportName string, err error)
}
