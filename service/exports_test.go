package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// The export fixture, counted by hand: three towns, twelve households (five
// in A, four in B, three in C), all active-duty families so that the
// campaign's rule targets every one; A's first household has a spouse, three
// contacts (two this year), three grants of assistance (two this year:
// 500.00 + 123.45 yuan) and an open case; the campaign visited A1, A2 and
// B1, so coverage is A 2/5, B 1/4, C 0/3, total 3/12 = 25%.
const (
	townA = "500230101" // 虎威镇
	townB = "500230102" // 社坛镇
	townC = "500230103" // 三元镇
)

var exportNow = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

type exportFixture struct {
	t          *testing.T
	store      *repository.Store
	opts       Options
	ctx        context.Context // a county-wide supervisor
	a1ID       string          // A1's servicemember's ID number
	a1Phone    string
	spouseID   string
	campaign   string
	org1, org2 string
}

func callerContext(p *principal.Principal, scope principal.Scope) context.Context {
	ctx := principal.WithScope(principal.NewContext(context.Background(), p), scope)
	return audit.NewContext(ctx, &audit.Record{Principal: p.ID, Roles: "test", Credential: "test", Method: "test"})
}

func newExportFixture(t *testing.T, dialect repository.Dialect) *exportFixture {
	t.Helper()
	now := func() time.Time { return exportNow }
	store := testdb.Open(t, dialect).Store(repository.WithClock(now))
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{PageTokenKey: []byte("0123456789abcdef0123456789abcdef"), Now: now,
		Actor: func(ctx context.Context) string { return principal.FromContext(ctx).ID }}
	sup := &principal.Principal{ID: "users/sup", Kind: principal.User, Roles: []principal.Role{principal.Supervisor}}
	f := &exportFixture{t: t, store: store, opts: opts, ctx: callerContext(sup, principal.Scope{All: true})}
	households := NewHouseholds(store, nil, v, opts)
	ctx := f.ctx
	seq := 0
	ids := map[string]string{} // "A1" → household id
	for _, town := range []struct {
		code, key string
		n         int
	}{{townC, "C", 3}, {townA, "A", 5}, {townB, "B", 4}} {
		// Created out of order, so that the ledger's order is its own.
		for i := town.n; i >= 1; i-- {
			seq++
			key := fmt.Sprintf("%s%d", town.key, i)
			id := idnumber.Make("500230", time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC), seq)
			phone := fmt.Sprintf("139%08d", seq)
			h, err := households.CreateHousehold(ctx, &pb.CreateHouseholdRequest{ConfirmPossibleDuplicate: true, Household: &pb.Household{
				Servicemember: &pb.Servicemember{Name: "王" + key, IdNumber: id,
					PostType: pb.PostType_POST_TYPE_REGULAR, RankCategory: pb.RankCategory_RANK_CATEGORY_NCO,
					Status: pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_NCO},
				Category: pb.HouseholdCategory_HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY, TownCode: town.code,
				Phone: phone, Hardship: key == "A1",
			}})
			if err != nil {
				t.Fatalf("CreateHousehold %s: %v", key, err)
			}
			ids[key] = strings.TrimPrefix(h.GetName(), "households/")
			if key == "A1" {
				f.a1ID, f.a1Phone = id, phone
			}
		}
	}
	seq++
	f.spouseID = idnumber.Make("500230", time.Date(1992, 7, 3, 0, 0, 0, 0, time.UTC), seq)
	spouse, err := households.CreateMember(ctx, &pb.CreateMemberRequest{ConfirmPossibleDuplicate: true, Parent: "households/" + ids["A1"], Member: &pb.Member{
		Relation: pb.Relation_RELATION_SPOUSE, DisplayName: "李梅", IdNumber: f.spouseID, Phone: "13700000001",
		BirthDate: &date.Date{Year: 1992, Month: 7, Day: 3}, Accompanying: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	newID := func() string { return uuid.Must(uuid.NewV7()).String() }
	for _, d := range []string{"2025-11-20", "2026-01-15", "2026-02-10"} {
		if err := store.CreateContact(ctx, &repository.Contact{ID: newID(), HouseholdID: ids["A1"], ContactDate: d,
			Channel: domain.ContactHomeVisit, RecordedBy: "users/cw", Raised: "孩子入学"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct {
		day string
		fen int64
	}{{"2025-12-01", 10000}, {"2026-01-20", 50000}, {"2026-02-20", 12345}} {
		if err := store.CreateAssistance(ctx, &repository.Assistance{ID: newID(), HouseholdID: ids["A1"], Kind: domain.AssistanceLiving,
			AmountFen: a.fen, AssistanceDate: a.day, SourceOfFunds: "县财政", Approver: "赵局", RecordedBy: "users/cw"}); err != nil {
			t.Fatal(err)
		}
	}
	cases := NewCases(store, nil, v, opts)
	if _, err := cases.CreateCase(ctx, &pb.CreateCaseRequest{Case: &pb.Case{Household: "households/" + ids["A1"], Subject: spouse.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION}}}}); err != nil {
		t.Fatal(err)
	}

	c := &repository.Campaign{ID: newID(), DisplayName: "2026年春节走访慰问", Festival: domain.FestivalSpringFestival,
		StartDate: time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), EndDate: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC),
		TownCodes: repository.List[string]{townA, townB, townC}, RuleCategories: repository.List[domain.Category]{domain.CategoryActiveDutyFamily}}
	if err := store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	opened, err := store.OpenCampaign(ctx, c.ID, repository.Etag(c.Revision))
	if err != nil || opened.TargetCount != 12 {
		t.Fatalf("OpenCampaign: %d targets, %v", opened.TargetCount, err)
	}
	f.campaign = c.ID
	for _, key := range []string{"A1", "A2", "B1"} {
		town := map[byte]string{'A': townA, 'B': townB}[key[0]]
		if err := store.CreateVisit(ctx, &repository.CampaignVisit{ID: newID(), CampaignID: c.ID, HouseholdID: ids[key], TownCode: town,
			VisitDate: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Visitors: repository.JSON[[]string]{V: []string{"刘镇长", "陈干事"}},
			Form: domain.VisitInPerson, Goods: "米油", MoneyFen: 20000, Recorder: "users/cw"}); err != nil {
			t.Fatalf("CreateVisit %s: %v", key, err)
		}
	}

	f.org1, f.org2 = newID(), newID()
	for i, id := range []string{f.org1, f.org2} {
		if err := store.CreateOrganization(ctx, &repository.Organization{ID: id, DisplayName: fmt.Sprintf("丰都%d号超市", i+1),
			CreditCode: fmt.Sprintf("91500230MA5U%06dX", i), ContactName: "周经理", ContactPhone: "13800000000",
			AgreementSignDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), AgreementExpiryDate: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	var firstMeasure string
	for _, m := range []struct {
		org, title string
		towns      []string
	}{{f.org1, "购物九折", nil}, {f.org1, "优先结账", []string{townA}}, {f.org2, "免费停车", nil}} {
		row := &repository.Measure{ID: newID(), OrganizationID: m.org, Title: m.title, Kind: domain.MeasureDiscount,
			BeneficiaryCategories: repository.List[domain.Category]{domain.CategoryActiveDutyFamily}, TownCodes: m.towns}
		if err := store.CreateMeasure(ctx, row, "users/sup"); err != nil {
			t.Fatal(err)
		}
		if firstMeasure == "" {
			firstMeasure = row.ID
		}
	}
	if err := store.CreateComplaint(ctx, &repository.Complaint{ID: newID(), OrganizationID: f.org1, MeasureID: firstMeasure,
		ComplainantName: "王某", ComplainantPhone: "13600000000", Description: "未打折"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// run exports req with e as the caller of ctx, checking first, and opens
// the workbook again.
func (f *exportFixture) run(ctx context.Context, e exporter, req proto.Message) (*excelize.File, string, int64) {
	f.t.Helper()
	if err := e.check(ctx, req); err != nil {
		f.t.Fatalf("check: %v", err)
	}
	var buf bytes.Buffer
	var reported int64
	name, rows, err := e.export(ctx, req, &buf, func(p Progress) { reported = p.Written })
	if err != nil {
		f.t.Fatalf("export: %v", err)
	}
	if reported != rows {
		f.t.Errorf("last progress %d rows, export says %d", reported, rows)
	}
	wb, err := excelize.OpenReader(&buf)
	if err != nil {
		f.t.Fatalf("the export does not open: %v", err)
	}
	f.t.Cleanup(func() { _ = wb.Close() })
	return wb, name, rows
}

func sheetRows(t *testing.T, wb *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := wb.GetRows(sheet)
	if err != nil {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	return rows
}

// col finds a header's column in a sheet's first row.
func col(t *testing.T, rows [][]string, header string) int {
	t.Helper()
	i := slices.Index(rows[0], header)
	if i < 0 {
		t.Fatalf("no column %s in %v", header, rows[0])
	}
	return i
}

func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

func forEachDialect(t *testing.T, fn func(t *testing.T, f *exportFixture)) {
	for _, d := range testdb.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, newExportFixture(t, d)) })
	}
}

func caseworkerOf(town string) context.Context {
	p := &principal.Principal{ID: "users/cw-" + town, Kind: principal.User, Roles: []principal.Role{principal.Caseworker}, Towns: []string{town}}
	return callerContext(p, principal.Scope{Towns: []string{town}})
}

func TestExportHouseholds(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *exportFixture) {
		e := newHouseholdExport(f.store, nil, f.opts)
		wb, name, rows := f.run(f.ctx, e, &pb.ExportHouseholdsRequest{})
		if name != "户台账-20260302.xlsx" {
			t.Errorf("file name %q", name)
		}
		if got := wb.GetSheetList(); !slices.Equal(got, []string{"户台账", "成员", "联系记录", "帮扶记录"}) {
			t.Fatalf("sheets %v", got)
		}
		// 12 households, 1 member, 3 contacts, 3 grants.
		if rows != 19 {
			t.Errorf("rows = %d, want 19", rows)
		}
		hh := sheetRows(t, wb, "户台账")
		if len(hh) != 13 {
			t.Fatalf("户台账 has %d rows, want header and 12", len(hh))
		}
		if panes, err := wb.GetPanes("户台账"); err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("header row not frozen: %+v, %v", panes, err)
		}
		town, name1, id, phone := col(t, hh, "乡镇（街道）"), col(t, hh, "军人姓名"), col(t, hh, "军人身份证号"), col(t, hh, "联系电话")
		// By town code, then name: A (101) first, A1 first within it; C last.
		var order []string
		for _, r := range hh[1:] {
			order = append(order, r[name1])
		}
		want := []string{"王A1", "王A2", "王A3", "王A4", "王A5", "王B1", "王B2", "王B3", "王B4", "王C1", "王C2", "王C3"}
		if !slices.Equal(order, want) {
			t.Errorf("order %v, want %v", order, want)
		}
		a1 := hh[1]
		if a1[town] != "虎威镇" || a1[id] != idnumber.Mask(f.a1ID) || a1[phone] != idnumber.MaskPhone(f.a1Phone) {
			t.Errorf("A1 row %v: want masked ID %s and phone", a1, idnumber.Mask(f.a1ID))
		}
		for _, r := range hh {
			for _, c := range r {
				if c == f.a1ID || c == f.a1Phone {
					t.Fatalf("a full number in a masked export: %v", r)
				}
			}
		}
		checks := map[string]string{
			"家庭类别": "现役军人家庭", "军人状态": "现役军士", "岗位类别": "一般岗位", "重点联系类别": "困难家庭",
			"家庭成员数": "1", "最近联系日期": "2026-02-10", "下次联系截止日": "2026-03-12", "逾期未联系": "否",
			"本年联系次数": "2", "本年帮扶次数": "2", "本年帮扶金额（元）": "623.45", "在办案件数": "1",
		}
		for header, want := range checks {
			if got := cell(a1, col(t, hh, header)); got != want {
				t.Errorf("A1 %s = %q, want %q", header, got, want)
			}
		}
		// Dates are dates, money is a number: what a formula would read.
		if v, _ := wb.GetCellValue("户台账", "P2", excelize.Options{RawCellValue: true}); v != "623.45" {
			t.Errorf("money cell holds %q, want the number 623.45", v)
		}
		if typ, _ := wb.GetCellType("户台账", "K2"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("the last contact date is text (%v), want a date", typ)
		}

		members := sheetRows(t, wb, "成员")
		if len(members) != 2 || cell(members[1], col(t, members, "身份证号")) != idnumber.Mask(f.spouseID) ||
			cell(members[1], col(t, members, "出生年份")) != "1992" || cell(members[1], col(t, members, "与军人关系")) != "配偶" {
			t.Errorf("members %v", members)
		}
		contacts := sheetRows(t, wb, "联系记录")
		if len(contacts) != 4 || cell(contacts[1], col(t, contacts, "联系方式")) != "上门走访" {
			t.Errorf("contacts %v", contacts)
		}
		help := sheetRows(t, wb, "帮扶记录")
		if len(help) != 4 || cell(help[3], col(t, help, "金额（元）")) != "123.45" || cell(help[1], col(t, help, "帮扶日期")) != "2025-12-01" {
			t.Errorf("assistance %v", help)
		}
	})
}

func TestExportHouseholdsFullViewAudited(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *exportFixture) {
		e := newHouseholdExport(f.store, nil, f.opts)
		wb, _, _ := f.run(f.ctx, e, &pb.ExportHouseholdsRequest{View: pb.View_VIEW_FULL})
		hh := sheetRows(t, wb, "户台账")
		if a1 := hh[1]; a1[col(t, hh, "军人身份证号")] != f.a1ID || a1[col(t, hh, "联系电话")] != f.a1Phone {
			t.Errorf("full view A1 row %v", a1)
		}
		members := sheetRows(t, wb, "成员")
		if cell(members[1], col(t, members, "身份证号")) != f.spouseID || cell(members[1], col(t, members, "出生日期")) != "1992-07-03" {
			t.Errorf("full view members %v", members)
		}
		af, err := filter.Parse(`action = "full-view"`, repository.AuditFilter)
		if err != nil {
			t.Fatal(err)
		}
		logs, _, err := f.store.ListAuditLogs(f.ctx, af, repository.Page{})
		if err != nil || len(logs) != 1 || logs[0].Resource != "households" || !strings.Contains(logs[0].Fields, "households:12") {
			t.Fatalf("full-view audit %+v, %v", logs, err)
		}

		// A caseworker may see their own town in full, and nothing else.
		cw := caseworkerOf(townA)
		wb, _, _ = f.run(cw, e, &pb.ExportHouseholdsRequest{View: pb.View_VIEW_FULL})
		hh = sheetRows(t, wb, "户台账")
		if len(hh) != 6 {
			t.Fatalf("town A's caseworker got %d rows, want 5", len(hh)-1)
		}
		for _, r := range hh[1:] {
			if r[0] != "虎威镇" {
				t.Errorf("another town's row in town A's export: %v", r)
			}
		}
		// An auditor reads the whole county, masked only.
		aud := callerContext(&principal.Principal{ID: "users/aud", Kind: principal.User, Roles: []principal.Role{principal.Auditor}},
			principal.Scope{All: true})
		if err := e.check(aud, &pb.ExportHouseholdsRequest{View: pb.View_VIEW_FULL}); !errors.Is(err, policy.ErrNoFullView) {
			t.Errorf("auditor's full export: %v, want ErrNoFullView", err)
		}
		if _, _, err := e.export(aud, &pb.ExportHouseholdsRequest{View: pb.View_VIEW_FULL}, &bytes.Buffer{}, func(Progress) {}); !errors.Is(err, policy.ErrNoFullView) {
			t.Errorf("auditor's full export run: %v, want ErrNoFullView", err)
		}
		if _, ok := domain.AsValidation(e.check(f.ctx, &pb.ExportHouseholdsRequest{Filter: "no_such_field = 1"})); !ok {
			t.Error("a bad filter passed check")
		}
	})
}

func TestExportHouseholdsFilterAndPages(t *testing.T) {
	f := newExportFixture(t, repository.SQLite)
	e := newHouseholdExport(f.store, nil, f.opts)
	e.pageSize = 5 // three pages and a bit, across towns
	wb, _, _ := f.run(f.ctx, e, &pb.ExportHouseholdsRequest{})
	if hh := sheetRows(t, wb, "户台账"); len(hh) != 13 || hh[12][1] != "王C3" || hh[6][1] != "王B1" {
		t.Errorf("paged export %v", hh)
	}
	wb, _, _ = f.run(f.ctx, e, &pb.ExportHouseholdsRequest{Filter: `town_code = "` + townB + `"`})
	if hh := sheetRows(t, wb, "户台账"); len(hh) != 5 {
		t.Errorf("filtered to town B: %d rows", len(hh)-1)
	}
}

func TestExportStopsWhenCancelled(t *testing.T) {
	f := newExportFixture(t, repository.SQLite)
	e := newHouseholdExport(f.store, nil, f.opts)
	e.pageSize = 2
	ctx, cancel := context.WithCancel(f.ctx)
	var seen int64
	_, _, err := e.export(ctx, &pb.ExportHouseholdsRequest{}, &bytes.Buffer{}, func(p Progress) {
		seen = p.Written
		if p.Written == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || seen != 3 {
		t.Fatalf("cancelled export: %v after %d rows", err, seen)
	}
}

func TestExportCampaign(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *exportFixture) {
		e := newCampaignExport(f.store, nil, f.opts)
		req := &pb.ExportCampaignRequest{Name: "campaigns/" + f.campaign}
		wb, name, rows := f.run(f.ctx, e, req)
		if !strings.HasPrefix(name, "走访慰问-2026年春节走访慰问-") {
			t.Errorf("file name %q", name)
		}
		if got := wb.GetSheetList(); !slices.Equal(got, []string{"覆盖情况", "未走访", "走访记录"}) {
			t.Fatalf("sheets %v", got)
		}
		// 3 towns and a total, 9 unvisited, 3 visits.
		if rows != 16 {
			t.Errorf("rows = %d, want 16", rows)
		}
		cov := sheetRows(t, wb, "覆盖情况")
		want := [][]string{
			{"乡镇（街道）", "走访对象（户）", "已走访（户）", "未走访（户）", "覆盖率", "未走访已说明原因（户）"},
			{"虎威镇", "5", "2", "3", "40.00%", "0"},
			{"社坛镇", "4", "1", "3", "25.00%", "0"},
			{"三元镇", "3", "0", "3", "0.00%", "0"},
			{"合计", "12", "3", "9", "25.00%", "0"},
		}
		if fmt.Sprint(cov) != fmt.Sprint(want) {
			t.Errorf("coverage\n%v\nwant\n%v", cov, want)
		}
		unvisited := sheetRows(t, wb, "未走访")
		if len(unvisited) != 10 {
			t.Errorf("unvisited %v", unvisited)
		}
		for _, r := range unvisited[1:] {
			if slices.Contains([]string{"王A1", "王A2", "王B1"}, r[1]) || r[2] != "现役军人家庭" {
				t.Errorf("unvisited row %v", r)
			}
		}
		visits := sheetRows(t, wb, "走访记录")
		if len(visits) != 4 || cell(visits[1], col(t, visits, "慰问金（元）")) != "200.00" ||
			cell(visits[1], col(t, visits, "走访日期")) != "2026-02-01" || cell(visits[1], col(t, visits, "走访人员")) != "刘镇长、陈干事" ||
			cell(visits[1], col(t, visits, "走访形式")) != "上门" {
			t.Errorf("visits %v", visits)
		}

		// Town B's caseworker: B's coverage, B's gaps and visits.
		wb, _, _ = f.run(caseworkerOf(townB), e, req)
		cov = sheetRows(t, wb, "覆盖情况")
		if fmt.Sprint(cov[1:]) != fmt.Sprint([][]string{{"社坛镇", "4", "1", "3", "25.00%", "0"}, {"合计", "4", "1", "3", "25.00%", "0"}}) {
			t.Errorf("town B's coverage %v", cov)
		}
		if u := sheetRows(t, wb, "未走访"); len(u) != 4 {
			t.Errorf("town B's unvisited %v", u)
		}
		if v := sheetRows(t, wb, "走访记录"); len(v) != 2 {
			t.Errorf("town B's visits %v", v)
		}

		if err := e.check(f.ctx, &pb.ExportCampaignRequest{Name: "campaigns/" + uuid.Must(uuid.NewV7()).String()}); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("unknown campaign: %v", err)
		}
	})
}

func TestExportMeasures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *exportFixture) {
		e := newMeasureExport(f.store, nil, f.opts)
		wb, name, rows := f.run(f.ctx, e, &pb.ExportMeasuresRequest{Parent: "organizations/-"})
		if name != "惠军措施台账-20260302.xlsx" || rows != 5 {
			t.Errorf("file %q, %d rows; want 3 measures and 2 organizations", name, rows)
		}
		ms := sheetRows(t, wb, "措施台账")
		if len(ms) != 4 {
			t.Fatalf("measures %v", ms)
		}
		first := ms[1]
		checks := map[string]string{"签约单位": "丰都1号超市", "措施名称": "购物九折", "措施类别": "优惠折扣", "状态": "拟定",
			"惠及对象类别": "现役军人家庭", "适用乡镇（街道）": "全县", "评估逾期": "否", "未办结投诉": "1"}
		for h, want := range checks {
			if got := cell(first, col(t, ms, h)); got != want {
				t.Errorf("measure %s = %q, want %q", h, got, want)
			}
		}
		if got := cell(ms[2], col(t, ms, "适用乡镇（街道）")); got != "虎威镇" {
			t.Errorf("second measure's towns %q", got)
		}
		orgs := sheetRows(t, wb, "签约单位")
		if len(orgs) != 3 || cell(orgs[1], col(t, orgs, "联系电话")) != idnumber.MaskPhone("13800000000") ||
			cell(orgs[1], col(t, orgs, "协议到期日期")) != "2027-01-01" {
			t.Errorf("organizations %v", orgs)
		}

		wb, _, _ = f.run(f.ctx, e, &pb.ExportMeasuresRequest{Parent: "organizations/" + f.org2})
		if ms := sheetRows(t, wb, "措施台账"); len(ms) != 2 || ms[1][2] != "免费停车" {
			t.Errorf("org2's measures %v", ms)
		}
		if orgs := sheetRows(t, wb, "签约单位"); len(orgs) != 2 {
			t.Errorf("org2's sheet %v", orgs)
		}
		wb, _, _ = f.run(f.ctx, e, &pb.ExportMeasuresRequest{Parent: "organizations/-", Filter: `town_code = "` + townB + `"`})
		if ms := sheetRows(t, wb, "措施台账"); len(ms) != 3 {
			t.Errorf("measures serving town B %v", ms)
		}
		if err := e.check(f.ctx, &pb.ExportMeasuresRequest{Parent: "organizations/" + uuid.Must(uuid.NewV7()).String()}); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("unknown organization: %v", err)
		}
		if _, ok := domain.AsValidation(e.check(f.ctx, &pb.ExportMeasuresRequest{Parent: "organizations/-", Filter: "state = NOPE"})); !ok {
			t.Error("a bad filter passed check")
		}
	})
}
