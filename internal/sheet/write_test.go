package sheet

import (
	"bytes"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

func TestWorkbookWritesCellsByKind(t *testing.T) {
	wb, err := NewWorkbook()
	if err != nil {
		t.Fatal(err)
	}
	cols := []OutColumn{{Header: "名称"}, {Header: "金额", Kind: OutMoney}, {Header: "日期", Kind: OutDate},
		{Header: "是否", Kind: OutBool}, {Header: "占比", Kind: OutPercent}, {Header: "数", Kind: OutInt}}
	a, err := wb.Sheet("甲", cols)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wb.Sheet("乙", cols[:1])
	if err != nil {
		t.Fatal(err)
	}
	day := "2026-03-02"
	// Rows of two sheets interleaved, as an export writes them.
	for _, err := range []error{
		a.Row("一", int64(123456), time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), true, 0.25, 7),
		b.Row("x"),
		a.Row("二", int64(5), &day, false, 1.0, int32(0)),
		a.Row("三", nil, "", nil, nil, nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Row("too few"); err == nil {
		t.Error("a short row was written")
	}
	if err := a.Row("x", 5, nil, nil, nil, nil); err == nil {
		t.Error("money that is not int64 fen was written")
	}
	var buf bytes.Buffer
	n, err := wb.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("WriteTo = %d, %v (%d bytes written)", n, err, buf.Len())
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "甲" || got[1] != "乙" {
		t.Fatalf("sheets %v", got)
	}
	rows, _ := f.GetRows("甲")
	want := [][]string{
		{"名称", "金额", "日期", "是否", "占比", "数"},
		{"一", "1,234.56", "2026-01-05", "是", "25.00%", "7"},
		{"二", "0.05", "2026-03-02", "否", "100.00%", "0"},
		{"三"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Errorf("row %d column %d = %q, want %q", i+1, j+1, rows[i][j], want[i][j])
			}
		}
	}
	if raw, _ := f.GetCellValue("甲", "B2", excelize.Options{RawCellValue: true}); raw != "1234.56" {
		t.Errorf("money is stored as %q, want the number 1234.56", raw)
	}
	for _, s := range []string{"甲", "乙"} {
		if p, err := f.GetPanes(s); err != nil || !p.Freeze || p.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v %v", s, p, err)
		}
	}
}
