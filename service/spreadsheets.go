package service

import (
	"context"

	longrunningpb "cloud.google.com/go/longrunning/autogen/longrunningpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// Spreadsheets implements pb.SpreadsheetServiceServer: each call checks
// its request as the work will (a bad filter or an unreadable file is
// refused at once) and starts an operation on the job queue.
type Spreadsheets struct {
	pb.UnimplementedSpreadsheetServiceServer
	ops *Operations
}

// NewSpreadsheets builds the spreadsheet service over the operation runner.
func NewSpreadsheets(ops *Operations) *Spreadsheets { return &Spreadsheets{ops: ops} }

// ImportHouseholds starts an import.
func (s *Spreadsheets) ImportHouseholds(ctx context.Context, req *pb.ImportHouseholdsRequest) (*longrunningpb.Operation, error) {
	return s.ops.start(ctx, pb.OperationMetadata_KIND_IMPORT_HOUSEHOLDS, req)
}

// ExportHouseholds starts the household ledger's export.
func (s *Spreadsheets) ExportHouseholds(ctx context.Context, req *pb.ExportHouseholdsRequest) (*longrunningpb.Operation, error) {
	return s.ops.start(ctx, pb.OperationMetadata_KIND_EXPORT_HOUSEHOLDS, req)
}

// ExportCampaign starts a campaign's coverage report.
func (s *Spreadsheets) ExportCampaign(ctx context.Context, req *pb.ExportCampaignRequest) (*longrunningpb.Operation, error) {
	return s.ops.start(ctx, pb.OperationMetadata_KIND_EXPORT_CAMPAIGN, req)
}

// ExportMeasures starts the measures ledger's export.
func (s *Spreadsheets) ExportMeasures(ctx context.Context, req *pb.ExportMeasuresRequest) (*longrunningpb.Operation, error) {
	return s.ops.start(ctx, pb.OperationMetadata_KIND_EXPORT_MEASURES, req)
}

// ExportCases starts the case ledger's export.
func (s *Spreadsheets) ExportCases(ctx context.Context, req *pb.ExportCasesRequest) (*longrunningpb.Operation, error) {
	return s.ops.start(ctx, pb.OperationMetadata_KIND_EXPORT_CASES, req)
}
