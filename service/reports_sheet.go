package service

import (
	"fmt"
	"io"

	"google.golang.org/genproto/googleapis/type/date"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/sheet"
)

// The statistics workbook: one sheet of headline figures, then one per
// table of the answer, with the labels staff read elsewhere in the system.

var (
	summaryColumns = []sheet.OutColumn{{Header: "项目", Kind: sheet.OutText, Width: 36}, {Header: "数值", Kind: sheet.OutText, Width: 24}}
	outcomeColumns = []sheet.OutColumn{{Header: "乡镇（街道）", Width: 16}, {Header: "案件类型", Width: 18},
		{Header: "办结方式", Width: 12}, {Header: "办理结果", Width: 12}, {Header: "件数", Kind: sheet.OutInt, Width: 10}}
	schoolColumns = []sheet.OutColumn{{Header: "学段", Width: 14}, {Header: "优待依据", Width: 24},
		{Header: "落实学位数", Kind: sheet.OutInt, Width: 12}}
	referralColumns = []sheet.OutColumn{{Header: "协办单位", Width: 44}, {Header: "转介件数", Kind: sheet.OutInt, Width: 10},
		{Header: "已回复", Kind: sheet.OutInt, Width: 10}, {Header: "回复天数中位数", Width: 14},
		{Header: "回复天数90分位", Width: 14}, {Header: "逾期未回复", Kind: sheet.OutInt, Width: 12}}
)

// writeStatistics writes st as a workbook to w.
func writeStatistics(w io.Writer, st *pb.CaseStatistics) error {
	wb, err := sheet.NewWorkbook()
	if err != nil {
		return err
	}
	defer func() { _ = wb.Close() }()
	sheets, err := wb.Sheets(sheet.SheetSpec{Name: "概况", Columns: summaryColumns},
		sheet.SheetSpec{Name: "办结情况", Columns: outcomeColumns},
		sheet.SheetSpec{Name: "入学优待", Columns: schoolColumns},
		sheet.SheetSpec{Name: "协办转介", Columns: referralColumns})
	if err != nil {
		return err
	}
	for _, write := range []func() error{
		func() error { return summaryRows(sheets[0], st) },
		func() error { return outcomeRows(sheets[1], st.GetOutcomes()) },
		func() error { return schoolRows(sheets[2], st.GetSchoolPlaces()) },
		func() error { return referralRows(sheets[3], st.GetReferrals()) },
	} {
		if err := write(); err != nil {
			return err
		}
	}
	_, err = wb.WriteTo(w)
	return err
}

func summaryRows(s *sheet.OutSheet, st *pb.CaseStatistics) error {
	p, la, r, c := st.GetPlacement(), st.GetLegalAid(), st.GetResolution(), st.GetCurrent()
	town := st.GetTownName()
	if town == "" {
		town = "全部（本人辖区）"
	}
	// Counts are numbers, so staff can sum them; the rest is text.
	rows := []struct {
		label string
		value any
	}{
		{"统计期间", dateText(st.GetStartDate()) + " 至 " + dateText(st.GetEndDate())},
		{"乡镇（街道）", town},
		{"统计时间", st.GetComputeTime().AsTime().In(domain.ChinaTime).Format("2006-01-02 15:04")},
		{fmt.Sprintf("%d年符合安置条件的随军家属人数", p.GetYear()), p.GetEligible()},
		{fmt.Sprintf("%d年已安置人数", p.GetYear()), p.GetPlaced()},
		{"安置率", share(p.GetRateBasisPoints())},
		{"法律援助审查决定件数", la.GetDecisions()},
		{"7日内作出决定件数", la.GetDecisionsWithinTerm()},
		{"7日内决定比例", share(la.GetWithinTermBasisPoints())},
		{"办结件数", r.GetResolved()},
		{"办结天数中位数", optDays(r.MedianDays)},
		{"办结天数90分位", optDays(r.P90Days)},
		{"当前逾期件数", c.GetOverdue()},
		{"当前中止（暂停）件数", c.GetOnHold()},
	}
	for _, row := range rows {
		if err := s.Row(row.label, row.value); err != nil {
			return err
		}
	}
	return nil
}

func outcomeRows(s *sheet.OutSheet, rows []*pb.OutcomeCount) error {
	for _, o := range rows {
		err := s.Row(o.GetTownName(), sheet.Label(sheet.CaseType, o.GetCaseType()), sheet.Label(sheet.CaseStatus, o.GetStatus()),
			sheet.Label(sheet.OutcomeResult, o.GetResult()), o.GetCount())
		if err != nil {
			return err
		}
	}
	return nil
}

func schoolRows(s *sheet.OutSheet, rows []*pb.SchoolPlaces) error {
	for _, o := range rows {
		err := s.Row(sheet.Label(sheet.SchoolStage, o.GetSchoolStage()),
			sheet.Label(sheet.EnrollmentPriorityBasis, o.GetPriorityBasis()), o.GetCount())
		if err != nil {
			return err
		}
	}
	return nil
}

func referralRows(s *sheet.OutSheet, rows []*pb.ReferralStatistics) error {
	for _, o := range rows {
		err := s.Row(o.GetAgency(), o.GetSent(), o.GetReplied(), optDays(o.MedianReplyDays), optDays(o.P90ReplyDays), o.GetOverdue())
		if err != nil {
			return err
		}
	}
	return nil
}

// share renders basis points as a percentage with two decimals.
func share(bp int32) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) }

// optDays is a number of days, or a dash where there is none.
func optDays(d *int32) any {
	if d == nil {
		return "—"
	}
	return *d
}

// statisticsFileName names the workbook after its period.
func statisticsFileName(st *pb.CaseStatistics) string {
	name := "案件统计-" + compactDate(st.GetStartDate()) + "-" + compactDate(st.GetEndDate())
	if t := st.GetTownName(); t != "" {
		name += "-" + fileSafe(t)
	}
	return name + ".xlsx"
}

func dateText(d *date.Date) string {
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}

func compactDate(d *date.Date) string {
	return fmt.Sprintf("%04d%02d%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}
