package service

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/repository"
)

// CampaignExportStore is what a campaign's export reads: the campaign
// service's own reads, and the households' names.
type CampaignExportStore interface {
	GetCampaign(ctx context.Context, id string) (*repository.Campaign, error)
	CampaignCoverage(ctx context.Context, campaignID string) (*repository.Campaign, []repository.CoverageRow, error)
	ListCampaignTargets(ctx context.Context, campaignID string, f filter.Filter, page repository.Page) ([]repository.CampaignTarget, *repository.Cursor, error)
	ListVisits(ctx context.Context, campaignID string, f filter.Filter, page repository.Page) ([]repository.CampaignVisit, *repository.Cursor, error)
	HouseholdLabels(ctx context.Context, ids []string) (map[string]repository.HouseholdLabel, error)
}

// campaignExport writes a campaign's coverage report.
type campaignExport struct {
	store CampaignExportStore
	towns *towns.Table
	now   func() time.Time
}

// newCampaignExport builds a campaign's exporter over the county's towns
// (nil: the table shipped with the program).
func newCampaignExport(store CampaignExportStore, t *towns.Table, o Options) *campaignExport {
	if t == nil {
		t = towns.Default()
	}
	return &campaignExport{store: store, towns: t, now: exportClock(o)}
}

func (e *campaignExport) campaign(ctx context.Context, req proto.Message) (*repository.Campaign, error) {
	r, ok := req.(*pb.ExportCampaignRequest)
	if !ok {
		return nil, fmt.Errorf("campaign export: request is %T", req)
	}
	id, err := campaignID("name", r.GetName())
	if err != nil {
		return nil, err
	}
	// NOT_FOUND, as GetCampaign, for a campaign of none of the caller's
	// towns.
	return e.store.GetCampaign(ctx, id)
}

func (e *campaignExport) check(ctx context.Context, req proto.Message) error {
	_, err := e.campaign(ctx, req)
	return err
}

var (
	coverageColumns = []sheet.OutColumn{
		{Header: "乡镇（街道）", Width: 14},
		{Header: "走访对象（户）", Kind: sheet.OutInt, Width: 14},
		{Header: "已走访（户）", Kind: sheet.OutInt, Width: 12},
		{Header: "未走访（户）", Kind: sheet.OutInt, Width: 12},
		{Header: "覆盖率", Kind: sheet.OutPercent, Width: 10},
		{Header: "未走访已说明原因（户）", Kind: sheet.OutInt, Width: 20},
	}
	unvisitedColumns = []sheet.OutColumn{
		{Header: "乡镇（街道）", Width: 14},
		{Header: "军人姓名", Width: 12},
		{Header: "家庭类别", Width: 16},
		{Header: "未走访原因", Width: 40},
	}
	visitColumns = []sheet.OutColumn{
		{Header: "走访日期", Kind: sheet.OutDate, Width: 12},
		{Header: "乡镇（街道）", Width: 14},
		{Header: "军人姓名", Width: 12},
		{Header: "走访形式", Width: 10},
		{Header: "走访人员", Width: 20},
		{Header: "慰问物品", Width: 20},
		{Header: "慰问金（元）", Kind: sheet.OutMoney, Width: 12},
		{Header: "回访", Kind: sheet.OutBool, Width: 8},
		{Header: "备注", Width: 30},
		{Header: "记录人", Width: 16},
	}
)

func (e *campaignExport) export(ctx context.Context, req proto.Message, w io.Writer, report Reporter) (string, int64, error) {
	c, err := e.campaign(ctx, req)
	if err != nil {
		return "", 0, err
	}
	now := e.now()
	wb, err := sheet.NewWorkbook()
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = wb.Close() }()
	sheets, err := wb.Sheets(sheet.SheetSpec{Name: "覆盖情况", Columns: coverageColumns},
		sheet.SheetSpec{Name: "未走访", Columns: unvisitedColumns}, sheet.SheetSpec{Name: "走访记录", Columns: visitColumns})
	if err != nil {
		return "", 0, err
	}
	coverage, unvisited, visits := sheets[0], sheets[1], sheets[2]
	counter := &rowCounter{ctx: ctx, report: report}
	row := counter.row

	// The coverage is the campaign service's: the same query and the same
	// rendering as GetCampaignCoverage.
	_, counts, err := e.store.CampaignCoverage(ctx, c.ID)
	if err != nil {
		return "", 0, err
	}
	cov := convert.CoverageToProto(c, shownTowns(ctx, c), counts, e.towns)
	for _, t := range append(cov.GetTowns(), cov.GetTotal()) {
		name := t.GetTownName()
		if t == cov.GetTotal() {
			name = "合计"
		}
		err := coverage.Row(name, t.GetTargets(), t.GetVisited(), t.GetNotVisited(),
			float64(t.GetShareBasisPoints())/10000, t.GetGapsExplained())
		if err != nil {
			return "", 0, err
		}
		if err := row(); err != nil {
			return "", 0, err
		}
	}

	notVisited, err := filter.Parse("visited = false", repository.TargetFilter)
	if err != nil {
		return "", 0, err
	}
	page := repository.Page{Size: repository.MaxPageSize}
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		targets, next, err := e.store.ListCampaignTargets(ctx, c.ID, notVisited, page)
		if err != nil {
			return "", 0, err
		}
		ids := make([]string, len(targets))
		for i := range targets {
			ids[i] = targets[i].HouseholdID
		}
		labels, err := e.store.HouseholdLabels(ctx, ids)
		if err != nil {
			return "", 0, err
		}
		for i := range targets {
			t := &targets[i]
			h := labels[t.HouseholdID]
			category := sheet.Label(sheet.HouseholdCategory, convert.CategoryToProto(h.Category))
			if err := unvisited.Row(convert.TownName(e.towns, t.TownCode), h.ServicememberName, category, t.GapReason); err != nil {
				return "", 0, err
			}
			if err := row(); err != nil {
				return "", 0, err
			}
		}
		if next == nil {
			break
		}
		page.After = next
	}

	page = repository.Page{Size: repository.MaxPageSize}
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		vs, next, err := e.store.ListVisits(ctx, c.ID, filter.Filter{}, page)
		if err != nil {
			return "", 0, err
		}
		ids := make([]string, len(vs))
		for i := range vs {
			ids[i] = vs[i].HouseholdID
		}
		labels, err := e.store.HouseholdLabels(ctx, ids)
		if err != nil {
			return "", 0, err
		}
		for i := range vs {
			v := &vs[i]
			out := convert.VisitToProto(v)
			err := visits.Row(v.VisitDate, convert.TownName(e.towns, v.TownCode), labels[v.HouseholdID].ServicememberName,
				sheet.Label(sheet.VisitForm, out.GetForm()), strings.Join(v.Visitors.V, "、"), v.Goods, v.MoneyFen,
				v.FollowUp, v.Notes, v.Recorder)
			if err != nil {
				return "", 0, err
			}
			if err := row(); err != nil {
				return "", 0, err
			}
		}
		if next == nil {
			break
		}
		page.After = next
	}
	if _, err := wb.WriteTo(w); err != nil {
		return "", 0, err
	}
	return exportFileName("走访慰问-"+fileSafe(c.DisplayName), now), counter.rows, nil
}

// fileSafe is a name made fit for a file name on every system staff use:
// no separators or characters Windows refuses, and not too long.
func fileSafe(name string) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || r < ' ' {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if r := []rune(name); len(r) > 40 {
		name = string(r[:40])
	}
	if name == "" {
		return "活动"
	}
	return name
}
