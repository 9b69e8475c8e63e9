package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

const statisticsName = "reports/caseStatistics"

// statisticsQuery is the period and town of a request as the gateway reads
// them from the query string.
func statisticsQuery(p *pb.StatisticsPeriod, town string) url.Values {
	q := url.Values{}
	switch v := p.GetPeriod().(type) {
	case *pb.StatisticsPeriod_Year:
		q.Set("period.year", strconv.Itoa(int(v.Year)))
	case *pb.StatisticsPeriod_Quarter:
		q.Set("period.quarter.year", strconv.Itoa(int(v.Quarter.GetYear())))
		q.Set("period.quarter.quarter", strconv.Itoa(int(v.Quarter.GetQuarter())))
	case *pb.StatisticsPeriod_Month:
		q.Set("period.month.year", strconv.Itoa(int(v.Month.GetYear())))
		q.Set("period.month.month", strconv.Itoa(int(v.Month.GetMonth())))
	case *pb.StatisticsPeriod_Dates:
		for name, d := range map[string]*date.Date{"start_date": v.Dates.GetStartDate(), "end_date": v.Dates.GetEndDate()} {
			q.Set("period.dates."+name+".year", strconv.Itoa(int(d.GetYear())))
			q.Set("period.dates."+name+".month", strconv.Itoa(int(d.GetMonth())))
			q.Set("period.dates."+name+".day", strconv.Itoa(int(d.GetDay())))
		}
	}
	if town != "" {
		q.Set("townCode", town)
	}
	return q
}

func (c *client) CaseStatistics(p *pb.StatisticsPeriod, town string) (*pb.CaseStatistics, error) {
	out := &pb.CaseStatistics{}
	return out, c.call("ReportService/GetCaseStatistics", get(statisticsName, statisticsQuery(p, town)),
		&pb.GetCaseStatisticsRequest{Name: statisticsName, Period: p, TownCode: town}, out)
}

// DownloadCaseStatistics answers the workbook's bytes, over either transport.
func (c *client) DownloadCaseStatistics(p *pb.StatisticsPeriod, town string) ([]byte, error) {
	c.t.Helper()
	if !c.http {
		out := &httpbody.HttpBody{}
		err := c.call("ReportService/DownloadCaseStatistics", route{},
			&pb.DownloadCaseStatisticsRequest{Name: statisticsName, Period: p, TownCode: town}, out)
		return out.GetData(), err
	}
	path := c.e.httpBase + "/v1/" + statisticsName + ":download?" + statisticsQuery(p, town).Encode()
	code, hdr, data, err := c.e.doHTTP(c.t, c.hc, path, http.MethodGet, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("download: HTTP %d: %s", code, data)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		c.t.Errorf("download Content-Type %q", ct)
	}
	if cd := hdr.Get("Content-Disposition"); cd == "" {
		c.t.Errorf("download without Content-Disposition")
	}
	return data, nil
}

func yearPeriod(y int32) *pb.StatisticsPeriod {
	return &pb.StatisticsPeriod{Period: &pb.StatisticsPeriod_Year{Year: y}}
}

func quarterPeriod(y, q int32) *pb.StatisticsPeriod {
	return &pb.StatisticsPeriod{Period: &pb.StatisticsPeriod_Quarter{Quarter: &pb.YearQuarter{Year: y, Quarter: q}}}
}

// outcomeLines are a report's outcome counts as "town kind status result
// count" lines, for comparing with the hand count.
func outcomeLines(rows []*pb.OutcomeCount) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %s %s %d", r.GetTownCode(), r.GetCaseType(), r.GetStatus(), r.GetResult(), r.GetCount()))
	}
	return out
}

const (
	typeElder      = pb.CaseType_CASE_TYPE_ELDER_MEDICAL_HELP
	typeSchool     = pb.CaseType_CASE_TYPE_SCHOOL_ENROLLMENT
	typePlacement  = pb.CaseType_CASE_TYPE_EMPLOYMENT_PLACEMENT
	typeLegalAid   = pb.CaseType_CASE_TYPE_LEGAL_AID
	resultNone     = pb.OutcomeResult_OUTCOME_RESULT_UNSPECIFIED
	resultAchieved = pb.OutcomeResult_OUTCOME_RESULT_ACHIEVED
	resultPartial  = pb.OutcomeResult_OUTCOME_RESULT_PARTIALLY_ACHIEVED
	resultNot      = pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED
)

func line(town string, k pb.CaseType, s pb.CaseStatus, r pb.OutcomeResult, n int) string {
	return fmt.Sprintf("%s %s %s %s %d", town, k, s, r, n)
}

// statisticsFixture is what the fixture left to look at later.
type statisticsFixture struct {
	reopened string // the case resolved in Q1 and reopened in Q2
	open     string // the placement still open
}

// buildStatisticsFixture opens and moves cases at set times of Q1 2026, in
// town A and town B, as the hand count in testStatistics expects.
func buildStatisticsFixture(t *testing.T, e *env, c *client) statisticsFixture {
	t.Helper()
	at := func(m time.Month, d int) { e.setClock(chinaAt(2026, m, d, 10, 0)) }
	officer := func(h *pb.Household) {
		h.Servicemember.RankCategory = pb.RankCategory_RANK_CATEGORY_OFFICER
		h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_OFFICER
	}
	at(3, 2)
	a := e.family(t, c, officer)
	a2 := e.family(t, c, officer)
	b := e.family(t, c, func(h *pb.Household) { h.TownCode = townB })
	started := func(cs *pb.Case) string { return toInProgress(t, c, must(c.CreateCase(cs)).ok(t)).GetName() }
	submitted := func(cs *pb.Case) string {
		cs = must(c.CreateCase(cs)).ok(t)
		must(c.Submit(cs.GetName(), cs.GetEtag())).ok(t)
		return cs.GetName()
	}
	e1, e2, e3 := started(elderCase(a)), started(elderCase(a2)), submitted(elderCase(b))
	s1 := started(schoolCase(a))
	p1, p2 := started(employmentCase(a)), started(employmentCase(a2))
	l1, l2 := submitted(legalAidCase(a, a.spouse)), submitted(legalAidCase(a2, a2.spouse))
	// What resolving each kind needs recorded first.
	record := func(n string, details *pb.Case, paths ...string) {
		details.Name, details.Etag = n, must(c.GetCase(n)).ok(t).GetEtag()
		must(c.UpdateCase(details, paths...)).ok(t)
	}
	elderHelp := func(n string) {
		record(n, &pb.Case{Details: &pb.Case_ElderMedicalHelp{ElderMedicalHelp: &pb.ElderMedicalHelp{
			Hospital: "丰都县人民医院", HelpGiven: "绿色通道就诊"}}}, "elder_medical_help.hospital", "elder_medical_help.help_given")
	}
	for _, p := range []string{p1, p2} {
		record(p, &pb.Case{Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{
			Employer: "丰都县人民医院", Position: "行政文员", PlacementDate: &date.Date{Year: 2026, Month: 3, Day: 1}}}},
			"employment_placement.employer", "employment_placement.position", "employment_placement.placement_date")
		must(c.DecideEligibility(p, true, "PLACEMENT_OFFICER_NCO_SPOUSE", "批准文号 政干〔2026〕3号")).ok(t)
	}
	elderHelp(e1)
	elderHelp(e2)
	record(s1, &pb.Case{Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{
		AssignedSchool: "丰都县实验小学"}}}, "school_enrollment.assigned_school")
	at(3, 3)
	must(c.Resolve(s1, achieved("入读丰都县实验小学"))).ok(t) // 1 day
	at(3, 4)
	must(c.Accept(l1)).ok(t) // decided within 7 days
	at(3, 5)
	must(c.Resolve(e1, achieved("已就诊"))).ok(t) // 3 days
	at(3, 6)
	must(c.WithdrawFor(e3, pb.WithdrawalReason_WITHDRAWAL_REASON_APPLICANT_REQUEST, "家属自行就医")).ok(t) // town B
	at(3, 12)
	must(c.Resolve(e2, &pb.CaseOutcome{Result: resultPartial, Summary: "转院治疗"})).ok(t) // 10 days
	at(3, 16)
	must(c.RejectFor(l2, pb.RejectionReason_REJECTION_REASON_NOT_ELIGIBLE, "不符合法律援助条件")).ok(t) // decided late
	at(3, 20)
	must(c.Resolve(p1, achieved("交流到县人民医院"))).ok(t) // 18 days
	must(c.Assign(l1, "重庆某律师事务所")).ok(t)
	must(c.Start(l1)).ok(t)
	record(l1, &pb.Case{Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{LawyerOrInstitution: "重庆某律师事务所"}}},
		"legal_aid.lawyer_or_institution")
	at(3, 25)
	must(c.Resolve(l1, achieved("调解结案"))).ok(t) // 23 days
	b2 := started(elderCase(b))
	elderHelp(b2)
	at(3, 31)
	must(c.Resolve(b2, achieved("已就诊"))).ok(t) // town B, 6 days
	must(c.Close(s1)).ok(t)                    // closing a resolved case counts nothing more
	return statisticsFixture{reopened: e1, open: p2}
}

// testStatistics: every figure of a report against a fixture counted by
// hand; a closed quarter that a later reopening leaves alone; the scope of
// a town's caseworker; the workbook's cells; and who may ask.
func testStatistics(t *testing.T, e *env) {
	c := e.grpcClient(t)
	fx := buildStatisticsFixture(t, e, c)
	q1 := quarterPeriod(2026, 1)

	wantQ1 := []string{
		line(townA, typePlacement, resolved, resultAchieved, 1),
		line(townA, typeSchool, resolved, resultAchieved, 1),
		line(townA, typeElder, resolved, resultAchieved, 1),
		line(townA, typeElder, resolved, resultPartial, 1),
		line(townA, typeLegalAid, resolved, resultAchieved, 1),
		line(townA, typeLegalAid, rejected, resultNone, 1),
		line(townB, typeElder, resolved, resultAchieved, 1),
		line(townB, typeElder, withdrawn, resultNone, 1),
	}
	var before *pb.CaseStatistics
	e.eachClient(t, func(t *testing.T, c *client) {
		st := must(c.CaseStatistics(q1, "")).ok(t)
		if st.GetName() != statisticsName || st.GetStartDate().GetMonth() != 1 || st.GetEndDate().GetMonth() != 3 || st.GetEndDate().GetDay() != 31 {
			t.Errorf("period %v to %v", st.GetStartDate(), st.GetEndDate())
		}
		if got := outcomeLines(st.GetOutcomes()); !sameLines(got, wantQ1) {
			t.Errorf("outcomes\n%v\nwant\n%v", got, wantQ1)
		}
		// Resolved in days: 1, 3, 6, 10, 18, 23. Nearest rank: the median
		// is the 3rd (6), the 90th percentile the 6th (23).
		wantResolution(t, st, 6, 6, 23)
		// Two placements decided eligible for 2026, one placed.
		if p := st.GetPlacement(); p.GetYear() != 2026 || p.GetEligible() != 2 || p.GetPlaced() != 1 || p.GetRateBasisPoints() != 5000 {
			t.Errorf("placement %v", p)
		}
		// Two legal-aid decisions: accepted on day 2 (met), refused on day 14 (missed).
		la := st.GetLegalAid()
		if la.GetDecisions() != 2 || la.GetDecisionsWithinTerm() != 1 || la.GetWithinTermBasisPoints() != 5000 {
			t.Errorf("legal aid %v", la)
		}
		if got := outcomeLines(la.GetOutcomes()); !sameLines(got, []string{line(townA, typeLegalAid, resolved, resultAchieved, 1), line(townA, typeLegalAid, rejected, resultNone, 1)}) {
			t.Errorf("legal-aid outcomes %v", got)
		}
		places := st.GetSchoolPlaces()
		if len(places) != 1 || places[0].GetSchoolStage() != pb.SchoolStage_SCHOOL_STAGE_PRIMARY ||
			places[0].GetPriorityBasis() != pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_ACTIVE_DUTY || places[0].GetCount() != 1 {
			t.Errorf("school places %v", places)
		}
		if len(st.GetReferrals()) != 0 {
			t.Errorf("referrals %v, none were sent", st.GetReferrals())
		}
		if c.name == "grpc" {
			before = st
		}
	})

	// A caseworker of town A sees town A's figures only, and may not ask
	// for town B's.
	cw := e.token(t, "stats-caseworker", []principal.Role{principal.Caseworker}, townA)
	for _, c := range e.clientsAs(t, cw) {
		st := must(c.CaseStatistics(q1, "")).ok(t)
		if got, want := outcomeLines(st.GetOutcomes()), wantQ1[:6]; !sameLines(got, want) {
			t.Errorf("%s: town A's caseworker sees\n%v\nwant\n%v", c.name, got, want)
		}
		// 1, 3, 10, 18, 23: the 3rd is 10, the 5th 23.
		wantResolution(t, st, 5, 10, 23)
		wantReason(t, must(c.CaseStatistics(q1, townB)).fails(t, codes.PermissionDenied), pb.ErrorReason_OUT_OF_SCOPE)
		sameTown := must(c.CaseStatistics(q1, townA)).ok(t)
		if got := outcomeLines(sameTown.GetOutcomes()); !sameLines(got, wantQ1[:6]) || sameTown.GetTownName() == "" {
			t.Errorf("%s: town A asked by name: %v (%q)", c.name, got, sameTown.GetTownName())
		}
	}
	// The supervisor may ask for town B alone.
	onlyB := must(c.CaseStatistics(q1, townB)).ok(t)
	if got := outcomeLines(onlyB.GetOutcomes()); !sameLines(got, wantQ1[6:]) {
		t.Errorf("town B: %v", got)
	}

	// Reopened in Q2 and resolved again, not achieved: Q1 stays as it was,
	// and Q2 counts the new outcome, 44 days after submission.
	e.setClock(chinaAt(2026, 4, 10, 10, 0))
	must(c.Reopen(fx.reopened, "病情复发")).ok(t)
	e.setClock(chinaAt(2026, 4, 15, 10, 0))
	must(c.Resolve(fx.reopened, &pb.CaseOutcome{Result: resultNot, Summary: "转外地治疗"})).ok(t)
	after := must(c.CaseStatistics(q1, "")).ok(t)
	if !sameFigures(before, after) {
		t.Errorf("Q1 changed after a reopening in Q2:\nbefore %v\nafter  %v", before, after)
	}
	q2 := must(c.CaseStatistics(quarterPeriod(2026, 2), "")).ok(t)
	if got := outcomeLines(q2.GetOutcomes()); !sameLines(got, []string{line(townA, typeElder, resolved, resultNot, 1)}) {
		t.Errorf("Q2 outcomes %v", got)
	}
	wantResolution(t, q2, 1, 44, 44)
	year := must(c.CaseStatistics(yearPeriod(2026), "")).ok(t)
	if got, want := outcomeLines(year.GetOutcomes()), append(slices.Clone(wantQ1), line(townA, typeElder, resolved, resultNot, 1)); !sameLines(got, want) {
		t.Errorf("2026: %v\nwant %v", got, want)
	}

	// The current load: the open placement is due by the end of 2026. In
	// January 2027 it is overdue; on hold it would count as held.
	e.setClock(chinaAt(2027, 1, 5, 10, 0))
	if cur := must(c.CaseStatistics(yearPeriod(2026), "")).ok(t).GetCurrent(); cur.GetOverdue() != 1 || cur.GetOnHold() != 0 {
		t.Errorf("current load %v, want 1 overdue", cur)
	}
	// Holds are another feature's (issue 14): its columns are set here as
	// it sets them, to check the count that reads them.
	held := time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)
	if err := e.db.Gorm.Exec("UPDATE cases SET hold_start_time = ?, hold_end_time = ? WHERE id = ?",
		held, held.AddDate(0, 0, 30), fx.open[len("cases/"):]).Error; err != nil {
		t.Fatal(err)
	}
	if cur := must(c.CaseStatistics(yearPeriod(2026), "")).ok(t).GetCurrent(); cur.GetOnHold() != 1 {
		t.Errorf("current load %v, want 1 on hold", cur)
	}

	testStatisticsWorkbook(t, e, q1, before)
	testStatisticsRefusals(t, e)
}

// sameFigures compares two answers but for when they were computed.
func sameFigures(a, b *pb.CaseStatistics) bool {
	a, b = proto.CloneOf(a), proto.CloneOf(b)
	a.ComputeTime, b.ComputeTime = nil, nil
	return proto.Equal(a, b)
}

func sameLines(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

func wantResolution(t *testing.T, st *pb.CaseStatistics, resolved int64, median, p90 int32) {
	t.Helper()
	r := st.GetResolution()
	if r.GetResolved() != resolved || r.MedianDays == nil || r.GetMedianDays() != median || r.P90Days == nil || r.GetP90Days() != p90 {
		t.Errorf("resolution %v, want %d resolved, median %d, p90 %d", r, resolved, median, p90)
	}
}

// testStatisticsWorkbook: the download carries the answer's figures in its
// cells, over both transports, and each download is audited.
func testStatisticsWorkbook(t *testing.T, e *env, q1 *pb.StatisticsPeriod, st *pb.CaseStatistics) {
	var audited int64
	count := func() int64 {
		var n int64
		if err := e.db.Gorm.Table("audit_log").Where("action = ? AND resource = ?", "download", statisticsName).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	e.eachClient(t, func(t *testing.T, c *client) {
		data := must(c.DownloadCaseStatistics(q1, "")).ok(t)
		audited++
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("not a workbook: %v", err)
		}
		defer func() { _ = f.Close() }()
		if got := f.GetSheetList(); !slices.Equal(got, []string{"概况", "办结情况", "入学优待", "协办转介"}) {
			t.Errorf("sheets %v", got)
		}
		summary, _ := f.GetRows("概况")
		want := map[string]string{
			"统计期间": "2026-01-01 至 2026-03-31", "2026年符合安置条件的随军家属人数": "2", "2026年已安置人数": "1",
			"安置率": "50.00%", "法律援助审查决定件数": "2", "7日内作出决定件数": "1", "7日内决定比例": "50.00%",
			"办结件数": "6", "办结天数中位数": "6", "办结天数90分位": "23",
		}
		for _, row := range summary[1:] {
			if w, ok := want[row[0]]; ok && (len(row) < 2 || row[1] != w) {
				t.Errorf("概况 %s: %v, want %s", row[0], row[1:], w)
			}
			delete(want, row[0])
		}
		if len(want) != 0 {
			t.Errorf("概况 lacks %v", want)
		}
		rows, _ := f.GetRows("办结情况")
		if !slices.Equal(rows[0], []string{"乡镇（街道）", "案件类型", "办结方式", "办理结果", "件数"}) || len(rows) != 1+len(st.GetOutcomes()) {
			t.Fatalf("办结情况: %v", rows)
		}
		// Row for row the answer's outcomes, in its order, in words.
		first := st.GetOutcomes()[0]
		if rows[1][0] != first.GetTownName() || rows[1][4] != strconv.FormatInt(first.GetCount(), 10) {
			t.Errorf("办结情况 first row %v, answer %v", rows[1], first)
		}
		found := false
		for _, r := range rows[1:] {
			if r[1] == "法律援助" && r[2] == "不予受理" && r[3] == "" && r[4] == "1" {
				found = true
			}
		}
		if !found {
			t.Errorf("办结情况 has no refused legal-aid row: %v", rows)
		}
		schoolRows, _ := f.GetRows("入学优待")
		if len(schoolRows) != 2 || !slices.Equal(schoolRows[1], []string{"小学", "现役军人子女", "1"}) {
			t.Errorf("入学优待 %v", schoolRows)
		}
	})
	if got := count(); got != audited {
		t.Errorf("%d download audit entries, want %d", got, audited)
	}
	// The answer itself is no download: nothing audited for it.
	must(e.grpcClient(t).CaseStatistics(q1, "")).ok(t)
	if got := count(); got != audited {
		t.Errorf("%d download audit entries after a read, want %d", got, audited)
	}
}

// testStatisticsRefusals: a period must be one of the four and sensible;
// the veterans-affairs system and admins may not ask.
func testStatisticsRefusals(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		bad := []*pb.StatisticsPeriod{
			{},
			yearPeriod(1999),
			quarterPeriod(2026, 5),
			{Period: &pb.StatisticsPeriod_Dates{Dates: &pb.DateRange{StartDate: &date.Date{Year: 2026, Month: 3, Day: 1},
				EndDate: &date.Date{Year: 2026, Month: 2, Day: 1}}}},
			{Period: &pb.StatisticsPeriod_Dates{Dates: &pb.DateRange{StartDate: &date.Date{Year: 2025, Month: 1, Day: 1},
				EndDate: &date.Date{Year: 2026, Month: 2, Day: 1}}}},
			{Period: &pb.StatisticsPeriod_Dates{Dates: &pb.DateRange{StartDate: &date.Date{Year: 2026, Month: 2, Day: 30},
				EndDate: &date.Date{Year: 2026, Month: 3, Day: 1}}}},
		}
		for _, p := range bad {
			must(c.CaseStatistics(p, "")).fails(t, codes.InvalidArgument)
		}
		must(c.CaseStatistics(yearPeriod(2026), "999999999")).fails(t, codes.InvalidArgument)
		dates := &pb.StatisticsPeriod{Period: &pb.StatisticsPeriod_Dates{Dates: &pb.DateRange{
			StartDate: &date.Date{Year: 2026, Month: 3, Day: 3}, EndDate: &date.Date{Year: 2026, Month: 3, Day: 5}}}}
		// Days 3 to 5 March: the school place (3rd) and the elder resolved on the 5th.
		st := must(c.CaseStatistics(dates, "")).ok(t)
		if st.GetResolution().GetResolved() != 2 {
			t.Errorf("3–5 March: %v", st.GetResolution())
		}
		month := &pb.StatisticsPeriod{Period: &pb.StatisticsPeriod_Month{Month: &pb.YearMonth{Year: 2026, Month: 4}}}
		if got := must(c.CaseStatistics(month, "")).ok(t).GetResolution().GetResolved(); got != 1 {
			t.Errorf("April: %d resolved, want 1", got)
		}
	})
	for _, r := range []principal.Role{principal.Integration, principal.Admin} {
		for _, c := range e.asRole(t, r) {
			must(c.CaseStatistics(yearPeriod(2026), "")).fails(t, codes.PermissionDenied)
		}
	}
}
