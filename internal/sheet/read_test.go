package sheet_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/internal/sheet/sheettest"
)

var household = map[string]string{
	"servicemember.idNumber": "500230199001011237", "servicemember.name": "张伟",
	"servicemember.postType": "边海防", "servicemember.status": "现役军士", "servicemember.disabilityGrade": "2",
	"servicemember.decorated": "是", "townCode": "三合街道", "phone": "13800000000",
	"accompanimentApproval.approveDate": "2024-03-01",
}

var member = map[string]string{
	"servicemember.idNumber": "500230199001011237", "relation": "配偶", "displayName": "李娜", "birthDate": "1992/7/3",
}

func allTowns(cell string) (string, bool) {
	for _, t := range towns.Default().List() {
		if t.Name == cell {
			return t.Code, true
		}
	}
	return "", false
}

// rows reads every data row of every sheet of a file.
func rows(t *testing.T, data []byte, format sheet.Format) map[string][]sheet.Row {
	t.Helper()
	f, err := sheet.Open(data, format)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	out := map[string][]sheet.Row{}
	for _, s := range f.Sheets() {
		if err := f.Rows(s, func(r sheet.Row) error { out[s.Name] = append(out[s.Name], r); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestReadTemplateWorkbook(t *testing.T) {
	data := sheettest.Workbook(t, [][]string{sheettest.Row(sheet.HouseholdColumns, household)},
		[][]string{sheettest.Row(sheet.MemberColumns, member), sheettest.Row(sheet.MemberColumns, member)})
	got := rows(t, data, sheet.Detect)
	if len(got[sheet.HouseholdSheet]) != 1 || len(got[sheet.MemberSheet]) != 2 {
		t.Fatalf("rows %v", got)
	}
	if r := got[sheet.MemberSheet][1]; r.Num != sheet.FirstDataRow+1 {
		t.Errorf("second member row numbered %d", r.Num)
	}
	f, _ := sheet.Open(data, sheet.XLSX)
	defer f.Close()
	var h pb.Household
	if errs, err := f.Sheets()[0].Convert(got[sheet.HouseholdSheet][0], allTowns, &h); errs != nil || err != nil {
		t.Fatalf("Convert: %v %v", errs, err)
	}
	sm := h.GetServicemember()
	if sm.GetPostType() != pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE || sm.GetStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_NCO ||
		sm.GetDisabilityGrade() != 2 || !sm.GetDecorated() || h.GetTownCode() != "500230001" ||
		h.GetAccompanimentApproval().GetApproveDate().GetMonth() != 3 || sm.GetIdNumber() != "500230199001011237" {
		t.Errorf("converted %v", &h)
	}
	var m pb.Member
	if errs, err := f.Sheets()[1].Convert(got[sheet.MemberSheet][0], allTowns, &m); errs != nil || err != nil || m.GetBirthDate().GetDay() != 3 || m.GetRelation() != pb.Relation_RELATION_SPOUSE {
		t.Errorf("member %v, %v", &m, errs)
	}
}

func TestReadCSVReorderedColumns(t *testing.T) {
	cols := slices.Clone(sheet.HouseholdColumns)
	slices.Reverse(cols)
	for _, fields := range []bool{true, false} {
		data := sheettest.CSV(t, cols, fields, [][]string{sheettest.Row(cols, household)})
		got := rows(t, data, sheet.Detect)
		rs := got[sheet.HouseholdSheet]
		if len(rs) != 1 {
			t.Fatalf("fields %v: rows %v", fields, got)
		}
		// Cells come back in the template's order, whatever the file's.
		if rs[0].Cell(0) != household["servicemember.idNumber"] || rs[0].Cell(1) != "张伟" {
			t.Errorf("fields %v: row %v", fields, rs[0].Cells)
		}
		if want := 2; !fields && rs[0].Num != want {
			t.Errorf("row number %d, want %d", rs[0].Num, want)
		}
	}
	// A member .csv is told from its headers.
	data := sheettest.CSV(t, sheet.MemberColumns, false, [][]string{sheettest.Row(sheet.MemberColumns, member)})
	if got := rows(t, data, sheet.CSV); len(got[sheet.MemberSheet]) != 1 || len(got[sheet.HouseholdSheet]) != 0 {
		t.Errorf("member csv read as %v", got)
	}
}

func TestReadRefusesWhatIsNotTheTemplate(t *testing.T) {
	other := excelize.NewFile()
	_, _ = other.NewSheet(sheet.HouseholdSheet)
	_ = other.SetSheetRow(sheet.HouseholdSheet, "A1", &[]any{"姓名", "电话"})
	var buf bytes.Buffer
	_ = other.Write(&buf)
	noName := slices.DeleteFunc(slices.Clone(sheet.HouseholdColumns), func(c sheet.Column) bool { return c.Header == "军人姓名" })
	for name, data := range map[string][]byte{
		"binary":           {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0},
		"broken zip":       []byte("PK\x03\x04 not really"),
		"other workbook":   buf.Bytes(),
		"other csv":        []byte("name,phone\nx,y\n"),
		"missing required": sheettest.CSV(t, noName, false, nil),
	} {
		_, err := sheet.Open(data, sheet.Detect)
		if !errors.Is(err, sheet.ErrUnreadable) {
			t.Errorf("%s: %v, want ErrUnreadable", name, err)
		}
	}
}

func TestConvertNamesBadCells(t *testing.T) {
	bad := map[string]string{}
	for k, v := range household {
		bad[k] = v
	}
	bad["servicemember.postType"] = "边防"
	bad["townCode"] = "北京"
	bad["servicemember.name"] = ""
	bad["accompanimentApproval.approveDate"] = "2024-02-30"
	data := sheettest.CSV(t, sheet.HouseholdColumns, true, [][]string{sheettest.Row(sheet.HouseholdColumns, bad)})
	f, err := sheet.Open(data, sheet.CSV)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Sheets()[0]
	var errs []sheet.CellError
	_ = f.Rows(s, func(r sheet.Row) error { errs, err = s.Convert(r, allTowns, &pb.Household{}); return err })
	got := map[string]pb.ErrorReason{}
	for _, e := range errs {
		got[s.Columns[e.Column].Field] = e.Reason
		for _, v := range []string{"边防", "北京", "2024-02-30", "13800000000", "500230199001011237"} {
			if bytes.Contains([]byte(e.Message), []byte(v)) {
				t.Errorf("message %q quotes the cell", e.Message)
			}
		}
	}
	want := map[string]pb.ErrorReason{"servicemember.postType": pb.ErrorReason_UNKNOWN_LABEL, "townCode": pb.ErrorReason_UNKNOWN_TOWN,
		"servicemember.name": pb.ErrorReason_INVALID_FIELD, "accompanimentApproval.approveDate": pb.ErrorReason_INVALID_FIELD}
	if len(got) != len(want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, in := range []string{"2024-03-01", "2024/3/1", "2024.03.01", "2024年3月1日", "20240301", "45352"} {
		if got, ok := sheet.ParseDate(in); !ok || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"2024-13-01", "01/03/2024", "yesterday", "3"} {
		if _, ok := sheet.ParseDate(in); ok {
			t.Errorf("ParseDate(%q) accepted", in)
		}
	}
}
