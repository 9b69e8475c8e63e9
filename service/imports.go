package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/repository"
)

// HouseholdImport reads households and members from the household
// template (or a .csv of one of its sheets) and writes them through the
// household service's own rules: every row is checked as CreateHousehold
// and CreateMember check it, and written as BatchCreateHouseholds' UPDATE
// mode writes it (reapply), so a row that says what is stored writes
// nothing. It implements importer for the operation runner; the command
// line calls Run.
type HouseholdImport struct {
	s *Households
}

var _ importer = (*HouseholdImport)(nil)

// NewHouseholdImport is the importer over the household service.
func NewHouseholdImport(s *Households) *HouseholdImport { return &HouseholdImport{s: s} }

// maxResponseErrors caps the errors an ImportHouseholdsResponse lists (the
// report file lists them all).
const maxResponseErrors = 1000

// writeChunk is how many households (with their members) one transaction
// writes: enough for bulk inserts to pay, few enough that a transaction's
// cost stays linear on PostgreSQL (see write).
const writeChunk = 50

func formatOf(f pb.ImportHouseholdsRequest_Format) sheet.Format {
	switch f {
	case pb.ImportHouseholdsRequest_FORMAT_XLSX:
		return sheet.XLSX
	case pb.ImportHouseholdsRequest_FORMAT_CSV:
		return sheet.CSV
	}
	return sheet.Detect
}

func (im *HouseholdImport) check(ctx context.Context, req *pb.ImportHouseholdsRequest) error {
	return im.Check(ctx, req)
}

func (im *HouseholdImport) run(ctx context.Context, req *pb.ImportHouseholdsRequest, report io.Writer, progress Reporter) (*pb.ImportHouseholdsResponse, string, error) {
	return im.Run(ctx, req, report, progress)
}

// Check refuses a file that cannot be read as the template at all
// (sheet.ErrUnreadable: UNREADABLE_FILE).
func (im *HouseholdImport) Check(_ context.Context, req *pb.ImportHouseholdsRequest) error {
	f, err := sheet.Open(req.GetContent(), formatOf(req.GetFormat()))
	if err != nil {
		return err
	}
	return f.Close()
}

// Run checks every row, then writes the good ones unless validate_only,
// or bad rows without import_valid_rows (then the error is
// apierr.ImportRefused, carrying the response). When rows were refused it
// writes a workbook listing them to report and returns its name.
func (im *HouseholdImport) Run(ctx context.Context, req *pb.ImportHouseholdsRequest, report io.Writer, progress Reporter) (*pb.ImportHouseholdsResponse, string, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	f, err := sheet.Open(req.GetContent(), formatOf(req.GetFormat()))
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = f.Close() }()
	r := &importRun{s: im.s, progress: progress, byKey: map[string]*importHousehold{},
		confirmed: req.GetConfirmPossibleDuplicates(), resp: &pb.ImportHouseholdsResponse{ValidateOnly: req.GetValidateOnly()}}
	if err := r.read(ctx, f); err != nil {
		return nil, "", err
	}
	refused := len(r.errs) > 0
	if !req.GetValidateOnly() && (!refused || req.GetImportValidRows()) {
		if err := r.write(ctx); err != nil {
			return nil, "", err
		}
	}
	resp := r.finish()
	name := ""
	if len(r.errs) > 0 && report != nil {
		if name, err = im.writeReport(report, r.errs); err != nil {
			return nil, "", err
		}
	}
	// Rows refused only at write time (a race: they passed every check)
	// are listed, but the rest of the file has been written.
	if refused && !req.GetValidateOnly() && !req.GetImportValidRows() {
		return resp, name, apierr.ImportRefused(resp)
	}
	return resp, name, nil
}

// importHousehold is a row of 户.
type importHousehold struct {
	row     int
	key     string // the servicemember's ID number, normalized
	bad     bool
	h       *repository.Household // the row to create, once checked
	stored  *repository.Household // the household it updates, if any
	members []*importMember
}

// importMember is a row of 成员.
type importMember struct {
	row   int
	key   string
	bad   bool
	msg   *pb.Member
	birth time.Time
	conv  bool
	of    *importHousehold      // its household row in the file
	into  *repository.Household // or the stored household it joins
	dupOf string                // what makes two rows the same member
}

type importRun struct {
	s          *Households
	progress   Reporter
	prog       Progress
	resp       *pb.ImportHouseholdsResponse
	errs       []*pb.ImportRowError
	households []*importHousehold
	members    []*importMember
	byKey      map[string]*importHousehold
	sheets     map[string]*sheet.Sheet
	// confirmed imports rows that may duplicate a live record or an
	// earlier row (confirm_possible_duplicates).
	confirmed bool
	// registered is the household rows that register a new household and
	// passed the duplicate check, in the file's order.
	registered []*importHousehold
}

// fail records a bad cell (col -1: the whole row) and marks its row.
func (r *importRun) fail(sh *sheet.Sheet, row, col int, field string, reason pb.ErrorReason, msg string) {
	e := &pb.ImportRowError{Sheet: sh.Name, Row: int32(row), Field: field, Reason: reason, Message: msg}
	if col >= 0 {
		e.Column, e.Field = sh.Columns[col].Header, sh.Columns[col].Field
	}
	r.errs = append(r.errs, e)
}

// failErr records a rule's refusal of a row: each violation on the column
// of its field, anything else on the whole row.
func (r *importRun) failErr(sh *sheet.Sheet, row int, prefix string, err error) {
	v, ok := domain.AsValidation(err)
	if !ok {
		r.fail(sh, row, -1, "", apierr.Reason(err), "该行不符合规则："+err.Error())
		return
	}
	for _, viol := range v.Violations {
		field := jsonPath(strings.TrimPrefix(viol.Field, prefix+"."))
		col := columnOf(sh, field)
		reason := pb.ErrorReason_INVALID_FIELD
		switch {
		case col >= 0 && sh.Columns[col].Kind == sheet.IDNumber:
			reason = pb.ErrorReason_INVALID_ID_NUMBER
		case viol.Rule != "":
			reason = pb.ErrorReason_RULE_VIOLATED
		}
		what := "该行"
		if col >= 0 {
			what = sh.Columns[col].Header
		}
		r.fail(sh, row, col, field, reason, fmt.Sprintf("%s不符合要求：%s", what, viol.Description))
	}
}

// jsonPath turns a request's field path (servicemember.id_number) into the
// JSON path the template's columns name (servicemember.idNumber).
func jsonPath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		words := strings.Split(s, "_")
		for j := 1; j < len(words); j++ {
			if words[j] != "" {
				words[j] = strings.ToUpper(words[j][:1]) + words[j][1:]
			}
		}
		parts[i] = strings.Join(words, "")
	}
	return strings.Join(parts, ".")
}

// columnOf finds the column of a field path, or of a field inside it; -1
// for a field no column holds.
func columnOf(sh *sheet.Sheet, field string) int {
	for i, c := range sh.Columns {
		if c.Field == field {
			return i
		}
	}
	for i, c := range sh.Columns {
		if strings.HasPrefix(c.Field, field+".") {
			return i
		}
	}
	return -1
}

func (r *importRun) tick() { r.progress(r.prog) }

// read checks every row of every sheet, households first, so that member
// rows find their households among them.
func (r *importRun) read(ctx context.Context, f *sheet.File) error {
	scope := principal.ScopeFrom(ctx)
	byName := map[string]string{}
	for _, t := range r.s.towns.List() {
		byName[t.Name] = t.Code
	}
	towns := func(cell string) (string, bool) {
		code := cell
		if !r.s.towns.Contains(code) {
			code = byName[cell]
		}
		return code, code != "" && scope.Allows(code)
	}
	r.sheets = map[string]*sheet.Sheet{}
	for _, sh := range f.Sheets() {
		r.sheets[sh.Name] = sh
		err := f.Rows(sh, func(row sheet.Row) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.prog.Read++
			var err error
			if sh.Name == sheet.HouseholdSheet {
				r.resp.HouseholdRows++
				err = r.readHousehold(sh, row, towns)
			} else {
				r.resp.MemberRows++
				err = r.readMember(sh, row, towns)
			}
			r.tick()
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := r.resolve(ctx); err != nil {
		return err
	}
	r.prog.Total = r.prog.Read
	for _, h := range r.households {
		if h.bad {
			r.prog.Refused++
		}
	}
	for _, m := range r.members {
		if m.bad {
			r.prog.Refused++
		}
	}
	r.tick()
	return nil
}

// checkKey checks the servicemember's ID number of a row (column 0 of
// both sheets) and returns it in its 18-character form.
func (r *importRun) checkKey(sh *sheet.Sheet, row sheet.Row) (string, bool) {
	key := idnumber.Normalize(row.Cell(0))
	if key == "" {
		return "", false // reported as a required cell
	}
	n := key
	if _, err := r.s.checkIDNumber(sh.Columns[0].Field, &n, true); err != nil {
		r.fail(sh, row.Num, 0, "", pb.ErrorReason_INVALID_ID_NUMBER, sh.Columns[0].Header+"不是有效的18位公民身份号码（位数、出生日期或校验位有误）")
		return key, false
	}
	return n, true
}

// convertRow fills p from the row's cells and checks it as the API would
// (protovalidate), recording each fault against its cell. ok is false when
// the row had a fault; err only when the row could not be read at all. A
// key cell already reported by checkKey is not reported twice.
func (r *importRun) convertRow(sh *sheet.Sheet, row sheet.Row, towns sheet.Towns, key string, keyOK bool, what string, p proto.Message) (ok bool, err error) {
	cellErrs, err := sh.Convert(row, towns, p)
	if err != nil {
		return false, err
	}
	for _, e := range cellErrs {
		if e.Column == 0 && !keyOK && key != "" {
			continue
		}
		r.fail(sh, row.Num, e.Column, "", e.Reason, e.Message)
	}
	if len(cellErrs) > 0 || !keyOK {
		return false, nil
	}
	if err := r.s.validate(what, p); err != nil {
		r.failErr(sh, row.Num, what, err)
		return false, nil
	}
	return true, nil
}

func (r *importRun) readHousehold(sh *sheet.Sheet, row sheet.Row, towns sheet.Towns) error {
	before := len(r.errs)
	hh := &importHousehold{row: row.Num}
	r.households = append(r.households, hh)
	defer func() { hh.bad = len(r.errs) > before }()
	key, keyOK := r.checkKey(sh, row)
	hh.key = key
	if key != "" {
		if first, dup := r.byKey[key]; dup {
			r.fail(sh, row.Num, 0, "", pb.ErrorReason_DUPLICATE_ROW,
				fmt.Sprintf("与户表第%d行是同一军人（军人身份证号相同），每户只能有一行", first.row))
			return nil
		}
		r.byKey[key] = hh
	}
	p := &pb.Household{}
	if ok, err := r.convertRow(sh, row, towns, key, keyOK, "household", p); !ok || err != nil {
		return err
	}
	h, err := r.s.newHousehold(&pb.CreateHouseholdRequest{Household: p})
	if err != nil {
		r.failErr(sh, row.Num, "household", err)
		return nil
	}
	hh.h = h
	return nil
}

func (r *importRun) readMember(sh *sheet.Sheet, row sheet.Row, towns sheet.Towns) error {
	before := len(r.errs)
	m := &importMember{row: row.Num}
	r.members = append(r.members, m)
	defer func() { m.bad = len(r.errs) > before }()
	key, keyOK := r.checkKey(sh, row)
	m.key = key
	p := &pb.Member{}
	if ok, err := r.convertRow(sh, row, towns, key, keyOK, "member", p); !ok || err != nil {
		return err
	}
	birth, conv, err := r.s.checkMember("member", p, nil)
	if err != nil {
		r.failErr(sh, row.Num, "member", err)
		return nil
	}
	m.msg, m.birth, m.conv = p, birth, conv
	m.dupOf = key + "/" + p.GetIdNumber()
	if p.GetIdNumber() == "" {
		m.dupOf = key + "//" + p.GetDisplayName() + "/" + birth.Format(time.DateOnly)
	}
	if hh := r.byKey[key]; hh != nil {
		m.of = hh
		if hh.bad {
			r.failWithHousehold(sh, m)
		}
	}
	return nil
}

// failWithHousehold refuses a member row whose household row is refused.
func (r *importRun) failWithHousehold(sh *sheet.Sheet, m *importMember) {
	r.fail(sh, m.row, 0, "", pb.ErrorReason_UNKNOWN_HOUSEHOLD,
		fmt.Sprintf("所属家庭在户表第%d行有误，该成员随之不导入", m.of.row))
}

// resolve does the checks that need storage, in a few queries for the
// whole file: which households are stored (the caller's), which member
// rows name a household neither in the file nor stored, and which rows
// repeat another. A member ID number that another household holds is not
// refused: the same person may be recorded in two households (a parent of
// two servicemembers), as CreateMember allows.
func (r *importRun) resolve(ctx context.Context) error {
	keys := map[string]bool{}
	for _, h := range r.households {
		if h.h != nil {
			keys[h.key] = true
		}
	}
	for _, m := range r.members {
		if m.msg != nil && m.of == nil {
			keys[m.key] = true
		}
	}
	list := slices.Sorted(maps.Keys(keys))
	found, err := r.s.store.HouseholdsByServicemember(ctx, list)
	if err != nil {
		return err
	}
	stored := map[string]*repository.Household{}
	for i, h := range found {
		if h != nil {
			stored[list[i]] = h
		}
	}
	for _, h := range r.households {
		if h.h != nil {
			h.stored = stored[h.key]
		}
	}
	if err := r.refuseDuplicates(ctx); err != nil {
		return err
	}
	sh := r.sheets[sheet.MemberSheet]
	idCol := -1
	if sh != nil {
		idCol = columnOf(sh, "idNumber")
	}
	seen := map[string]int{}
	for _, m := range r.members {
		if m.msg == nil || m.bad {
			continue
		}
		if m.of != nil && m.of.bad {
			r.failWithHousehold(sh, m)
			m.bad = true
			continue
		}
		if first, dup := seen[m.dupOf]; dup {
			col := idCol
			if m.msg.GetIdNumber() == "" {
				col = -1 // the same name and birth date
			}
			r.fail(sh, m.row, col, "", pb.ErrorReason_DUPLICATE_ROW,
				fmt.Sprintf("与成员表第%d行是同一家庭的同一成员", first))
			m.bad = true
			continue
		}
		seen[m.dupOf] = m.row
		if m.of == nil {
			if m.into = stored[m.key]; m.into == nil {
				r.fail(sh, m.row, 0, "", pb.ErrorReason_UNKNOWN_HOUSEHOLD,
					"户表中没有此军人身份证号，您负责的乡镇也没有以此登记的家庭")
				m.bad = true
				continue
			}
		}
	}
	if err := r.refuseMemberDuplicates(ctx); err != nil {
		return err
	}
	for _, m := range r.members {
		if m.of != nil && !m.bad && m.msg != nil {
			m.of.members = append(m.of.members, m)
		}
	}
	return nil
}

// refuseDuplicates refuses, unless the request confirms, the rows of 户
// that would register a new household whose servicemember may duplicate a
// live record the caller may see or an earlier such row, as
// BatchCreateHouseholds refuses its items (checkDuplicatesOf). A row that
// updates a stored household registers no one new, as UpdateHousehold
// does not.
func (r *importRun) refuseDuplicates(ctx context.Context) error {
	if r.confirmed {
		return nil
	}
	var news []*importHousehold
	var rows []*repository.Household
	for _, h := range r.households {
		if !h.bad && h.h != nil && h.stored == nil {
			news, rows = append(news, h), append(rows, h.h)
		}
	}
	dups, err := r.s.checkDuplicatesOf(ctx, mapNil(rows, householdPerson), func(int) bool { return false },
		func(j int) string { return fmt.Sprintf("户表第%d行", news[j].row) })
	if err != nil {
		return err
	}
	sh := r.sheets[sheet.HouseholdSheet]
	for i, err := range dups {
		if msg, ok := duplicateMessage("军人", err); ok {
			r.fail(sh, news[i].row, -1, "", pb.ErrorReason_POSSIBLE_DUPLICATE, msg)
			news[i].bad = true
			continue
		}
		r.registered = append(r.registered, news[i])
	}
	return nil
}

// refuseMemberDuplicates refuses, unless the request confirms, the rows of
// 成员 that would add a member to their household (one it does not hold
// yet, matched as writeMembers matches) whose person may duplicate a live
// record the caller may see, a new servicemember of the file, or an
// earlier such row, as BatchCreateMembers refuses its items.
func (r *importRun) refuseMemberDuplicates(ctx context.Context) error {
	if r.confirmed {
		return nil
	}
	var ids []string
	for _, m := range r.members {
		if h := m.storedHousehold(); h != nil && !m.bad && m.msg != nil {
			ids = append(ids, h.ID)
		}
	}
	held := map[string][]repository.Member{}
	if len(ids) > 0 {
		slices.Sort(ids)
		ms, err := r.s.store.MembersOf(ctx, slices.Compact(ids))
		if err != nil {
			return err
		}
		for _, m := range ms {
			held[m.HouseholdID] = append(held[m.HouseholdID], m)
		}
	}
	// The file's new servicemembers come first, as passed already: a
	// member row is checked against them as against earlier members.
	rows := make([]*newPerson, 0, len(r.registered))
	names := make([]string, 0, len(r.registered))
	for _, h := range r.registered {
		rows, names = append(rows, householdPerson(h.h)), append(names, fmt.Sprintf("户表第%d行", h.row))
	}
	passed := len(rows)
	var news []*importMember
	for _, m := range r.members {
		if m.bad || m.msg == nil {
			continue
		}
		if h := m.storedHousehold(); h != nil && matchMember(held[h.ID], m) != nil {
			continue // updates a member its household holds
		}
		row := &repository.Member{}
		convert.MemberFromProto(m.msg, m.birth, row)
		news = append(news, m)
		rows, names = append(rows, memberPerson(row)), append(names, fmt.Sprintf("成员表第%d行", m.row))
	}
	if len(news) == 0 {
		return nil
	}
	dups, err := r.s.checkDuplicatesOf(ctx, rows, func(i int) bool { return i < passed },
		func(j int) string { return names[j] })
	if err != nil {
		return err
	}
	sh := r.sheets[sheet.MemberSheet]
	for i, err := range dups[passed:] {
		if msg, ok := duplicateMessage("该成员", err); ok {
			r.fail(sh, news[i].row, -1, "", pb.ErrorReason_POSSIBLE_DUPLICATE, msg)
			news[i].bad = true
		}
	}
	return nil
}

// duplicateMessage is a row's refusal as a possible duplicate of who,
// when err is one: where and what matched, never a name, for the report
// holds no cell.
func duplicateMessage(who string, err error) (string, bool) {
	var d *domain.PossibleDuplicateError
	if !errors.As(err, &d) {
		return "", false
	}
	var names []string
	for _, c := range d.Candidates {
		var same []string
		if c.Birth {
			same = append(same, "姓名与出生日期")
		}
		if c.Phone {
			same = append(same, "姓名与电话")
		}
		names = append(names, c.Resource+"（"+strings.Join(same, "、")+"相同）")
	}
	return "疑似重复登记，" + who + "与下列记录可能是同一人：" + strings.Join(names, "；") +
		"。核实确非同一人后，以 confirmPossibleDuplicates 确认再导入", true
}

// storedHousehold is the stored household a member row writes to: the
// one its household row updates or the one it joins; nil for a household
// the file registers.
func (m *importMember) storedHousehold() *repository.Household {
	if m.of != nil {
		return m.of.stored
	}
	return m.into
}

// matchMember is the member of existing a row updates: the one with its
// ID number or, for a member without one, its name and birth date.
func matchMember(existing []repository.Member, m *importMember) *repository.Member {
	for i := range existing {
		e := &existing[i]
		if m.msg.GetIdNumber() != "" && e.IDNumber == m.msg.GetIdNumber() ||
			m.msg.GetIdNumber() == "" && e.IDNumber == "" && e.DisplayName == m.msg.GetDisplayName() && e.BirthDate.Equal(m.birth) {
			return e
		}
	}
	return nil
}

// importGroup is what one household's write covers: its row (nil when
// only members are added to a stored household) and its member rows.
type importGroup struct {
	hh      *importHousehold
	into    *repository.Household
	members []*importMember
}

// tally counts what a write did; it is added to the response only once
// its transaction commits.
type tally struct {
	hCreated, hUpdated, hUnchanged, mCreated, mUpdated, mUnchanged int32
}

func (t *tally) add(o tally) {
	t.hCreated += o.hCreated
	t.hUpdated += o.hUpdated
	t.hUnchanged += o.hUnchanged
	t.mCreated += o.mCreated
	t.mUpdated += o.mUpdated
	t.mUnchanged += o.mUnchanged
}

// rowError is a refusal at write time, of the row it names.
type rowError struct {
	sheet string
	row   int
	err   error
}

func (e *rowError) Error() string { return e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

func (r *importRun) groups() []*importGroup {
	var out []*importGroup
	for _, h := range r.households {
		if !h.bad && h.h != nil {
			out = append(out, &importGroup{hh: h, into: h.stored, members: h.members})
		}
	}
	byID := map[string]*importGroup{}
	for _, m := range r.members {
		if m.bad || m.into == nil {
			continue
		}
		g := byID[m.into.ID]
		if g == nil {
			g = &importGroup{into: m.into}
			byID[m.into.ID] = g
			out = append(out, g)
		}
		g.members = append(g.members, m)
	}
	return out
}

// write writes the good rows, a transaction per chunk of households
// with their members. One transaction for the whole file would hold every
// write of it, and on PostgreSQL each change in a long transaction costs
// more than the last (the feed's head row keeps every version the
// transaction made): 2,000 changed households took a minute and a half. A
// chunk refused at write time (every row passed the checks, so someone
// wrote the same servicemember meanwhile) is written again household by
// household, so that only the refused household's rows are lost.
func (r *importRun) write(ctx context.Context) error {
	var done tally
	for chunk := range slices.Chunk(r.groups(), writeChunk) {
		var t tally
		err := r.s.store.InTx(ctx, func(ctx context.Context) error { return r.writeGroups(ctx, chunk, &t) })
		if err != nil && (apierr.Fault(err) || !errors.As(err, new(*rowError))) {
			return err
		}
		if err == nil {
			done.add(t)
			continue
		}
		for _, g := range chunk {
			var t tally
			err := r.s.store.InTx(ctx, func(ctx context.Context) error { return r.writeGroups(ctx, []*importGroup{g}, &t) })
			var re *rowError
			switch {
			case err == nil:
				done.add(t)
			case errors.As(err, &re) && !apierr.Fault(err):
				r.refuseAt(re)
			default:
				return err
			}
		}
	}
	r.resp.HouseholdsCreated, r.resp.HouseholdsUpdated, r.resp.HouseholdsUnchanged = done.hCreated, done.hUpdated, done.hUnchanged
	r.resp.MembersCreated, r.resp.MembersUpdated, r.resp.MembersUnchanged = done.mCreated, done.mUpdated, done.mUnchanged
	return nil
}

// refuseAt records a refusal at write time against its row.
func (r *importRun) refuseAt(re *rowError) {
	sh := r.sheets[re.sheet]
	if sh == nil {
		sh = &sheet.Sheet{Name: re.sheet}
	}
	prefix := "household"
	if re.sheet == sheet.MemberSheet {
		prefix = "member"
	}
	r.failErr(sh, re.row, prefix, re.err)
	r.prog.Refused++
	r.tick()
}

// writeGroups writes groups in ctx's transaction: the households that
// are stored through reapply (UpdateHousehold's rules, unchanged when
// equal), the new ones with one bulk insert, then each one's members.
func (r *importRun) writeGroups(ctx context.Context, groups []*importGroup, t *tally) error {
	for _, g := range groups {
		if g.hh != nil {
			// A chunk written again, household by household, starts from
			// what is stored, not from what its rolled-back attempt wrote.
			g.into = g.hh.stored
		}
	}
	st, err := r.readStored(ctx, groups)
	if err != nil {
		return err
	}
	var creates []*repository.Household
	var createdBy []*importGroup
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case g.hh == nil:
		case g.into == nil:
			creates = append(creates, g.hh.h)
			createdBy = append(createdBy, g)
		default:
			// As resolve read it: see reapply for why that loses nothing.
			got, outcome, err := r.s.reapply(ctx, g.hh.stored, g.hh.h)
			if err != nil {
				return &rowError{sheet: sheet.HouseholdSheet, row: g.hh.row, err: err}
			}
			g.into = got
			if outcome == pb.BatchCreateHouseholdResult_OUTCOME_UNCHANGED {
				t.hUnchanged++
				r.prog.Unchanged++
			} else {
				t.hUpdated++
				r.prog.Written++
			}
			r.tick()
		}
	}
	if len(creates) > 0 {
		err := r.s.store.CreateHouseholds(ctx, creates)
		var items *domain.BatchError
		if errors.As(err, &items) {
			it := items.Items[0]
			return &rowError{sheet: sheet.HouseholdSheet, row: createdBy[it.Index].hh.row, err: it.Err}
		}
		if errors.Is(err, repository.ErrConflictOutOfScope) {
			// A bulk insert does not tell which row met a household beyond
			// the caller's towns (see CreateHouseholds); the chunk is then
			// written household by household, and the one refused alone is
			// named, as CreateHousehold would refuse it.
			return &rowError{sheet: sheet.HouseholdSheet, row: createdBy[0].hh.row, err: err}
		}
		if err != nil {
			return err
		}
		for _, g := range createdBy {
			g.into = g.hh.h
			t.hCreated++
			r.prog.Written++
		}
		r.tick()
	}
	var adds []*repository.Member
	var addedBy []*importMember
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.writeMembers(ctx, g, st, t, func(row *repository.Member, m *importMember) {
			adds, addedBy = append(adds, row), append(addedBy, m)
		}); err != nil {
			return err
		}
	}
	if err := r.s.store.CreateMembers(ctx, adds); err != nil {
		// The bulk insert does not say which member it refused: the
		// first is named (and, importing valid rows, each household is
		// then tried alone).
		return &rowError{sheet: sheet.MemberSheet, row: addedBy[0].row, err: err}
	}
	t.mCreated += int32(len(adds))
	r.prog.Written += int64(len(adds))
	r.tick()
	return nil
}

// chunkStored is the members of the stored households a chunk's groups
// write member rows to, by household id, as stored when the chunk's
// transaction began.
type chunkStored struct {
	members map[string][]repository.Member
}

// readStored reads, in a few queries, the members of the stored
// households whose member rows a chunk writes, so that rows that say what
// is stored are told apart without a query each.
func (r *importRun) readStored(ctx context.Context, groups []*importGroup) (*chunkStored, error) {
	st := &chunkStored{members: map[string][]repository.Member{}}
	var ids []string
	for _, g := range groups {
		if g.into == nil || g.hh != nil && g.hh.stored == nil || len(g.members) == 0 {
			continue // none, or created by this chunk
		}
		ids = append(ids, g.into.ID)
	}
	if len(ids) == 0 {
		return st, nil
	}
	ms, err := r.s.store.MembersOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		st.members[m.HouseholdID] = append(st.members[m.HouseholdID], m)
	}
	return st, nil
}

// writeMembers updates or leaves alone each member row of a group's
// household, and hands add the members to create (in one bulk insert);
// a row is matched to a stored member by ID number (or, for a
// member without one, by name and birth date). Stored members the file
// does not list are kept: a sheet is not the whole household's record.
func (r *importRun) writeMembers(ctx context.Context, g *importGroup, st *chunkStored, t *tally, add func(*repository.Member, *importMember)) error {
	if len(g.members) == 0 {
		return nil
	}
	hid := g.into.ID
	var existing []repository.Member
	if g.hh == nil || g.hh.stored != nil {
		// A household gone since the file was checked has none here; its
		// member rows are then refused by CreateMembers as not found.
		existing = st.members[hid]
	}
	paths := slices.Sorted(maps.Keys(memberUpdatable))
	for _, m := range g.members {
		stored := matchMember(existing, m)
		if stored == nil {
			row := &repository.Member{ID: newID(), HouseholdID: hid, IDNumberConverted: m.conv}
			convert.MemberFromProto(m.msg, m.birth, row)
			add(row, m)
			continue
		}
		apply := func(_ context.Context, row *repository.Member) error {
			merged := convert.MemberToProto(row, "")
			if err := applyMask(merged, m.msg, paths); err != nil {
				return err
			}
			if err := r.s.validate("member", merged); err != nil {
				return err
			}
			birth, converted, err := r.s.checkMember("member", merged, row)
			if err != nil {
				return err
			}
			convert.MemberFromProto(merged, birth, row)
			row.IDNumberConverted = converted
			return nil
		}
		// A row that already says what is stored (as read in this
		// transaction) is left alone without a locked read-modify-write
		// that would roll back anyway: re-importing a file is mostly that.
		if same := *stored; apply(ctx, &same) == nil && len(repository.ChangedFields(stored, &same)) == 0 {
			t.mUnchanged++
			r.prog.Unchanged++
			r.tick()
			continue
		}
		got, err := r.s.store.UpdateMember(ctx, hid, stored.ID, "", apply)
		if err != nil {
			return &rowError{sheet: sheet.MemberSheet, row: m.row, err: err}
		}
		if got.Revision == stored.Revision {
			t.mUnchanged++
			r.prog.Unchanged++
		} else {
			t.mUpdated++
			r.prog.Written++
		}
		r.tick()
	}
	return nil
}

// finish orders the errors by sheet, row and column, and counts the
// refused rows.
func (r *importRun) finish() *pb.ImportHouseholdsResponse {
	order := func(e *pb.ImportRowError) (int, int) {
		s := 0
		if e.GetSheet() == sheet.MemberSheet {
			s = 1
		}
		col := -1
		if sh := r.sheets[e.GetSheet()]; sh != nil {
			col = slices.IndexFunc(sh.Columns, func(c sheet.Column) bool { return c.Header == e.GetColumn() })
		}
		return s, col
	}
	slices.SortStableFunc(r.errs, func(a, b *pb.ImportRowError) int {
		sa, ca := order(a)
		sb, cb := order(b)
		return cmp.Or(cmp.Compare(sa, sb), cmp.Compare(a.GetRow(), b.GetRow()), cmp.Compare(ca, cb))
	})
	rows := map[string]bool{}
	for _, e := range r.errs {
		rows[fmt.Sprintf("%s/%d", e.GetSheet(), e.GetRow())] = true
	}
	r.resp.RowsRefused = int32(len(rows))
	r.resp.Errors = r.errs[:min(len(r.errs), maxResponseErrors)]
	return r.resp
}

// writeReport writes the refused rows as a workbook: where and why, never
// the cells themselves.
func (im *HouseholdImport) writeReport(w io.Writer, errs []*pb.ImportRowError) (string, error) {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	const name = "导入错误"
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return "", err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return "", err
	}
	for i, width := range []float64{10, 8, 16, 30, 22, 60} {
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return "", err
		}
	}
	if err := sw.SetRow("A1", []any{"工作表", "行号", "列", "字段", "原因", "说明"}); err != nil {
		return "", err
	}
	for i, e := range errs {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{e.GetSheet(), e.GetRow(), e.GetColumn(), e.GetField(), e.GetReason().String(), e.GetMessage()}); err != nil {
			return "", err
		}
	}
	if err := sw.Flush(); err != nil {
		return "", err
	}
	if err := f.Write(w); err != nil {
		return "", err
	}
	return "导入错误-" + im.s.now().In(domain.ChinaTime).Format("20060102-150405") + ".xlsx", nil
}
