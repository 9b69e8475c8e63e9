package sheet

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// CellError is a cell that cannot be converted. Message, in Chinese, never
// quotes the cell: it may hold an ID or phone number.
type CellError struct {
	Column  int // index into the sheet's Columns
	Reason  pb.ErrorReason
	Message string
}

// Towns resolves a town cell (its name, or its code) to a code; ok is
// false for a town that is not the county's, or not the caller's.
type Towns func(cell string) (code string, ok bool)

// Convert fills msg (a Household for 户, a Member for 成员) from a row's
// cells, each converted by its column's kind: labels to enum values, town
// names to codes, dates, numbers, yes/no. It checks what the cell alone
// tells (a label of the list, a date, a required cell); the rules of the
// message are the caller's. ID numbers are only normalized: their rules
// need the caller's clock.
func (s *Sheet) Convert(r Row, towns Towns, msg proto.Message) ([]CellError, error) {
	doc := map[string]any{}
	var errs []CellError
	bad := func(i int, reason pb.ErrorReason, format string, args ...any) {
		errs = append(errs, CellError{Column: i, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	for i, c := range s.Columns {
		cell := r.Cell(i)
		if cell == "" {
			if c.Required {
				bad(i, pb.ErrorReason_INVALID_FIELD, "%s为必填项，不能为空", c.Header)
			}
			continue
		}
		var v any
		switch c.Kind {
		case Text:
			v = cell
		case IDNumber:
			v = idnumber.Normalize(cell)
		case Phone:
			v = strings.ReplaceAll(cell, " ", "")
		case Integer:
			n, err := strconv.Atoi(cell)
			if err != nil {
				bad(i, pb.ErrorReason_INVALID_FIELD, "%s须为整数", c.Header)
				continue
			}
			v = n
		case Bool:
			switch cell {
			case Yes:
				v = true
			case No:
				v = false
			default:
				bad(i, pb.ErrorReason_UNKNOWN_LABEL, "%s只能填“%s”或“%s”", c.Header, Yes, No)
				continue
			}
		case Enum:
			n, ok := c.Labels.Value(cell)
			if !ok {
				bad(i, pb.ErrorReason_UNKNOWN_LABEL, "%s不是下拉列表中的选项，请从列表选择", c.Header)
				continue
			}
			v = string(c.Labels.Enum.Values().ByNumber(n).Name())
		case Town:
			code, ok := towns(cell)
			if !ok {
				bad(i, pb.ErrorReason_UNKNOWN_TOWN, "%s不是本县的乡镇（街道），或不在您负责的乡镇范围内", c.Header)
				continue
			}
			v = code
		case Date:
			d, ok := ParseDate(cell)
			if !ok {
				bad(i, pb.ErrorReason_INVALID_FIELD, "%s不是有效日期，格式应为YYYY-MM-DD", c.Header)
				continue
			}
			v = map[string]any{"year": d.Year(), "month": int(d.Month()), "day": d.Day()}
		}
		if s.Name == MemberSheet && c.Field == KeyField {
			continue // the household's key, not a field of the member
		}
		put(doc, c.Field, v)
	}
	if len(errs) > 0 {
		return errs, nil
	}
	// The document holds only the template's fields with values of their
	// types, so a failure here is the template's (a column naming no
	// field), not the file's.
	b, err := json.Marshal(doc)
	if err == nil {
		err = protojson.Unmarshal(b, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("sheet %s: the template's columns do not fit %T: %w", s.Name, msg, err)
	}
	return nil, nil
}

// put sets doc's value at a dotted path.
func put(doc map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := doc[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[p] = next
		}
		doc = next
	}
	doc[parts[len(parts)-1]] = v
}

var dateForms = []*regexp.Regexp{
	regexp.MustCompile(`^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$`),
	regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`),
}

// ParseDate reads a date cell: YYYY-MM-DD (or with / . or 年月日), eight
// digits, or a spreadsheet's serial day number (a cell typed as a date).
func ParseDate(cell string) (time.Time, bool) {
	for _, re := range dateForms {
		m := re.FindStringSubmatch(cell)
		if m == nil {
			continue
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		if t.Year() != y || int(t.Month()) != mo || t.Day() != d {
			return time.Time{}, false
		}
		return t, true
	}
	// Serial days: 1 is 1900-01-01; five digits cover 1927 to 2173, which
	// an eight-digit date cannot be mistaken for.
	if n, err := strconv.ParseFloat(cell, 64); err == nil && n >= 10000 && n < 100000 && n == float64(int(n)) {
		t, err := excelize.ExcelDateToTime(n, false)
		if err != nil {
			return time.Time{}, false
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}
