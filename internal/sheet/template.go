package sheet

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fengdu-county/casework/domain/towns"
)

// Sheet names of the household workbook.
const (
	HouseholdSheet = "户"
	MemberSheet    = "成员"
	NotesSheet     = "说明"
	// ListsSheet (hidden) holds the drop-down lists: Excel limits a list
	// written into a validation to 255 characters, the towns exceed it.
	ListsSheet = "选项"
)

// Rows of the household and member sheets: the Chinese header, then the
// (hidden) row of JSON field paths an import maps columns by, then data.
const (
	HeaderRow    = 1
	FieldRow     = 2
	FirstDataRow = 3
	// LastDataRow bounds the drop-down lists' ranges.
	LastDataRow = 10000
)

// Kind is what a column holds.
type Kind int

// The kinds of column.
const (
	Text Kind = iota
	IDNumber
	Date
	Integer
	Phone
	Bool
	Enum
	Town
)

// Column is one column of a sheet.
type Column struct {
	Header   string // the Chinese header people read
	Field    string // the JSON field path (of Household, or of Member)
	Required bool
	Kind     Kind
	Labels   *Labels // for Enum
	Note     string  // format and meaning, in Chinese
	Width    float64
}

// KeyField is the member sheet's key: the servicemember's ID number of the
// household a member belongs to.
const KeyField = "servicemember.idNumber"

// HouseholdColumns are the columns of 户, one row per household.
var HouseholdColumns = []Column{
	{Header: "军人身份证号", Field: KeyField, Required: true, Kind: IDNumber, Note: "军人的18位公民身份号码，末位可为X；每户唯一，成员表以此关联", Width: 22},
	{Header: "军人姓名", Field: "servicemember.name", Required: true, Kind: Text, Note: "不超过64字", Width: 12},
	{Header: "军种", Field: "servicemember.serviceBranch", Kind: Enum, Labels: ServiceBranch, Width: 14},
	{Header: "军衔类别", Field: "servicemember.rankCategory", Kind: Enum, Labels: RankCategory, Width: 10},
	{Header: "岗位类别", Field: "servicemember.postType", Required: true, Kind: Enum, Labels: PostType, Width: 14},
	{Header: "部队单位", Field: "servicemember.unit", Kind: Text, Note: "不超过128字", Width: 20},
	{Header: "军人状态", Field: "servicemember.status", Kind: Enum, Labels: ServicememberStatus, Width: 12},
	{Header: "伤残等级", Field: "servicemember.disabilityGrade", Kind: Integer, Note: "0至10的整数，0或空表示无", Width: 10},
	{Header: "立功受奖", Field: "servicemember.decorated", Kind: Bool, Width: 10},
	{Header: "荣誉称号", Field: "servicemember.honour", Kind: Text, Note: "不超过128字", Width: 16},
	{Header: "艰苦地区类别", Field: "servicemember.hardshipGrade", Kind: Integer, Note: "0至6的整数，0或空表示无", Width: 12},
	{Header: "家庭类别", Field: "category", Kind: Enum, Labels: HouseholdCategory, Width: 16},
	{Header: "乡镇（街道）", Field: "townCode", Required: true, Kind: Town, Note: "本县乡镇（街道）名称，从下拉列表选择", Width: 14},
	{Header: "家庭住址", Field: "address", Kind: Text, Note: "不超过256字", Width: 28},
	{Header: "联系电话", Field: "phone", Kind: Phone, Note: "5至20位数字，可含+和-", Width: 16},
	{Header: "困难家庭", Field: "hardship", Kind: Bool, Width: 10},
	{Header: "困难情况", Field: "hardshipNote", Kind: Text, Note: "不超过1024字", Width: 24},
	{Header: "随军批准文号", Field: "accompanimentApproval.number", Kind: Text, Note: "不超过64字", Width: 16},
	{Header: "随军批准日期", Field: "accompanimentApproval.approveDate", Kind: Date, Width: 14},
	{Header: "随军批准单位", Field: "accompanimentApproval.approvingUnit", Kind: Text, Note: "不超过128字", Width: 18},
	{Header: "原籍安家", Field: "settledAtHome", Kind: Bool, Note: "符合随军条件但在原籍安家", Width: 10},
	{Header: "优待证号", Field: "preferentialCertificateNumber", Kind: Text, Width: 18},
}

// MemberColumns are the columns of 成员, one row per family member.
var MemberColumns = []Column{
	{Header: "军人身份证号", Field: KeyField, Required: true, Kind: IDNumber, Note: "所属家庭的军人身份证号，须与户表中的一行相同", Width: 22},
	{Header: "与军人关系", Field: "relation", Required: true, Kind: Enum, Labels: Relation, Width: 14},
	{Header: "姓名", Field: "displayName", Required: true, Kind: Text, Note: "不超过64字", Width: 12},
	{Header: "身份证号", Field: "idNumber", Kind: IDNumber, Note: "成员的18位公民身份号码，末位可为X；可空", Width: 22},
	{Header: "出生日期", Field: "birthDate", Required: true, Kind: Date, Width: 14},
	{Header: "联系电话", Field: "phone", Kind: Phone, Note: "5至20位数字，可含+和-", Width: 16},
	{Header: "随军", Field: "accompanying", Kind: Bool, Width: 8},
	{Header: "无独立生活能力", Field: "cannotLiveIndependently", Kind: Bool, Width: 14},
}

// dataSheets are the sheets that hold rows, with their columns.
var dataSheets = []struct {
	name string
	cols []Column
}{{HouseholdSheet, HouseholdColumns}, {MemberSheet, MemberColumns}}

func (c Column) format() string {
	switch c.Kind {
	case IDNumber:
		return "18位身份证号"
	case Date:
		return "日期，格式YYYY-MM-DD，如2024-03-01"
	case Integer:
		return "整数"
	case Phone:
		return "电话号码"
	case Bool:
		return "是/否，空表示否"
	case Enum, Town:
		return "从下拉列表选择"
	}
	return "文本"
}

func (c Column) allowed(t *towns.Table) []string {
	switch c.Kind {
	case Enum:
		return c.Labels.List()
	case Bool:
		return []string{Yes, No}
	case Town:
		var out []string
		for _, tw := range t.List() {
			out = append(out, tw.Name)
		}
		return out
	}
	return nil
}

// HouseholdTemplate writes the household import template for the county's
// towns.
func HouseholdTemplate(t *towns.Table) ([]byte, error) {
	if t == nil {
		t = towns.Default()
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	if err := f.SetSheetName("Sheet1", HouseholdSheet); err != nil {
		return nil, err
	}
	for _, name := range []string{MemberSheet, NotesSheet, ListsSheet} {
		if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
	}
	lists, err := writeLists(f, t)
	if err != nil {
		return nil, err
	}
	header, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, err
	}
	required, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "C00000"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": ID numbers stay text
	if err != nil {
		return nil, err
	}
	for _, s := range dataSheets {
		if err := writeDataSheet(f, s.name, s.cols, lists, header, required, text); err != nil {
			return nil, err
		}
	}
	if err := writeNotes(f, t, header); err != nil {
		return nil, err
	}
	if err := f.SetSheetVisible(ListsSheet, false); err != nil {
		return nil, err
	}
	f.SetActiveSheet(0)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeLists writes each drop-down list into a column of the hidden lists
// sheet and returns the range of each, by column header.
func writeLists(f *excelize.File, t *towns.Table) (map[string]string, error) {
	ranges := map[string]string{}
	var heads []any
	var cols [][]string
	seen := map[string]bool{}
	for _, c := range append(append([]Column(nil), HouseholdColumns...), MemberColumns...) {
		if c.Kind != Enum && c.Kind != Town && c.Kind != Bool {
			continue
		}
		key := listKey(c)
		if seen[key] {
			continue
		}
		seen[key] = true
		values := c.allowed(t)
		col, _ := excelize.ColumnNumberToName(len(cols) + 1)
		ranges[key] = fmt.Sprintf("'%s'!$%s$2:$%s$%d", ListsSheet, col, col, len(values)+1)
		heads = append(heads, key)
		cols = append(cols, values)
	}
	sw, err := f.NewStreamWriter(ListsSheet)
	if err != nil {
		return nil, err
	}
	if err := sw.SetRow("A1", heads); err != nil {
		return nil, err
	}
	for r := 0; ; r++ {
		var row []any
		more := false
		for _, c := range cols {
			if r < len(c) {
				row = append(row, c[r])
				more = true
			} else {
				row = append(row, nil)
			}
		}
		if !more {
			break
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := sw.SetRow(cell, row); err != nil {
			return nil, err
		}
	}
	return ranges, sw.Flush()
}

func listKey(c Column) string {
	switch c.Kind {
	case Enum:
		return string(c.Labels.Enum.Name())
	case Town:
		return "Town"
	}
	return "Bool"
}

// writeDataSheet writes a sheet's two header rows, with its drop-down
// lists. Validations are added before the stream writer starts: it copies
// them from the sheet into what it writes.
func writeDataSheet(f *excelize.File, name string, cols []Column, lists map[string]string, header, required, text int) error {
	for i, c := range cols {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if c.Kind != Enum && c.Kind != Town && c.Kind != Bool {
			continue
		}
		dv := excelize.NewDataValidation(!c.Required)
		dv.SetSqref(fmt.Sprintf("%s%d:%s%d", col, FirstDataRow, col, LastDataRow))
		dv.SetSqrefDropList(lists[listKey(c)])
		dv.SetError(excelize.DataValidationErrorStyleStop, c.Header, "请从下拉列表中选择")
		if err := f.AddDataValidation(name, dv); err != nil {
			return err
		}
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	for i, c := range cols {
		if c.Kind == IDNumber || c.Kind == Date || c.Kind == Phone {
			if err := sw.SetColStyle(i+1, i+1, text); err != nil {
				return err
			}
		}
		if err := sw.SetColWidth(i+1, i+1, c.Width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: FieldRow, TopLeftCell: fmt.Sprintf("A%d", FirstDataRow), ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	heads := make([]any, len(cols))
	fields := make([]any, len(cols))
	for i, c := range cols {
		style := header
		if c.Required {
			style = required
		}
		heads[i] = excelize.Cell{StyleID: style, Value: c.Header}
		fields[i] = c.Field
	}
	if err := sw.SetRow(fmt.Sprintf("A%d", HeaderRow), heads); err != nil {
		return err
	}
	if err := sw.SetRow(fmt.Sprintf("A%d", FieldRow), fields, excelize.RowOpts{Hidden: true}); err != nil {
		return err
	}
	return sw.Flush()
}

// writeNotes writes 说明: one row per column of each sheet.
func writeNotes(f *excelize.File, t *towns.Table, header int) error {
	sw, err := f.NewStreamWriter(NotesSheet)
	if err != nil {
		return err
	}
	for i, w := range []float64{10, 16, 36, 8, 36, 40, 60} {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	heads := []any{}
	for _, h := range NotesHeaders {
		heads = append(heads, excelize.Cell{StyleID: header, Value: h})
	}
	if err := sw.SetRow("A1", heads); err != nil {
		return err
	}
	row := 2
	for _, s := range dataSheets {
		for _, c := range s.cols {
			req := "否"
			if c.Required {
				req = "是"
			}
			if err := sw.SetRow(fmt.Sprintf("A%d", row), []any{s.name, c.Header, c.Field, req, c.format(),
				strings.Join(c.allowed(t), "、"), c.Note}); err != nil {
				return err
			}
			row++
		}
	}
	row++
	for _, line := range []string{
		"填写说明：户表每行一户，成员表每行一名家庭成员，以“军人身份证号”关联到户表。",
		"第1行为列名，红色列为必填；第2行（隐藏）为系统字段名，请勿修改或删除。",
		"身份证号、日期、电话请以文本格式填写（模板已设置），日期格式为YYYY-MM-DD。",
		"枚举列请从下拉列表中选择，不要自行输入其他文字。",
	} {
		if err := sw.SetRow(fmt.Sprintf("A%d", row), []any{line}); err != nil {
			return err
		}
		row++
	}
	return sw.Flush()
}

// NotesHeaders are the headers of 说明.
var NotesHeaders = []string{"工作表", "列名", "字段", "必填", "格式", "可选值", "说明"}
