package service

import (
	"context"
	"io"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/fengdu-county/casework/domain/towns"
)

// Exporter runs one ledger's export in-process, for the command line
// (`casework export`); the server runs the same exporters as operations.
type Exporter struct{ e exporter }

// Check refuses what Export would refuse, before anything is written.
func (x Exporter) Check(ctx context.Context, req proto.Message) error { return x.e.check(ctx, req) }

// Export streams the workbook to w and returns its file name and the
// number of data rows written.
func (x Exporter) Export(ctx context.Context, req proto.Message, w io.Writer, report Reporter) (string, int64, error) {
	return x.e.export(ctx, req, w, report)
}

// ExportStore is what every export reads; repository.Store is one.
type ExportStore interface {
	CaseStore
	HouseholdExportStore
	CampaignExportStore
	MeasureExportStore
}

// NewHouseholdExporter is the household ledger's export (户台账).
func NewHouseholdExporter(store ExportStore, t *towns.Table, o Options) Exporter {
	return Exporter{newHouseholdExport(store, t, o)}
}

// NewCampaignExporter is a campaign's coverage report.
func NewCampaignExporter(store ExportStore, t *towns.Table, o Options) Exporter {
	return Exporter{newCampaignExport(store, t, o)}
}

// NewMeasureExporter is the preferential-measures ledger's export.
func NewMeasureExporter(store ExportStore, t *towns.Table, o Options) Exporter {
	return Exporter{newMeasureExport(store, t, o)}
}

// NewCaseExporter is the case ledger's export (案件台账): ListCases's filter
// and order.
func NewCaseExporter(store ExportStore, t *towns.Table, o Options) Exporter {
	return Exporter{&caseExporter{store: store, towns: t, now: exportClock(o)}}
}

// exportClock is o's clock, the system's when o has none. The exports need no
// more of a service's base: they page with keys of their own, not tokens.
func exportClock(o Options) func() time.Time {
	if o.Now != nil {
		return o.Now
	}
	return time.Now
}

// rowCounter counts the rows an export writes, reports each, and stops the
// export at the next row once ctx is done.
type rowCounter struct {
	ctx    context.Context
	report Reporter
	rows   int64
}

func (c *rowCounter) row() error {
	c.rows++
	c.report(Progress{Read: c.rows, Written: c.rows})
	return c.ctx.Err()
}
