package sheet

import (
	"archive/zip"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fengdu-county/casework/domain"
)

// The exported ledgers are written here: a Workbook of streamed sheets,
// each with a frozen header row, whose cells are written as Excel reads
// them best (dates as dates, money as numbers of yuan), so that staff can
// sort, filter and sum them without retyping. Rows go straight to
// excelize's stream writers, which spill to temporary files: a workbook of
// any size costs the same memory.

// OutKind is how an exported column's values are written.
type OutKind int

// The kinds of exported column.
const (
	// OutText is a string, written as it is.
	OutText OutKind = iota
	// OutInt is a whole number (int, int32, int64).
	OutInt
	// OutMoney is an amount of integer fen (int64), written in yuan with
	// two decimals.
	OutMoney
	// OutDate is a calendar date: a time.Time, a *time.Time, or YYYY-MM-DD
	// text (string or *string); nil, zero or "" leave the cell empty.
	OutDate
	// OutBool is 是 or 否.
	OutBool
	// OutPercent is a share from 0 to 1, shown as a percentage.
	OutPercent
)

// OutColumn is one column of an exported sheet.
type OutColumn struct {
	Header string
	Kind   OutKind
	Width  float64
}

// Workbook is an export being written.
type Workbook struct {
	f                                 *excelize.File
	sheets                            []*OutSheet
	header, date, money, percent, num int
}

// NewWorkbook starts an empty workbook.
func NewWorkbook() (*Workbook, error) {
	f := excelize.NewFile()
	w := &Workbook{f: f}
	var err error
	styles := []struct {
		id *int
		s  *excelize.Style
	}{
		{&w.header, &excelize.Style{Font: &excelize.Font{Bold: true},
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}}},
		{&w.date, &excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd")}},
		{&w.money, &excelize.Style{CustomNumFmt: ptr("#,##0.00")}},
		{&w.percent, &excelize.Style{NumFmt: 10}}, // 0.00%
		{&w.num, &excelize.Style{NumFmt: 1}},      // 0
	}
	for _, s := range styles {
		if *s.id, err = f.NewStyle(s.s); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return w, nil
}

func ptr[T any](v T) *T { return &v }

// OutSheet is one sheet being streamed; rows are written in order.
type OutSheet struct {
	w    *Workbook
	sw   *excelize.StreamWriter
	cols []OutColumn
	row  int
	buf  []any
}

// SheetSpec names a sheet of an export and its columns.
type SheetSpec struct {
	Name    string
	Columns []OutColumn
}

// Sheets adds the sheets in order, as Sheet does one.
func (w *Workbook) Sheets(specs ...SheetSpec) ([]*OutSheet, error) {
	out := make([]*OutSheet, len(specs))
	for i, s := range specs {
		var err error
		if out[i], err = w.Sheet(s.Name, s.Columns); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Sheet adds a sheet named name with cols' header row, frozen. Several
// sheets may be written at once, rows interleaved between them.
func (w *Workbook) Sheet(name string, cols []OutColumn) (*OutSheet, error) {
	if len(w.sheets) == 0 {
		// A new file has one sheet already: the first export sheet takes it.
		if err := w.f.SetSheetName(w.f.GetSheetName(0), name); err != nil {
			return nil, err
		}
	} else if _, err := w.f.NewSheet(name); err != nil {
		return nil, err
	}
	sw, err := w.f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	for i, c := range cols {
		width := c.Width
		if width == 0 {
			width = 12
		}
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}
	s := &OutSheet{w: w, sw: sw, cols: cols, row: 1, buf: make([]any, len(cols))}
	header := make([]any, len(cols))
	for i, c := range cols {
		header[i] = excelize.Cell{StyleID: w.header, Value: c.Header}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return nil, err
	}
	w.sheets = append(w.sheets, s)
	return s, nil
}

// Rows is how many data rows the sheet has.
func (s *OutSheet) Rows() int64 { return int64(s.row - 1) }

// Row writes the next data row, one value per column in the column's kind.
func (s *OutSheet) Row(values ...any) error {
	if len(values) != len(s.cols) {
		return fmt.Errorf("sheet: row of %d values for %d columns", len(values), len(s.cols))
	}
	for i, v := range values {
		c, err := s.cell(s.cols[i].Kind, v)
		if err != nil {
			return fmt.Errorf("sheet: column %s: %w", s.cols[i].Header, err)
		}
		s.buf[i] = c
	}
	s.row++
	cell, _ := excelize.CoordinatesToCellName(1, s.row)
	return s.sw.SetRow(cell, s.buf)
}

func (s *OutSheet) cell(kind OutKind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case OutMoney:
		fen, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("money is %T, want int64 fen", v)
		}
		// Fen to yuan: a float holds every amount below 2^53 fen exactly
		// enough for two decimals.
		return excelize.Cell{StyleID: s.w.money, Value: float64(fen) / 100}, nil
	case OutDate:
		t, ok, err := dateValue(v)
		if err != nil || !ok {
			return nil, err
		}
		return excelize.Cell{StyleID: s.w.date, Value: t}, nil
	case OutBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("bool is %T", v)
		}
		if b {
			return Yes, nil
		}
		return No, nil
	case OutPercent:
		return excelize.Cell{StyleID: s.w.percent, Value: v}, nil
	case OutInt:
		return excelize.Cell{StyleID: s.w.num, Value: v}, nil
	}
	return v, nil
}

// dateValue reads a calendar date in any of the forms the rows hold.
func dateValue(v any) (time.Time, bool, error) {
	switch d := v.(type) {
	case time.Time:
		return d, !d.IsZero(), nil
	case *time.Time:
		if d == nil {
			return time.Time{}, false, nil
		}
		return *d, !d.IsZero(), nil
	case *string:
		if d == nil {
			return time.Time{}, false, nil
		}
		return dateValue(*d)
	case string:
		if d == "" {
			return time.Time{}, false, nil
		}
		t, err := time.Parse(domain.DateLayout, d)
		return t, err == nil, err
	}
	return time.Time{}, false, fmt.Errorf("date is %T", v)
}

// WriteTo ends every sheet and writes the workbook to out. The workbook
// cannot be used afterwards.
func (w *Workbook) WriteTo(out io.Writer) (int64, error) {
	defer func() { _ = w.f.Close() }()
	for _, s := range w.sheets {
		if err := s.sw.Flush(); err != nil {
			return 0, err
		}
	}
	// Nothing may touch a sheet after its Flush (SetActiveSheet, say):
	// excelize would read the streamed sheet back into memory whole. The
	// first sheet is the new file's own, active already.
	//
	// excelize zips a workbook into a buffer before writing it anywhere;
	// its zip writer, pointed at out, streams the archive instead, and the
	// buffer stays empty.
	cw := &countWriter{w: out}
	w.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(cw) })
	if _, err := w.f.WriteTo(io.Discard); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Close drops a workbook that will not be written, removing its temporary
// files.
func (w *Workbook) Close() error { return w.f.Close() }
