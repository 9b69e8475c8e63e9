package service

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/repository"
)

// MeasureExportStore is what the measures ledger's export reads.
type MeasureExportStore interface {
	GetOrganization(ctx context.Context, id string) (*repository.Organization, error)
	ListOrganizations(ctx context.Context, f filter.Filter, page repository.Page) ([]repository.Organization, *repository.Cursor, error)
	ListMeasures(ctx context.Context, q repository.MeasureQuery) ([]repository.Measure, *repository.Cursor, error)
	OrganizationsByID(ctx context.Context, ids []string) (map[string]*repository.Organization, error)
	OpenComplaintCounts(ctx context.Context, measureIDs []string) (map[string]int, error)
}

// measureExport writes the preferential-measures ledger (惠军措施台账).
type measureExport struct {
	store        MeasureExportStore
	towns        *towns.Table
	now          func() time.Time
	reviewPeriod time.Duration
}

// newMeasureExport builds the measures ledger's exporter over the county's
// towns (nil: the table shipped with the program), with the review period
// of o as the measure service has it.
func newMeasureExport(store MeasureExportStore, t *towns.Table, o Options) *measureExport {
	if t == nil {
		t = towns.Default()
	}
	period := o.MeasureReviewPeriod
	if period <= 0 {
		period = domain.DefaultReviewPeriod
	}
	return &measureExport{store: store, towns: t, now: exportClock(o), reviewPeriod: period}
}

// query is the ListMeasures query the request stands for, the parent
// checked to exist.
func (e *measureExport) query(ctx context.Context, req proto.Message) (repository.MeasureQuery, error) {
	q := repository.MeasureQuery{ReviewPeriod: e.reviewPeriod}
	r, ok := req.(*pb.ExportMeasuresRequest)
	if !ok {
		return q, fmt.Errorf("measures export: request is %T", req)
	}
	if r.GetParent() != allOrganizations {
		parent, err := nameOf[names.Organization]("parent", r.GetParent())
		if err != nil {
			return q, err
		}
		if _, err := e.store.GetOrganization(ctx, parent.ID); err != nil {
			return q, err
		}
		q.OrganizationID = parent.ID
	}
	f, err := filter.Parse(r.GetFilter(), repository.MeasureFilter)
	if err != nil {
		return q, filterError(err)
	}
	q.Filter = f
	return q, nil
}

func (e *measureExport) check(ctx context.Context, req proto.Message) error {
	_, err := e.query(ctx, req)
	return err
}

var (
	measureColumns = []sheet.OutColumn{
		{Header: "签约单位", Width: 24},
		{Header: "统一社会信用代码", Width: 22},
		{Header: "措施名称", Width: 30},
		{Header: "措施类别", Width: 12},
		{Header: "状态", Width: 10},
		{Header: "惠及对象类别", Width: 30},
		{Header: "适用乡镇（街道）", Width: 30},
		{Header: "生效日期", Kind: sheet.OutDate, Width: 12},
		{Header: "截止日期", Kind: sheet.OutDate, Width: 12},
		{Header: "最近评估日期", Kind: sheet.OutDate, Width: 12},
		{Header: "评估逾期", Kind: sheet.OutBool, Width: 10},
		{Header: "未办结投诉", Kind: sheet.OutInt, Width: 10},
	}
	organizationColumns = []sheet.OutColumn{
		{Header: "单位名称", Width: 24},
		{Header: "统一社会信用代码", Width: 22},
		{Header: "联系人", Width: 12},
		{Header: "联系电话", Width: 16},
		{Header: "协议签订日期", Kind: sheet.OutDate, Width: 12},
		{Header: "协议到期日期", Kind: sheet.OutDate, Width: 12},
		{Header: "协议已到期", Kind: sheet.OutBool, Width: 10},
	}
)

// countyWide is how the measures ledger names a measure that serves every
// town.
const countyWide = "全县"

func (e *measureExport) export(ctx context.Context, req proto.Message, w io.Writer, report Reporter) (string, int64, error) {
	q, err := e.query(ctx, req)
	if err != nil {
		return "", 0, err
	}
	now := e.now()
	wb, err := sheet.NewWorkbook()
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = wb.Close() }()
	sheets, err := wb.Sheets(sheet.SheetSpec{Name: "措施台账", Columns: measureColumns},
		sheet.SheetSpec{Name: "签约单位", Columns: organizationColumns})
	if err != nil {
		return "", 0, err
	}
	measures, orgs := sheets[0], sheets[1]
	counter := &rowCounter{ctx: ctx, report: report}
	row := counter.row

	q.Page = repository.Page{Size: repository.MaxPageSize}
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		ms, next, err := e.store.ListMeasures(ctx, q)
		if err != nil {
			return "", 0, err
		}
		var orgIDs, ids []string
		for i := range ms {
			orgIDs = append(orgIDs, ms[i].OrganizationID)
			ids = append(ids, ms[i].ID)
		}
		byOrg, err := e.store.OrganizationsByID(ctx, orgIDs)
		if err != nil {
			return "", 0, err
		}
		complaints, err := e.store.OpenComplaintCounts(ctx, ids)
		if err != nil {
			return "", 0, err
		}
		for i := range ms {
			m := &ms[i]
			out := convert.MeasureToProto(m, e.reviewPeriod, now)
			var org repository.Organization
			if o := byOrg[m.OrganizationID]; o != nil {
				org = *o
			}
			var categories []string
			for _, c := range out.GetBeneficiaryCategories() {
				categories = append(categories, sheet.Label(sheet.HouseholdCategory, c))
			}
			townNames := countyWide
			if len(m.TownCodes) > 0 {
				var ns []string
				for _, t := range m.TownCodes {
					ns = append(ns, convert.TownName(e.towns, t))
				}
				townNames = strings.Join(ns, "、")
			}
			err := measures.Row(org.DisplayName, org.CreditCode, m.Title, sheet.Label(sheet.MeasureKind, out.GetKind()),
				sheet.Label(sheet.MeasureState, out.GetState()), strings.Join(categories, "、"), townNames,
				m.ValidFrom, m.ValidUntil, m.LastReviewDate, out.GetReviewOverdue(), complaints[m.ID])
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
		q.Page.After = next
	}

	writeOrg := func(o *repository.Organization) error {
		out := convert.OrganizationToProto(o, now)
		// Masked as every read of an organization masks it.
		err := orgs.Row(o.DisplayName, o.CreditCode, o.ContactName, idnumber.MaskPhone(o.ContactPhone),
			o.AgreementSignDate, o.AgreementExpiryDate, out.GetAgreementExpired())
		if err != nil {
			return err
		}
		return row()
	}
	if q.OrganizationID != "" {
		o, err := e.store.GetOrganization(ctx, q.OrganizationID)
		if err != nil {
			return "", 0, err
		}
		if err := writeOrg(o); err != nil {
			return "", 0, err
		}
	} else {
		page := repository.Page{Size: repository.MaxPageSize}
		for {
			if err := ctx.Err(); err != nil {
				return "", 0, err
			}
			os, next, err := e.store.ListOrganizations(ctx, filter.Filter{}, page)
			if err != nil {
				return "", 0, err
			}
			for i := range os {
				if err := writeOrg(&os[i]); err != nil {
					return "", 0, err
				}
			}
			if next == nil {
				break
			}
			page.After = next
		}
	}
	if _, err := wb.WriteTo(w); err != nil {
		return "", 0, err
	}
	return exportFileName("惠军措施台账", now), counter.rows, nil
}
