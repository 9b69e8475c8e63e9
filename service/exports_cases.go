package service

import (
	"context"
	"io"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/repository"
)

// caseExporter writes the case ledger (案件台账): the cases ListCases
// would list with the same filter and order, one row each. It writes
// what a list shows of a case and no free text (details, reasons, notes),
// which may hold medical or legal particulars.
type caseExporter struct {
	store CaseStore
	towns *towns.Table
	now   func() time.Time
}

// casePage is how many cases are read at a time: memory stays flat
// however many the ledger holds.
const casePage = 500

// caseHeaders are the ledger's columns.
var caseHeaders = []any{"案件编号", "类型", "状态", "优先级", "镇街", "承办人", "受理时间", "办结期限", "是否逾期", "办结时间", "创建时间"}

func (e *caseExporter) query(req proto.Message) (repository.CaseQuery, error) {
	r := req.(*pb.ExportCasesRequest)
	f, err := filter.Parse(r.GetFilter(), repository.CaseFilter)
	if err != nil {
		return repository.CaseQuery{}, filterError(err)
	}
	order, err := parseOrderBy(r.GetOrderBy(), "create_time", "due_time")
	if err != nil {
		return repository.CaseQuery{}, err
	}
	return repository.CaseQuery{Filter: f, Order: order, Page: repository.Page{Size: casePage}}, nil
}

func (e *caseExporter) check(_ context.Context, req proto.Message) error {
	_, err := e.query(req)
	return err
}

func (e *caseExporter) export(ctx context.Context, req proto.Message, w io.Writer, report Reporter) (string, int64, error) {
	q, err := e.query(req)
	if err != nil {
		return "", 0, err
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	const name = "案件"
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return "", 0, err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return "", 0, err
	}
	if err := sw.SetRow("A1", caseHeaders); err != nil {
		return "", 0, err
	}
	now := e.now()
	var n int64
	for {
		rows, next, err := e.store.ListCases(ctx, q)
		if err != nil {
			return "", 0, err
		}
		for i := range rows {
			if err := ctx.Err(); err != nil {
				return "", 0, err
			}
			c, err := convert.CaseToProto(&rows[i], e.towns, now)
			if err != nil {
				return "", 0, err
			}
			cell, err := excelize.CoordinatesToCellName(1, int(n)+2)
			if err != nil {
				return "", 0, err
			}
			if err := sw.SetRow(cell, caseRow(c, now)); err != nil {
				return "", 0, err
			}
			n++
			report(Progress{Read: n, Written: n})
		}
		if next == nil {
			break
		}
		q.Page.After = next
	}
	if err := sw.Flush(); err != nil {
		return "", 0, err
	}
	if err := f.Write(w); err != nil {
		return "", 0, err
	}
	return "案件台账-" + now.In(domain.ChinaTime).Format("20060102") + ".xlsx", n, nil
}

func caseRow(c *pb.Case, now time.Time) []any {
	overdue := sheet.No
	if d := c.GetDueTime(); d != nil && d.AsTime().Before(now) {
		overdue = sheet.Yes
	}
	return []any{c.GetCaseNumber(), label(sheet.CaseType, c.GetCaseType()), label(sheet.CaseStatus, c.GetStatus()),
		label(sheet.CasePriority, c.GetPriority()), c.GetTownName(), c.GetAssignee(),
		chinaTime(c.GetSubmitTime()), chinaTime(c.GetDueTime()), overdue, chinaTime(c.GetResolveTime()), chinaTime(c.GetCreateTime())}
}

func label[E interface {
	Number() protoreflect.EnumNumber
}](l *sheet.Labels, v E) string {
	s, _ := l.Label(v.Number())
	return s
}

// chinaTime writes an instant as county staff read it, in China time.
func chinaTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().In(domain.ChinaTime).Format("2006-01-02 15:04")
}
