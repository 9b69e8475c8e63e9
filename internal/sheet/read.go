package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// ErrUnreadable refuses a file that is not the template: neither an .xlsx
// workbook nor a UTF-8 .csv, or without the template's header row. Its
// text, shown to the client, never quotes the file.
var ErrUnreadable = errors.New("the file is not the household template")

func unreadable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnreadable, fmt.Sprintf(format, args...))
}

// Format is a file's format.
type Format int

// The formats a filled-in template may come in.
const (
	Detect Format = iota // told from the file's first bytes
	XLSX
	CSV
)

// Row is one data row of a sheet, its cells by column (nil for a column
// the file lacks). Num is the row number as a spreadsheet shows it.
type Row struct {
	Num   int
	Cells []string
}

// Cell is the trimmed value of column i ("" when absent).
func (r Row) Cell(i int) string {
	if i < 0 || i >= len(r.Cells) {
		return ""
	}
	return strings.TrimSpace(r.Cells[i])
}

// Blank reports whether the row holds nothing: spreadsheets keep empty,
// formatted rows below the data.
func (r Row) Blank() bool {
	for _, c := range r.Cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// File is an opened household file: which sheets it holds and where each
// template column sits in them.
type File struct {
	format Format
	data   []byte
	xlsx   *excelize.File
	sheets []*Sheet
}

// Sheet is one data sheet of a file, household or member.
type Sheet struct {
	Name    string
	Columns []Column
	// index maps Columns[i] to the file's column (0-based), -1 if absent.
	index []int
	// first is the file's first data row (1-based), after the header rows.
	first int
}

// Has reports whether the file has column i of the sheet.
func (s *Sheet) Has(i int) bool { return s.index[i] >= 0 }

// Open reads a file's header rows and finds each column: by the hidden
// row of field paths when the file has it, else by the Chinese header, so
// that reordered (or reworded, with the field row kept) columns still
// read. A workbook must hold sheet 户 (成员 may be absent); a .csv is one
// sheet, 户 or 成员, told by its headers. Every required column must be
// there.
func Open(data []byte, format Format) (*File, error) {
	if format == Detect {
		format = CSV
		if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			format = XLSX
		}
	}
	f := &File{format: format, data: data}
	switch format {
	case XLSX:
		x, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return nil, unreadable("not an .xlsx workbook")
		}
		f.xlsx = x
		for _, ds := range dataSheets {
			if idx, _ := x.GetSheetIndex(ds.name); idx < 0 {
				if ds.name == HouseholdSheet {
					_ = x.Close()
					return nil, unreadable("the workbook has no sheet %s", HouseholdSheet)
				}
				continue
			}
			head, err := xlsxHead(x, ds.name)
			if err != nil {
				_ = x.Close()
				return nil, err
			}
			s, err := mapColumns(ds.name, ds.cols, head)
			if err != nil {
				_ = x.Close()
				return nil, err
			}
			f.sheets = append(f.sheets, s)
		}
	case CSV:
		head, err := csvHead(data)
		if err != nil {
			return nil, err
		}
		var firstErr error
		for _, ds := range dataSheets {
			s, err := mapColumns(ds.name, ds.cols, head)
			if err == nil {
				f.sheets = append(f.sheets, s)
				break
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		if len(f.sheets) == 0 {
			return nil, unreadable("the header row is neither sheet %s's nor sheet %s's (%v)", HouseholdSheet, MemberSheet,
				strings.TrimPrefix(firstErr.Error(), ErrUnreadable.Error()+": "))
		}
	default:
		return nil, unreadable("unknown format")
	}
	return f, nil
}

// Close releases the workbook.
func (f *File) Close() error {
	if f.xlsx != nil {
		return f.xlsx.Close()
	}
	return nil
}

// Sheets lists the file's data sheets, households first.
func (f *File) Sheets() []*Sheet { return f.sheets }

// Rows calls fn with every non-blank data row of s, in order, streaming
// the workbook's rows rather than loading the sheet.
func (f *File) Rows(s *Sheet, fn func(Row) error) error {
	emit := func(num int, cells []string) error {
		r := Row{Num: num, Cells: make([]string, len(s.Columns))}
		for i, at := range s.index {
			if at >= 0 && at < len(cells) {
				r.Cells[i] = cells[at]
			}
		}
		if r.Blank() {
			return nil
		}
		return fn(r)
	}
	if f.xlsx == nil {
		r := csvReader(f.data)
		for num := 1; ; num++ {
			cells, err := r.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return unreadable("row %d is not valid CSV", num)
			}
			if num < s.first {
				continue
			}
			if err := emit(num, cells); err != nil {
				return err
			}
		}
	}
	rows, err := f.xlsx.Rows(s.Name)
	if err != nil {
		return unreadable("sheet %s cannot be read", s.Name)
	}
	defer func() { _ = rows.Close() }()
	for num := 1; rows.Next(); num++ {
		if num < s.first {
			continue
		}
		// Raw values: a date typed as a date arrives as its serial number
		// (the importer converts it) rather than in the cell's display
		// format, which depends on the locale it was typed in.
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return unreadable("row %d of sheet %s cannot be read", num, s.Name)
		}
		if err := emit(num, cells); err != nil {
			return err
		}
	}
	if err := rows.Error(); err != nil {
		return unreadable("sheet %s cannot be read", s.Name)
	}
	return nil
}

// xlsxHead reads a sheet's first two rows.
func xlsxHead(x *excelize.File, name string) ([][]string, error) {
	rows, err := x.Rows(name)
	if err != nil {
		return nil, unreadable("sheet %s cannot be read", name)
	}
	defer func() { _ = rows.Close() }()
	var head [][]string
	for len(head) < FieldRow && rows.Next() {
		cells, err := rows.Columns()
		if err != nil {
			return nil, unreadable("sheet %s cannot be read", name)
		}
		head = append(head, cells)
	}
	return head, nil
}

func csvReader(data []byte) *csv.Reader {
	r := csv.NewReader(bufio.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	return r
}

// csvHead reads a .csv's first two rows.
func csvHead(data []byte) ([][]string, error) {
	if !isText(data) {
		return nil, unreadable("not a UTF-8 .csv")
	}
	r := csvReader(data)
	var head [][]string
	for len(head) < FieldRow {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, unreadable("row %d is not valid CSV", len(head)+1)
		}
		head = append(head, cells)
	}
	return head, nil
}

// isText reports whether the file's start is UTF-8 text, not a binary
// file (an .xls, a zip) sent as CSV.
func isText(data []byte) bool {
	start := data[:min(len(data), 4096)]
	// A multi-byte character cut at the window's end is not an error.
	for i := 0; i < 3 && len(start) > 0 && !utf8.Valid(start); i++ {
		start = start[:len(start)-1]
	}
	return utf8.Valid(start) && !bytes.ContainsRune(start, 0)
}

// mapColumns finds each of cols in a sheet's header rows: by the field
// row when the second row is one (every non-empty cell a field path of
// the sheet), else by the headers. A column named twice, or a required one
// missing, makes the file unreadable.
func mapColumns(name string, cols []Column, head [][]string) (*Sheet, error) {
	if len(head) == 0 {
		return nil, unreadable("sheet %s is empty", name)
	}
	s := &Sheet{Name: name, Columns: cols, index: make([]int, len(cols)), first: HeaderRow + 1}
	byKey := func(key func(Column) string, row []string) (bool, error) {
		want := map[string]int{}
		for i, c := range cols {
			want[key(c)] = i
		}
		for i := range s.index {
			s.index[i] = -1
		}
		found := 0
		for at, cell := range row {
			i, ok := want[strings.TrimSpace(cell)]
			if !ok {
				continue
			}
			if s.index[i] >= 0 {
				return false, unreadable("sheet %s has column %s twice", name, cols[i].Header)
			}
			s.index[i] = at
			found++
		}
		return found > 0, nil
	}
	if len(head) > 1 && isFieldRow(cols, head[1]) {
		if _, err := byKey(func(c Column) string { return c.Field }, head[1]); err != nil {
			return nil, err
		}
		s.first = FirstDataRow
	} else if _, err := byKey(func(c Column) string { return c.Header }, head[0]); err != nil {
		return nil, err
	}
	for i, c := range cols {
		if c.Required && s.index[i] < 0 {
			return nil, unreadable("sheet %s has no column %s", name, c.Header)
		}
	}
	return s, nil
}

// isFieldRow reports whether row is a row of field paths of cols.
func isFieldRow(cols []Column, row []string) bool {
	fields := map[string]bool{}
	for _, c := range cols {
		fields[c.Field] = true
	}
	n := 0
	for _, cell := range row {
		cell = strings.TrimSpace(cell)
		if cell == "" {
			continue
		}
		if !fields[cell] {
			return false
		}
		n++
	}
	return n > 0
}
