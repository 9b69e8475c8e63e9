// Package sheettest fills in the household template for tests of the
// import: rows written into the real template, or as .csv.
package sheettest

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fengdu-county/casework/internal/sheet"
)

// Row lays out cells, by field path, in the order of cols.
func Row(cols []sheet.Column, cells map[string]string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = cells[c.Field]
	}
	return out
}

// Workbook is the template with households on 户 and members on 成员,
// from the first data row, every cell written as text.
func Workbook(t testing.TB, households, members [][]string) []byte {
	t.Helper()
	tmpl, err := sheet.HouseholdTemplate(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for name, rows := range map[string][][]string{sheet.HouseholdSheet: households, sheet.MemberSheet: members} {
		for i, r := range rows {
			cells := make([]any, len(r))
			for j, c := range r {
				cells[j] = c
			}
			cell, _ := excelize.CoordinatesToCellName(1, sheet.FirstDataRow+i)
			if err := f.SetSheetRow(name, cell, &cells); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CSV is a .csv of one sheet: a BOM, the headers of cols, their field
// paths when fields is set, then rows.
func CSV(t testing.TB, cols []sheet.Column, fields bool, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	var heads, paths []string
	for _, c := range cols {
		heads = append(heads, c.Header)
		paths = append(paths, c.Field)
	}
	_ = w.Write(heads)
	if fields {
		_ = w.Write(paths)
	}
	for _, r := range rows {
		_ = w.Write(r)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
