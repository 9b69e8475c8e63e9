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
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/repository"
)

// HouseholdExportStore is what the household ledger's export reads.
type HouseholdExportStore interface {
	CountExportHouseholds(ctx context.Context, f filter.Filter) (int64, error)
	ExportHouseholds(ctx context.Context, f filter.Filter, after *repository.HouseholdKey, limit int) ([]repository.Household, error)
	ExportHouseholdRows(ctx context.Context, page []repository.Household) (*repository.HouseholdRows, error)
	Auditor
}

// exportPage is how many households (or targets, measures) an export reads
// at a time: big enough that the per-page queries cost little, small
// enough that a page's related rows stay a few megabytes.
const exportPage = 1000

// householdExport writes the household ledger (户台账).
type householdExport struct {
	store    HouseholdExportStore
	towns    *towns.Table
	now      func() time.Time
	pageSize int
}

// newHouseholdExport builds the household ledger's exporter over the
// county's towns (nil: the table shipped with the program).
func newHouseholdExport(store HouseholdExportStore, t *towns.Table, o Options) *householdExport {
	if t == nil {
		t = towns.Default()
	}
	return &householdExport{store: store, towns: t, now: exportClock(o), pageSize: exportPage}
}

func (e *householdExport) request(req proto.Message) (*pb.ExportHouseholdsRequest, filter.Filter, error) {
	r, ok := req.(*pb.ExportHouseholdsRequest)
	if !ok {
		return nil, filter.Filter{}, fmt.Errorf("household export: request is %T", req)
	}
	f, err := filter.Parse(r.GetFilter(), repository.HouseholdFilter)
	if err != nil {
		return nil, filter.Filter{}, filterError(err)
	}
	return r, f, nil
}

func (e *householdExport) check(ctx context.Context, req proto.Message) error {
	r, f, err := e.request(req)
	if err != nil {
		return err
	}
	_, err = mayExportFull(ctx, r.GetView(), f)
	return err
}

// mayExportFull decides whether an export of the households f selects may
// be unmasked: the caller's full-view right must reach every town the
// export can hold, which is the call's scope, or the one town the filter
// names.
func mayExportFull(ctx context.Context, view pb.View, f filter.Filter) (bool, error) {
	if view != pb.View_VIEW_FULL {
		return false, nil
	}
	full := policy.FullViewScope(principal.FromContext(ctx))
	scope := principal.ScopeFrom(ctx)
	if full.All {
		return true, nil
	}
	for _, c := range f.Conditions {
		if c.Field == "town_code" && c.Op == filter.OpEq && full.Allows(c.Value) {
			return true, nil
		}
	}
	if scope.All {
		return false, policy.ErrNoFullView
	}
	for _, t := range scope.Towns {
		if !full.Allows(t) {
			return false, policy.ErrNoFullView
		}
	}
	return true, nil
}

var (
	householdColumns = []sheet.OutColumn{
		{Header: "乡镇（街道）", Width: 14},
		{Header: "军人姓名", Width: 12},
		{Header: "家庭类别", Width: 16},
		{Header: "重点联系类别", Width: 20},
		{Header: "军种", Width: 12},
		{Header: "军人状态", Width: 12},
		{Header: "岗位类别", Width: 14},
		{Header: "军人身份证号", Width: 22},
		{Header: "联系电话", Width: 16},
		{Header: "家庭成员数", Kind: sheet.OutInt, Width: 10},
		{Header: "最近联系日期", Kind: sheet.OutDate, Width: 12},
		{Header: "下次联系截止日", Kind: sheet.OutDate, Width: 14},
		{Header: "逾期未联系", Kind: sheet.OutBool, Width: 10},
		{Header: "本年联系次数", Kind: sheet.OutInt, Width: 12},
		{Header: "本年帮扶次数", Kind: sheet.OutInt, Width: 12},
		{Header: "本年帮扶金额（元）", Kind: sheet.OutMoney, Width: 16},
		{Header: "在办案件数", Kind: sheet.OutInt, Width: 10},
	}
	contactColumns = []sheet.OutColumn{
		{Header: "乡镇（街道）", Width: 14},
		{Header: "军人姓名", Width: 12},
		{Header: "联系日期", Kind: sheet.OutDate, Width: 12},
		{Header: "联系方式", Width: 12},
		{Header: "反映问题", Width: 40},
		{Header: "后续事项", Width: 40},
		{Header: "记录人", Width: 16},
	}
	assistanceColumns = []sheet.OutColumn{
		{Header: "乡镇（街道）", Width: 14},
		{Header: "军人姓名", Width: 12},
		{Header: "帮扶日期", Kind: sheet.OutDate, Width: 12},
		{Header: "帮扶类别", Width: 12},
		{Header: "金额（元）", Kind: sheet.OutMoney, Width: 12},
		{Header: "资金来源", Width: 16},
		{Header: "审批人", Width: 12},
		{Header: "备注", Width: 30},
		{Header: "记录人", Width: 16},
	}
)

// memberColumns differ by view: the masked view shows a birth date's year
// only, as the API does.
func memberColumns(full bool) []sheet.OutColumn {
	birth := sheet.OutColumn{Header: "出生年份", Kind: sheet.OutInt, Width: 10}
	if full {
		birth = sheet.OutColumn{Header: "出生日期", Kind: sheet.OutDate, Width: 12}
	}
	return []sheet.OutColumn{
		{Header: "乡镇（街道）", Width: 14},
		{Header: "军人姓名", Width: 12},
		{Header: "与军人关系", Width: 14},
		{Header: "姓名", Width: 12},
		{Header: "身份证号", Width: 22},
		birth,
		{Header: "联系电话", Width: 16},
		{Header: "随军", Kind: sheet.OutBool, Width: 8},
		{Header: "不能独立生活", Kind: sheet.OutBool, Width: 12},
	}
}

// The fields a full-view export reveals, for its audit entry.
var householdExportFields = []string{"servicemember.id_number", "phone", "members.id_number", "members.phone", "members.birth_date"}

// exportFileName is a workbook's name: what it holds and the day (China
// time) it was made.
func exportFileName(what string, now time.Time) string {
	return what + "-" + domain.Today(now).Format("20060102") + ".xlsx"
}

func (e *householdExport) export(ctx context.Context, req proto.Message, w io.Writer, report Reporter) (string, int64, error) {
	r, f, err := e.request(req)
	if err != nil {
		return "", 0, err
	}
	full, err := mayExportFull(ctx, r.GetView(), f)
	if err != nil {
		return "", 0, err
	}
	total, err := e.store.CountExportHouseholds(ctx, f)
	if err != nil {
		return "", 0, err
	}
	if full {
		// Recorded before a row is written: a full view the audit log
		// cannot hold is not given. The count is of the households the
		// export is about to reveal.
		fields := append(append([]string(nil), householdExportFields...), fmt.Sprintf("households:%d", total))
		entry := audit.FromContext(ctx).Entry(audit.ActionFullView, "households", audit.OutcomeOK, fields)
		if err := e.store.AppendAudit(ctx, entry); err != nil {
			return "", 0, err
		}
	}
	now := e.now()
	wb, err := sheet.NewWorkbook()
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = wb.Close() }()
	sheets, err := wb.Sheets(sheet.SheetSpec{Name: "户台账", Columns: householdColumns}, sheet.SheetSpec{Name: "成员", Columns: memberColumns(full)},
		sheet.SheetSpec{Name: "联系记录", Columns: contactColumns}, sheet.SheetSpec{Name: "帮扶记录", Columns: assistanceColumns})
	if err != nil {
		return "", 0, err
	}
	p := ledgerPage{e: e, full: full, year: domain.LedgerToday(now)[:5], today: domain.LedgerToday(now),
		hh: sheets[0], members: sheets[1], contacts: sheets[2], assistance: sheets[3]}
	// Read and Total count households, Written the rows of every sheet.
	var read, rows int64
	// The next page is read while this one is written: the database and
	// the workbook each wait for the other less.
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	for b := range e.pages(readCtx, f) {
		if b.err != nil {
			return "", 0, b.err
		}
		read += int64(len(b.households))
		err := p.write(b.households, b.related, func() error {
			rows++
			report(Progress{Read: read, Written: rows, Total: total})
			return ctx.Err()
		})
		if err != nil {
			return "", 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	if _, err := wb.WriteTo(w); err != nil {
		return "", 0, err
	}
	return exportFileName("户台账", now), rows, nil
}

// ledgerBatch is one page of households with their related rows, or the
// error that ended the reading.
type ledgerBatch struct {
	households []repository.Household
	related    *repository.HouseholdRows
	err        error
}

// pages reads the ledger in keyset pages, one page ahead of its reader,
// until the last page, an error (sent as the last batch) or ctx's end.
func (e *householdExport) pages(ctx context.Context, f filter.Filter) <-chan ledgerBatch {
	out := make(chan ledgerBatch, 1)
	go func() {
		defer close(out)
		var after *repository.HouseholdKey
		for {
			b := e.page(ctx, f, after)
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil || len(b.households) < e.pageSize {
				return
			}
			last := b.households[len(b.households)-1]
			after = &repository.HouseholdKey{Town: last.TownCode, Name: last.ServicememberName, ID: last.ID}
		}
	}()
	return out
}

func (e *householdExport) page(ctx context.Context, f filter.Filter, after *repository.HouseholdKey) ledgerBatch {
	if err := ctx.Err(); err != nil {
		return ledgerBatch{err: err}
	}
	hs, err := e.store.ExportHouseholds(ctx, f, after, e.pageSize)
	if err != nil {
		return ledgerBatch{err: err}
	}
	related, err := e.store.ExportHouseholdRows(ctx, hs)
	return ledgerBatch{households: hs, related: related, err: err}
}

// ledgerPage writes one page of households and their related rows.
type ledgerPage struct {
	e                                 *householdExport
	full                              bool
	year, today                       string // "2026-", "2026-12-01"
	hh, members, contacts, assistance *sheet.OutSheet
}

// write writes page's households and their rows, calling row after each
// data row of any sheet; row's error (a cancelled ctx) stops it.
func (p ledgerPage) write(page []repository.Household, related *repository.HouseholdRows, row func() error) error {
	members, contacts, assistance, open := related.Members, related.Contacts, related.Assistance, related.OpenCases
	type tally struct {
		last                      string
		members, contacts, helped int
		helpedFen                 int64
	}
	tallies := make(map[string]*tally, len(page))
	byID := make(map[string]*repository.Household, len(page))
	for i := range page {
		tallies[page[i].ID] = &tally{}
		byID[page[i].ID] = &page[i]
	}
	for i := range members {
		tallies[members[i].HouseholdID].members++
	}
	for i := range contacts {
		c := &contacts[i]
		t := tallies[c.HouseholdID]
		if c.ContactDate > t.last {
			t.last = c.ContactDate
		}
		if strings.HasPrefix(c.ContactDate, p.year) {
			t.contacts++
		}
	}
	for i := range assistance {
		a := &assistance[i]
		if t := tallies[a.HouseholdID]; strings.HasPrefix(a.AssistanceDate, p.year) {
			t.helped++
			t.helpedFen += a.AmountFen
		}
	}
	for i := range page {
		h := &page[i]
		out := convert.HouseholdToProto(h, p.e.towns)
		if !p.full {
			out = maskHousehold(out)
		}
		sm := out.GetServicemember()
		t := tallies[h.ID]
		overdue := h.NextContactDue != nil && *h.NextContactDue < p.today
		err := p.hh.Row(out.GetTownName(), sm.GetName(),
			sheet.Label(sheet.HouseholdCategory, out.GetCategory()), contactClasses(h),
			sheet.Label(sheet.ServiceBranch, sm.GetServiceBranch()), sheet.Label(sheet.ServicememberStatus, sm.GetStatus()),
			sheet.Label(sheet.PostType, sm.GetPostType()), sm.GetIdNumber(), out.GetPhone(),
			t.members, t.last, h.NextContactDue, overdue, t.contacts, t.helped, t.helpedFen, open[h.ID])
		if err != nil {
			return err
		}
		if err := row(); err != nil {
			return err
		}
	}
	for i := range members {
		m := &members[i]
		h := byID[m.HouseholdID]
		out := convert.MemberToProto(m, "")
		var birth any = m.BirthDate
		if !p.full {
			out = maskMember(out)
			birth = m.BirthDate.Year()
		}
		err := p.members.Row(convert.TownName(p.e.towns, h.TownCode), h.ServicememberName, sheet.Label(sheet.Relation, out.GetRelation()),
			out.GetDisplayName(), out.GetIdNumber(), birth, out.GetPhone(), out.GetAccompanying(), out.GetCannotLiveIndependently())
		if err != nil {
			return err
		}
		if err := row(); err != nil {
			return err
		}
	}
	for i := range contacts {
		c := &contacts[i]
		h := byID[c.HouseholdID]
		out := convert.ContactToProto(c)
		var follow []string
		for _, f := range c.FollowUps.V {
			follow = append(follow, f.Text)
		}
		err := p.contacts.Row(convert.TownName(p.e.towns, h.TownCode), h.ServicememberName, c.ContactDate,
			sheet.Label(sheet.ContactChannel, out.GetChannel()), c.Raised, strings.Join(follow, "；"), c.RecordedBy)
		if err != nil {
			return err
		}
		if err := row(); err != nil {
			return err
		}
	}
	for i := range assistance {
		a := &assistance[i]
		h := byID[a.HouseholdID]
		out := convert.AssistanceToProto(a)
		err := p.assistance.Row(convert.TownName(p.e.towns, h.TownCode), h.ServicememberName, a.AssistanceDate,
			sheet.Label(sheet.AssistanceKind, out.GetKind()), a.AmountFen, a.SourceOfFunds, a.Approver, a.Note, a.RecordedBy)
		if err != nil {
			return err
		}
		if err := row(); err != nil {
			return err
		}
	}
	return nil
}

// contactClasses names the classes of the contact policy a household is
// in: they decide how often it is due a contact.
func contactClasses(h *repository.Household) string {
	var out []string
	if h.PostType == domain.PostBorderCoastalDefence || h.PostType == domain.PostMissionUnit {
		out = append(out, "边海防或执行任务部队")
	}
	if h.Hardship {
		out = append(out, "困难家庭")
	}
	return strings.Join(out, "、")
}

// The exporters implement the operation runner's interface.
var (
	_ exporter = (*householdExport)(nil)
	_ exporter = (*campaignExport)(nil)
	_ exporter = (*measureExport)(nil)
)
