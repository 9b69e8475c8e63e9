package sheet

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fengdu-county/casework/domain/towns"
)

// Check opens a household template and says what in it differs from the
// format: sheets, both header rows, a drop-down list with the right labels
// on every enumerated column, and a line of notes for every column. The
// tests of the template and of its route read it back with it.
func Check(data []byte, t *towns.Table) error {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer func() { _ = f.Close() }()
	if got, want := f.GetSheetList(), []string{HouseholdSheet, MemberSheet, NotesSheet, ListsSheet}; !slices.Equal(got, want) {
		return fmt.Errorf("sheets %v, want %v", got, want)
	}
	if visible, _ := f.GetSheetVisible(ListsSheet); visible {
		return fmt.Errorf("sheet %s is visible", ListsSheet)
	}
	for _, s := range dataSheets {
		if err := checkDataSheet(f, s.name, s.cols, t); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	rows, err := f.GetRows(NotesSheet)
	if err != nil {
		return err
	}
	if len(rows) == 0 || !slices.Equal(rows[0], NotesHeaders) {
		return fmt.Errorf("%s: headers %v", NotesSheet, rows)
	}
	described := map[string]bool{}
	for _, r := range rows[1:] {
		if len(r) >= 5 {
			described[r[0]+"/"+r[2]] = true
			if r[3] != Yes && r[3] != No {
				return fmt.Errorf("%s: %s says required %q", NotesSheet, r[1], r[3])
			}
		}
	}
	for _, c := range HouseholdColumns {
		if !described[HouseholdSheet+"/"+c.Field] {
			return fmt.Errorf("%s: no line for %s/%s", NotesSheet, HouseholdSheet, c.Header)
		}
	}
	for _, c := range MemberColumns {
		if !described[MemberSheet+"/"+c.Field] {
			return fmt.Errorf("%s: no line for %s/%s", NotesSheet, MemberSheet, c.Header)
		}
	}
	return nil
}

func checkDataSheet(f *excelize.File, name string, cols []Column, t *towns.Table) error {
	rows, err := f.GetRows(name)
	if err != nil {
		return err
	}
	if len(rows) < FieldRow {
		return fmt.Errorf("%d rows", len(rows))
	}
	for i, c := range cols {
		if i >= len(rows[HeaderRow-1]) || rows[HeaderRow-1][i] != c.Header {
			return fmt.Errorf("header %d: %v, want %s", i+1, rows[HeaderRow-1], c.Header)
		}
		if i >= len(rows[FieldRow-1]) || rows[FieldRow-1][i] != c.Field {
			return fmt.Errorf("field %d: %v, want %s", i+1, rows[FieldRow-1], c.Field)
		}
	}
	visible, err := f.GetRowVisible(name, FieldRow)
	if err != nil {
		return err
	}
	if visible {
		return fmt.Errorf("the field row is visible")
	}
	dvs, err := f.GetDataValidations(name)
	if err != nil {
		return err
	}
	for i, c := range cols {
		want := c.allowed(t)
		if want == nil {
			continue
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		sqref := fmt.Sprintf("%s%d:%s%d", col, FirstDataRow, col, LastDataRow)
		var dv *excelize.DataValidation
		for _, d := range dvs {
			if d.Sqref == sqref && d.Type == "list" {
				dv = d
			}
		}
		if dv == nil {
			return fmt.Errorf("%s: no drop-down list on %s", c.Header, sqref)
		}
		got, err := listValues(f, dv.Formula1)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Header, err)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s: drop-down %v, want %v", c.Header, got, want)
		}
	}
	return nil
}

// listValues reads the cells a list validation's formula ('sheet'!$A$2:$A$9)
// points at.
func listValues(f *excelize.File, formula string) ([]string, error) {
	formula = strings.TrimSuffix(strings.TrimPrefix(formula, "<formula1>"), "</formula1>")
	sheet, ref, ok := strings.Cut(formula, "!")
	if !ok {
		return nil, fmt.Errorf("list %q is not a range", formula)
	}
	sheet = strings.Trim(sheet, "'")
	from, to, ok := strings.Cut(strings.ReplaceAll(ref, "$", ""), ":")
	if !ok {
		return nil, fmt.Errorf("list %q is not a range", formula)
	}
	c1, r1, err := excelize.CellNameToCoordinates(from)
	if err != nil {
		return nil, err
	}
	_, r2, err := excelize.CellNameToCoordinates(to)
	if err != nil {
		return nil, err
	}
	var out []string
	for r := r1; r <= r2; r++ {
		cell, _ := excelize.CoordinatesToCellName(c1, r)
		v, err := f.GetCellValue(sheet, cell)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
