package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	longrunningpb "cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/xuri/excelize/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/repository"
)

// importBook is a filled-in household template: cells by field path, one
// map a row.
type importBook struct {
	households []map[string]string
	members    []map[string]string
}

// clone copies the rows, so that a changed copy leaves the original be.
func (b importBook) clone() importBook {
	cp := func(rows []map[string]string) []map[string]string {
		out := make([]map[string]string, len(rows))
		for i, r := range rows {
			out[i] = map[string]string{}
			for k, v := range r {
				out[i][k] = v
			}
		}
		return out
	}
	return importBook{households: cp(b.households), members: cp(b.members)}
}

// fill writes the rows into tmpl, the template as the server gave it, the
// way a clerk would: typed into the first data rows of 户 and 成员.
func (b importBook) fill(t *testing.T, tmpl []byte) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(tmpl))
	if err != nil {
		t.Fatalf("open the template: %v", err)
	}
	defer func() { _ = f.Close() }()
	write := func(name string, cols []sheet.Column, rows []map[string]string) {
		for i, r := range rows {
			cells := make([]any, len(cols))
			for j, c := range cols {
				cells[j] = r[c.Field]
			}
			cell, _ := excelize.CoordinatesToCellName(1, sheet.FirstDataRow+i)
			if err := f.SetSheetRow(name, cell, &cells); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(sheet.HouseholdSheet, sheet.HouseholdColumns, b.households)
	write(sheet.MemberSheet, sheet.MemberColumns, b.members)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// importFamilies is n households of 虎威镇, each with a spouse, their ID
// numbers tracked by the env's leak check.
func (e *env) importFamilies(n int) (importBook, []string) {
	var b importBook
	var numbers []string
	for i := range n {
		sm := e.idNumber(day(1980, 1, 1+i))
		numbers = append(numbers, sm)
		b.households = append(b.households, map[string]string{
			"servicemember.idNumber": sm, "servicemember.name": fmt.Sprintf("军人%d", i),
			"servicemember.rankCategory": "军士", "servicemember.postType": "一般岗位", "servicemember.status": "现役军士",
			"category": "现役军人家庭", "townCode": "虎威镇", "phone": "13800000000", "address": "丰都县虎威镇",
		})
		sb := day(1983, 2, 1+i)
		b.members = append(b.members, map[string]string{
			"servicemember.idNumber": sm, "relation": "配偶", "displayName": fmt.Sprintf("家属%d", i),
			"idNumber": e.idNumber(sb), "birthDate": sb.Format(time.DateOnly), "accompanying": "是",
		})
	}
	return b, numbers
}

// rename gives the book's servicemembers and members other names (prefix
// and number), so that its people are no possible duplicates of another
// book's.
func (b importBook) rename(prefix string) {
	for i, h := range b.households {
		h["servicemember.name"] = fmt.Sprintf("%s%d", prefix, i)
	}
	for i, m := range b.members {
		m["displayName"] = fmt.Sprintf("%s家属%d", prefix, i)
	}
}

// householdEtags lists every household the supervisor sees, name to etag.
func householdEtags(t *testing.T, c pb.HouseholdServiceClient) map[string]string {
	t.Helper()
	out := map[string]string{}
	req := &pb.ListHouseholdsRequest{PageSize: 500}
	for {
		resp := must(c.ListHouseholds(ctxFor(t), req)).ok(t)
		for _, h := range resp.GetHouseholds() {
			out[h.GetName()] = h.GetEtag()
		}
		if resp.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// feedHead is the change feed's newest position.
func feedHead(t *testing.T, c pb.EventServiceClient) int64 {
	t.Helper()
	return must(c.ListEvents(ctxFor(t), &pb.ListEventsRequest{PageSize: 1})).ok(t).GetHeadPosition()
}

// feedAfter is every event after a position.
func feedAfter(t *testing.T, c pb.EventServiceClient, after int64) []*pb.Event {
	t.Helper()
	var out []*pb.Event
	for {
		page := must(c.ListEvents(ctxFor(t), &pb.ListEventsRequest{After: after, PageSize: 1000})).ok(t)
		out = append(out, page.GetEvents()...)
		if page.GetNextAfter() == after || page.GetNextAfter() >= page.GetHeadPosition() {
			return out
		}
		after = page.GetNextAfter()
	}
}

// importResult unpacks a finished import: its response, or the one its
// IMPORT_ROWS_REFUSED error carries.
func importResult(t *testing.T, op *longrunningpb.Operation) (*pb.ImportHouseholdsResponse, *status.Status) {
	t.Helper()
	if op.GetError() == nil {
		resp := &pb.ImportHouseholdsResponse{}
		if err := op.GetResponse().UnmarshalTo(resp); err != nil {
			t.Fatalf("%s: response: %v", op.GetName(), err)
		}
		return resp, nil
	}
	st := status.FromProto(op.GetError())
	for _, d := range st.Details() {
		if r, ok := d.(*pb.ImportHouseholdsResponse); ok {
			return r, st
		}
	}
	return nil, st
}

// noNumbersIn fails when an import's errors quote any of the numbers.
func noNumbersIn(t *testing.T, st *status.Status, resp *pb.ImportHouseholdsResponse, numbers []string) {
	t.Helper()
	texts := []string{}
	if st != nil {
		texts = append(texts, st.Message())
		for _, d := range st.Details() {
			if bad, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range bad.GetFieldViolations() {
					texts = append(texts, v.GetDescription(), v.GetField())
				}
			}
		}
	}
	for _, e := range resp.GetErrors() {
		texts = append(texts, e.GetMessage(), e.GetField(), e.GetColumn())
	}
	for _, s := range texts {
		for _, n := range numbers {
			if strings.Contains(s, n) {
				t.Errorf("an import error quotes an ID number: %q", s)
			}
		}
	}
}

// testImports: the household import through the real server, over JSON
// and gRPC: a file with bad rows refused whole with each row's error,
// validate_only, the good file imported, the same file again changing
// nothing, two changed rows updating two, import_valid_rows, a
// caseworker's towns, an unreadable file.
func testImports(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), fastJobs)
	sheets, ops := pb.NewSpreadsheetServiceClient(e.conn), pb.NewOperationServiceClient(e.conn)
	hs, events := pb.NewHouseholdServiceClient(e.conn), pb.NewEventServiceClient(e.conn)

	code, _, tmpl, err := e.doHTTP(t, nil, e.httpBase+"/v1/templates/households.xlsx", http.MethodGet, nil, 0, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET the template: %d %v", code, err)
	}
	good, numbers := e.importFamilies(10)
	bad := good.clone()
	extra, extraNumbers := e.importFamilies(1)
	badID := extra.households[0]
	// A wrong check digit: the number is invalid.
	last := badID["servicemember.idNumber"][17]
	wrong := "0"
	if last == '0' {
		wrong = "1"
	}
	badID["servicemember.idNumber"] = badID["servicemember.idNumber"][:17] + wrong
	e.leaks.track(badID["servicemember.idNumber"])
	numbers = append(numbers, badID["servicemember.idNumber"])
	labelBook, labelNumbers := e.importFamilies(1)
	badLabel := labelBook.households[0]
	badLabel["servicemember.postType"] = "边防"
	townBook, townNumbers := e.importFamilies(1)
	badTown := townBook.households[0]
	badTown["townCode"] = "北京市"
	numbers = append(append(append(numbers, extraNumbers...), labelNumbers...), townNumbers...)
	bad.households = append(bad.households, badID, badLabel, badTown)
	badFile, goodFile := bad.fill(t, tmpl), good.fill(t, tmpl)

	before, head := householdEtags(t, hs), feedHead(t, events)

	// Over JSON: the content base64, the operation polled over HTTP.
	body, _ := json.Marshal(map[string]any{"content": base64.StdEncoding.EncodeToString(badFile), "filename": "户.xlsx"})
	code, out := e.jsonHTTP(t, http.MethodPost, "/v1/households:import", string(body))
	var started struct{ Name string }
	if err := json.Unmarshal(out, &started); code != http.StatusOK || err != nil || !strings.HasPrefix(started.Name, "operations/") {
		t.Fatalf("POST /v1/households:import: %d %s", code, out)
	}
	waitDone(t, ops, started.Name)
	code, out = e.jsonHTTP(t, http.MethodGet, "/v1/"+started.Name, "")
	refused := &longrunningpb.Operation{}
	if err := protojson.Unmarshal(out, refused); code != http.StatusOK || err != nil || !refused.GetDone() {
		t.Fatalf("GET %s: %d %s (%v)", started.Name, code, out, err)
	}
	resp, st := importResult(t, refused)
	if st == nil || st.Code() != codes.InvalidArgument || resp == nil {
		t.Fatalf("a file with bad rows ended %v, %v", st, resp)
	}
	wantReason(t, st, pb.ErrorReason_IMPORT_ROWS_REFUSED)
	type where struct {
		sheet  string
		row    int32
		column string
		reason pb.ErrorReason
	}
	var got []where
	for _, x := range resp.GetErrors() {
		got = append(got, where{x.GetSheet(), x.GetRow(), x.GetColumn(), x.GetReason()})
		if x.GetMessage() == "" {
			t.Errorf("row %d: no message", x.GetRow())
		}
	}
	first := int32(sheet.FirstDataRow)
	want := []where{
		{sheet.HouseholdSheet, first + 10, "军人身份证号", pb.ErrorReason_INVALID_ID_NUMBER},
		{sheet.HouseholdSheet, first + 11, "岗位类别", pb.ErrorReason_UNKNOWN_LABEL},
		{sheet.HouseholdSheet, first + 12, "乡镇（街道）", pb.ErrorReason_UNKNOWN_TOWN},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("errors\n%v\nwant\n%v", got, want)
	}
	if resp.GetRowsRefused() != 3 || resp.GetHouseholdRows() != 13 || resp.GetMemberRows() != 10 || resp.GetHouseholdsCreated() != 0 {
		t.Errorf("counts of the refused file: %v", resp)
	}
	noNumbersIn(t, st, resp, numbers)
	// The report workbook is offered beside the error: a row a refusal,
	// no cell of the file in it.
	code, hdr, report, err := e.doHTTP(t, nil, e.httpBase+"/v1/"+started.Name+":download", http.MethodGet, nil, 0, nil)
	if err != nil || code != http.StatusOK || !strings.HasSuffix(hdr.Get("Content-Disposition"), ".xlsx") {
		t.Fatalf("the refused import's report: %d %v %s", code, err, report)
	}
	rb, err := excelize.OpenReader(bytes.NewReader(report))
	if err != nil {
		t.Fatalf("open the report: %v", err)
	}
	reportRows, _ := rb.GetRows(rb.GetSheetList()[0])
	_ = rb.Close()
	if len(reportRows) != 4 || cellOf(reportRows[1], 2) != "军人身份证号" || cellOf(reportRows[3], 2) != "乡镇（街道）" {
		t.Errorf("report rows %v", reportRows)
	}
	for _, r := range reportRows {
		for _, cell := range r {
			for _, n := range numbers {
				if strings.Contains(cell, n) {
					t.Errorf("the report quotes an ID number: %q", cell)
				}
			}
		}
	}
	if after := householdEtags(t, hs); len(after) != len(before) {
		t.Fatalf("a refused file: %d households, before %d", len(after), len(before))
	}
	if h := feedHead(t, events); h != head {
		t.Fatalf("a refused file moved the feed from %d to %d", head, h)
	}

	// validate_only on the good file, over gRPC: counted, nothing written.
	op := must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: goodFile, ValidateOnly: true})).ok(t)
	resp, st = importResult(t, waitDone(t, ops, op.GetName()))
	if st != nil || !resp.GetValidateOnly() || resp.GetHouseholdRows() != 10 || resp.GetMemberRows() != 10 || len(resp.GetErrors()) != 0 {
		t.Fatalf("validate_only: %v %v", resp, st)
	}
	if after := householdEtags(t, hs); len(after) != len(before) {
		t.Fatalf("validate_only wrote %d households", len(after)-len(before))
	}
	if h := feedHead(t, events); h != head {
		t.Fatalf("validate_only moved the feed from %d to %d", head, h)
	}

	// The good file: ten households with a spouse each.
	op = must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: goodFile, Filename: "户.xlsx"})).ok(t)
	resp, st = importResult(t, waitDone(t, ops, op.GetName()))
	if st != nil || resp.GetHouseholdsCreated() != 10 || resp.GetMembersCreated() != 10 || resp.GetRowsRefused() != 0 {
		t.Fatalf("the good file: %v %v", resp, st)
	}
	etags := householdEtags(t, hs)
	if len(etags) != len(before)+10 {
		t.Fatalf("%d households after the good file, want %d", len(etags), len(before)+10)
	}
	found := must(hs.LookupHousehold(ctxFor(t), &pb.LookupHouseholdRequest{IdNumber: numbers[3]})).ok(t)
	if found.GetServicemember().GetName() != "军人3" || found.GetTownCode() != "500230101" {
		t.Errorf("looked up %v", found)
	}
	members := must(hs.ListMembers(ctxFor(t), &pb.ListMembersRequest{Parent: found.GetName()})).ok(t)
	if len(members.GetMembers()) != 1 || members.GetMembers()[0].GetDisplayName() != "家属3" {
		t.Errorf("members of the looked-up household: %v", members.GetMembers())
	}

	// The same file again: all unchanged, no event.
	head = feedHead(t, events)
	op = must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: goodFile})).ok(t)
	resp, st = importResult(t, waitDone(t, ops, op.GetName()))
	if st != nil || resp.GetHouseholdsUnchanged() != 10 || resp.GetMembersUnchanged() != 10 ||
		resp.GetHouseholdsCreated()+resp.GetHouseholdsUpdated()+resp.GetMembersCreated()+resp.GetMembersUpdated() != 0 {
		t.Fatalf("the same file again: %v %v", resp, st)
	}
	if h := feedHead(t, events); h != head {
		t.Errorf("an unchanged re-import moved the feed from %d to %d", head, h)
	}
	if again := householdEtags(t, hs); fmt.Sprint(again) != fmt.Sprint(etags) {
		t.Errorf("an unchanged re-import changed etags")
	}

	// Two rows changed: those two updated, their events only.
	changed := good.clone()
	changed.households[2]["address"] = "丰都县虎威镇新街 2 号"
	changed.households[7]["address"] = "丰都县虎威镇新街 7 号"
	op = must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: changed.fill(t, tmpl)})).ok(t)
	resp, st = importResult(t, waitDone(t, ops, op.GetName()))
	if st != nil || resp.GetHouseholdsUpdated() != 2 || resp.GetHouseholdsUnchanged() != 8 || resp.GetMembersUnchanged() != 10 {
		t.Fatalf("two rows changed: %v %v", resp, st)
	}
	wantChanged := map[string]bool{}
	for _, i := range []int{2, 7} {
		h := must(hs.LookupHousehold(ctxFor(t), &pb.LookupHouseholdRequest{IdNumber: numbers[i]})).ok(t)
		wantChanged[h.GetName()] = true
	}
	for name, etag := range householdEtags(t, hs) {
		if (etags[name] != etag) != wantChanged[name] {
			t.Errorf("%s: etag %q then %q", name, etags[name], etag)
		}
	}
	evs := feedAfter(t, events, head)
	if len(evs) != 2 {
		t.Errorf("%d events for two changed rows: %v", len(evs), evs)
	}
	for _, ev := range evs {
		if !wantChanged[ev.GetResource()] {
			t.Errorf("an event for %s", ev.GetResource())
		}
	}

	// import_valid_rows on a file of two new households and the bad rows:
	// the two are written, the bad ones not.
	more, moreNumbers := e.importFamilies(2)
	more.rename("新军人") // not the good file's 军人0 and 军人1 again: possible duplicates
	numbers = append(numbers, moreNumbers...)
	more.households = append(more.households, badID, badLabel, badTown)
	count := len(householdEtags(t, hs))
	op = must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: more.fill(t, tmpl), ImportValidRows: true})).ok(t)
	resp, st = importResult(t, waitDone(t, ops, op.GetName()))
	if st != nil || resp.GetHouseholdsCreated() != 2 || resp.GetMembersCreated() != 2 || resp.GetRowsRefused() != 3 || len(resp.GetErrors()) != 3 {
		t.Fatalf("import_valid_rows: %v %v", resp, st)
	}
	noNumbersIn(t, nil, resp, numbers)
	if n := len(householdEtags(t, hs)); n != count+2 {
		t.Errorf("import_valid_rows: %d households, want %d", n, count+2)
	}
	for _, n := range []string{badLabel["servicemember.idNumber"], badTown["servicemember.idNumber"]} {
		must(hs.LookupHousehold(ctxFor(t), &pb.LookupHouseholdRequest{IdNumber: n})).fails(t, codes.NotFound)
	}

	// A caseworker of 虎威镇: a row of 社坛镇 is not theirs.
	cw := e.token(t, "e2e-import-caseworker", []principal.Role{principal.Caseworker}, "500230101")
	theirs, theirNumbers := e.importFamilies(2)
	theirs.rename("外军人")
	numbers = append(numbers, theirNumbers...)
	theirs.households[1]["townCode"] = "社坛镇"
	theirs.members = theirs.members[:1]
	cwConn := e.dial(t, cw)
	op = must(pb.NewSpreadsheetServiceClient(cwConn).ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: theirs.fill(t, tmpl), ValidateOnly: true})).ok(t)
	resp, st = importResult(t, waitDone(t, pb.NewOperationServiceClient(cwConn), op.GetName()))
	if st != nil || len(resp.GetErrors()) != 1 || resp.GetErrors()[0].GetReason() != pb.ErrorReason_UNKNOWN_TOWN ||
		resp.GetErrors()[0].GetRow() != first+1 || resp.GetHouseholdRows() != 2 {
		t.Errorf("a caseworker's row of another town: %v %v", resp, st)
	}
	noNumbersIn(t, st, resp, numbers)

	// Random bytes: refused at once, no operation.
	junk := make([]byte, 4096)
	_, _ = rand.Read(junk)
	st = must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: junk})).fails(t, codes.InvalidArgument)
	wantReason(t, st, pb.ErrorReason_UNREADABLE_FILE)
	body, _ = json.Marshal(map[string]any{"content": base64.StdEncoding.EncodeToString(junk)})
	code, out = e.jsonHTTP(t, http.MethodPost, "/v1/households:import", string(body))
	if code != http.StatusBadRequest || !strings.Contains(string(out), "UNREADABLE_FILE") {
		t.Errorf("random bytes over HTTP: %d %s", code, out)
	}
}

// exportRows runs an export to its end as conn's caller, downloads the
// file and reads every sheet of it.
func exportRows(t *testing.T, conn *grpc.ClientConn, op *longrunningpb.Operation) map[string][][]string {
	t.Helper()
	ops := pb.NewOperationServiceClient(conn)
	done := waitDone(t, ops, op.GetName())
	if md := metadataOf(t, done); md.GetState() != pb.OperationMetadata_STATE_SUCCEEDED {
		t.Fatalf("%s ended %v: %v", op.GetName(), md.GetState(), done.GetError())
	}
	body := must(ops.DownloadOperationResult(ctxFor(t), &pb.DownloadOperationResultRequest{Name: op.GetName()})).ok(t)
	f, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatalf("open the export: %v", err)
	}
	defer func() { _ = f.Close() }()
	out := map[string][][]string{}
	for _, s := range f.GetSheetList() {
		rows, err := f.GetRows(s)
		if err != nil {
			t.Fatal(err)
		}
		out[s] = rows
	}
	return out
}

// column is the index of header in a sheet's first row.
func column(t *testing.T, rows [][]string, header string) int {
	t.Helper()
	for i, h := range rows[0] {
		if h == header {
			return i
		}
	}
	t.Fatalf("no column %q in %v", header, rows[0])
	return -1
}

// cellOf is a row's cell, "" past its end (excelize drops empty tails).
func cellOf(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

// testExports: each export through the real server, downloaded and read
// back cell by cell: households masked by default and in full only for
// who may (audited), a campaign's coverage against a hand count and its
// unvisited list, the measures of the county and of one organisation,
// cases with a filter; a caseworker's exports hold their town only.
func testExports(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), fastJobs)
	c := e.grpcClient(t)
	sheets := pb.NewSpreadsheetServiceClient(e.conn)
	townA, townB := "500230101", "500230102" // 虎威镇, 社坛镇

	// The register, counted by hand: in A a family (regular post), a
	// border and a mission household; in B a family and a border one.
	famA := e.family(t, c)
	famB := e.family(t, c, func(h *pb.Household) { h.TownCode = townB })
	household := func(town string, post pb.PostType) string {
		return must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) {
			h.TownCode, h.Servicemember.PostType = town, post
		}))).ok(t).GetName()
	}
	borderA := household(townA, pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE)
	household(townA, pb.PostType_POST_TYPE_MISSION_UNIT)
	household(townB, pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE)
	must(c.CreateCase(employmentCase(famA))).ok(t)
	must(c.CreateCase(schoolCase(famA))).ok(t)
	must(c.CreateCase(schoolCase(famB))).ok(t)

	// Households: masked by default.
	hh := exportRows(t, e.conn, must(sheets.ExportHouseholds(ctxFor(t), &pb.ExportHouseholdsRequest{})).ok(t))["户台账"]
	if len(hh) != 6 {
		t.Fatalf("household ledger: %d rows, want a header and 5", len(hh))
	}
	idCol, townCol := column(t, hh, "军人身份证号"), column(t, hh, "乡镇（街道）")
	full := map[string]bool{famA.household.GetServicemember().GetIdNumber(): true, famB.household.GetServicemember().GetIdNumber(): true}
	for _, r := range hh[1:] {
		if id := cellOf(r, idCol); !strings.Contains(id, "*") || full[id] {
			t.Errorf("a masked export shows ID %q", id)
		}
	}
	// VIEW_FULL without the right: refused before any operation starts.
	auditorConn := e.dial(t, e.roleToken(t, principal.Auditor))
	st := must(pb.NewSpreadsheetServiceClient(auditorConn).ExportHouseholds(ctxFor(t), &pb.ExportHouseholdsRequest{View: pb.View_VIEW_FULL})).fails(t, codes.PermissionDenied)
	wantReason(t, st, pb.ErrorReason_FULL_VIEW_DENIED)
	code, _, out, err := e.doHTTP(t, e.httpAs(e.roleToken(t, principal.Auditor)), e.httpBase+"/v1/households:export", http.MethodPost,
		strings.NewReader(`{"view": "VIEW_FULL"}`), -1, http.Header{"Content-Type": {"application/json"}})
	if err != nil || code != http.StatusForbidden || !strings.Contains(string(out), "FULL_VIEW_DENIED") {
		t.Errorf("an auditor's full export over HTTP: %d %s %v", code, out, err)
	}
	if n := len(must(pb.NewOperationServiceClient(auditorConn).ListOperations(ctxFor(t), &pb.ListOperationsRequest{Filter: "kind = KIND_EXPORT_HOUSEHOLDS"})).ok(t).GetOperations()); n != 1 {
		t.Errorf("%d household exports, want the supervisor's one", n)
	}
	// With the right: the full numbers, and an audit record of it.
	hh = exportRows(t, e.conn, must(sheets.ExportHouseholds(ctxFor(t), &pb.ExportHouseholdsRequest{View: pb.View_VIEW_FULL})).ok(t))["户台账"]
	seen := 0
	for _, r := range hh[1:] {
		if full[cellOf(r, idCol)] {
			seen++
		}
	}
	if seen != 2 {
		t.Errorf("a full export shows %d of the families' two ID numbers", seen)
	}
	var audited int64
	if err := e.db.Gorm.Table("audit_log").Where("action = ? AND resource = ?", "full-view", "households").Count(&audited).Error; err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("%d full-view audit records for the export, want 1", audited)
	}

	// A campaign of A and B: targets are the border and mission
	// households, 2 in A and 1 in B; one visit in A.
	cp := must(c.CreateCampaign(armyDay2026(townA, townB), "")).ok(t)
	cp = must(c.OpenCampaign(&pb.OpenCampaignRequest{Name: cp.GetName()})).ok(t)
	if cp.GetTargetCount() != 3 {
		t.Fatalf("campaign opened with %d targets, want 3", cp.GetTargetCount())
	}
	must(c.CreateVisit(cp.GetName(), visitOn(borderA, 22, false))).ok(t)
	book := exportRows(t, e.conn, must(sheets.ExportCampaign(ctxFor(t), &pb.ExportCampaignRequest{Name: cp.GetName()})).ok(t))
	wantCov := [][]string{
		{"乡镇（街道）", "走访对象（户）", "已走访（户）", "未走访（户）", "覆盖率", "未走访已说明原因（户）"},
		{"虎威镇", "2", "1", "1", "50.00%", "0"},
		{"社坛镇", "1", "0", "1", "0.00%", "0"},
		{"合计", "3", "1", "2", "33.33%", "0"},
	}
	if fmt.Sprint(book["覆盖情况"]) != fmt.Sprint(wantCov) {
		t.Errorf("coverage\n%v\nwant\n%v", book["覆盖情况"], wantCov)
	}
	unvisited := book["未走访"]
	if len(unvisited) != 3 {
		t.Fatalf("unvisited %v, want a header and 2", unvisited)
	}
	var unvisitedTowns []string
	for _, r := range unvisited[1:] {
		unvisitedTowns = append(unvisitedTowns, r[0])
	}
	if fmt.Sprint(unvisitedTowns) != fmt.Sprint([]string{"虎威镇", "社坛镇"}) {
		t.Errorf("unvisited towns %v", unvisitedTowns)
	}
	if v := book["走访记录"]; len(v) != 2 {
		t.Errorf("visits %v", v)
	}

	// Measures: two organisations, one measure each.
	org1 := must(c.CreateOrganization(e.organization("91500230MA5U3XYL0D", day(2028, 12, 31)), "")).ok(t)
	org2 := must(c.CreateOrganization(e.organization("91110000600037341L", day(2028, 12, 31)), "")).ok(t)
	must(c.CreateMeasure(org1.GetName(), &pb.Measure{Title: "军属购物九折", Kind: pb.MeasureKind_MEASURE_KIND_DISCOUNT, TownCodes: []string{townA}})).ok(t)
	must(c.CreateMeasure(org2.GetName(), &pb.Measure{Title: "免费法律咨询", Kind: pb.MeasureKind_MEASURE_KIND_LEGAL})).ok(t)
	ms := exportRows(t, e.conn, must(sheets.ExportMeasures(ctxFor(t), &pb.ExportMeasuresRequest{Parent: "organizations/-"})).ok(t))["措施台账"]
	if len(ms) != 3 {
		t.Fatalf("the county's measures %v", ms)
	}
	titles := []string{cellOf(ms[1], column(t, ms, "措施名称")), cellOf(ms[2], column(t, ms, "措施名称"))}
	if !slices.Contains(titles, "军属购物九折") || !slices.Contains(titles, "免费法律咨询") {
		t.Errorf("measures %v", titles)
	}
	ms = exportRows(t, e.conn, must(sheets.ExportMeasures(ctxFor(t), &pb.ExportMeasuresRequest{Parent: org2.GetName()})).ok(t))["措施台账"]
	if len(ms) != 2 || cellOf(ms[1], column(t, ms, "措施名称")) != "免费法律咨询" || cellOf(ms[1], column(t, ms, "适用乡镇（街道）")) != "全县" {
		t.Errorf("org2's measures %v", ms)
	}

	// Cases with a filter.
	cs := exportRows(t, e.conn, must(sheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{Filter: "case_type = SCHOOL_ENROLLMENT"})).ok(t))["案件"]
	if len(cs) != 3 {
		t.Fatalf("school cases %v, want a header and 2", cs)
	}
	for _, r := range cs[1:] {
		if r[column(t, cs, "类型")] == "随军家属就业安置" {
			t.Errorf("an employment case in a school export: %v", r)
		}
	}

	// A caseworker of A: A's households, A's cases, A's coverage.
	cwConn := e.dial(t, e.token(t, "e2e-export-caseworker", []principal.Role{principal.Caseworker}, townA))
	cwSheets := pb.NewSpreadsheetServiceClient(cwConn)
	hh = exportRows(t, cwConn, must(cwSheets.ExportHouseholds(ctxFor(t), &pb.ExportHouseholdsRequest{})).ok(t))["户台账"]
	if len(hh) != 4 {
		t.Errorf("town A's caseworker: %d households, want 3", len(hh)-1)
	}
	for _, r := range hh[1:] {
		if r[townCol] != "虎威镇" {
			t.Errorf("another town's household in A's export: %v", r)
		}
	}
	cs = exportRows(t, cwConn, must(cwSheets.ExportCases(ctxFor(t), &pb.ExportCasesRequest{})).ok(t))["案件"]
	if len(cs) != 3 {
		t.Errorf("town A's caseworker: %d cases, want 2", len(cs)-1)
	}
	for _, r := range cs[1:] {
		if r[column(t, cs, "镇街")] != "虎威镇" {
			t.Errorf("another town's case in A's export: %v", r)
		}
	}
	cov := exportRows(t, cwConn, must(cwSheets.ExportCampaign(ctxFor(t), &pb.ExportCampaignRequest{Name: cp.GetName()})).ok(t))["覆盖情况"]
	if fmt.Sprint(cov[1:]) != fmt.Sprint([][]string{{"虎威镇", "2", "1", "1", "50.00%", "0"}, {"合计", "2", "1", "1", "50.00%", "0"}}) {
		t.Errorf("town A's coverage %v", cov)
	}
}

// testImportDuplicates: rows of 户 that would register a servicemember, and
// rows of 成员 that would add a member, who may duplicate a live record or
// an earlier row are refused with POSSIBLE_DUPLICATE, naming where, never a
// name or number; the same file with confirm_possible_duplicates is
// imported.
func testImportDuplicates(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), fastJobs)
	sheets, ops := pb.NewSpreadsheetServiceClient(e.conn), pb.NewOperationServiceClient(e.conn)
	hs := pb.NewHouseholdServiceClient(e.conn)
	code, _, tmpl, err := e.doHTTP(t, nil, e.httpBase+"/v1/templates/households.xlsx", http.MethodGet, nil, 0, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET the template: %d %v", code, err)
	}
	book, numbers := e.importFamilies(3)
	// Row 0 is registered already under another number (same name and
	// birth date); row 2 repeats row 1's name and phone.
	live := e.idNumber(day(1980, 1, 1))
	numbers = append(numbers, live)
	registered := must(hs.CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{ConfirmPossibleDuplicate: true, Household: e.newHousehold(func(h *pb.Household) {
		h.Servicemember.Name, h.Servicemember.IdNumber, h.TownCode = book.households[0]["servicemember.name"], live, "500230101"
	})})).ok(t)
	book.households[2]["servicemember.name"] = book.households[1]["servicemember.name"]
	// Row 1's spouse is recorded already, under another number, in the
	// live household; a row of 成员 naming that household's spouse by her
	// number updates her and is no duplicate of anyone.
	spouseBirth := day(1983, 2, 2)
	spouse := e.newMember(pb.Relation_RELATION_SPOUSE, book.members[1]["displayName"], spouseBirth)
	liveSpouse := must(hs.CreateMember(ctxFor(t), &pb.CreateMemberRequest{Parent: registered.GetName(), ConfirmPossibleDuplicate: true,
		Member: spouse})).ok(t)
	if book.members[1]["birthDate"] != spouseBirth.Format(time.DateOnly) {
		t.Fatalf("the fixture's spouse of row 1 was born %s", book.members[1]["birthDate"])
	}
	book.members = append(book.members, map[string]string{
		"servicemember.idNumber": live, "relation": "配偶", "displayName": book.members[1]["displayName"],
		"idNumber": spouse.GetIdNumber(), "birthDate": spouseBirth.Format(time.DateOnly), "accompanying": "是",
	})
	numbers = append(numbers, spouse.GetIdNumber())
	file := book.fill(t, tmpl)
	before := len(householdEtags(t, hs))

	op := must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: file})).ok(t)
	resp, st := importResult(t, waitDone(t, ops, op.GetName()))
	if st == nil || resp == nil {
		t.Fatalf("a file of possible duplicates ended %v, %v", st, resp)
	}
	wantReason(t, st, pb.ErrorReason_IMPORT_ROWS_REFUSED)
	first := int32(sheet.FirstDataRow)
	var rows []int32
	for _, x := range resp.GetErrors() {
		if x.GetReason() == pb.ErrorReason_POSSIBLE_DUPLICATE && x.GetSheet() == sheet.HouseholdSheet {
			rows = append(rows, x.GetRow())
		}
	}
	if !slices.Equal(rows, []int32{first, first + 2}) || resp.GetRowsRefused() != 5 { // their member rows, and row 1's spouse
		t.Fatalf("refused rows %v (%d refused), want 户 rows %d and %d: %v", rows, resp.GetRowsRefused(), first, first+2, resp.GetErrors())
	}
	var memberRows []int32
	for _, x := range resp.GetErrors() {
		if x.GetReason() == pb.ErrorReason_POSSIBLE_DUPLICATE && x.GetSheet() == sheet.MemberSheet {
			memberRows = append(memberRows, x.GetRow())
			if msg := x.GetMessage(); !strings.Contains(msg, liveSpouse.GetName()) || strings.Contains(msg, book.members[1]["displayName"]) {
				t.Errorf("成员 row %d's message %q: want the live member named, not the spouse", x.GetRow(), msg)
			}
		}
	}
	if !slices.Equal(memberRows, []int32{first + 1}) {
		t.Errorf("成员 rows refused as possible duplicates %v, want %d only (the row of a stored member updates her)", memberRows, first+1)
	}
	if msg := resp.GetErrors()[0].GetMessage(); !strings.Contains(msg, registered.GetName()) || strings.Contains(msg, book.households[0]["servicemember.name"]) {
		t.Errorf("row %d's message %q: want the live household named, not the servicemember", first, msg)
	}
	if msg := resp.GetErrors()[1].GetMessage(); !strings.Contains(msg, fmt.Sprintf("户表第%d行", first+1)) {
		t.Errorf("row %d's message %q: want the earlier row named", first+2, msg)
	}
	noNumbersIn(t, st, resp, numbers)
	if n := len(householdEtags(t, hs)); n != before {
		t.Fatalf("a refused file wrote %d households", n-before)
	}

	op = must(sheets.ImportHouseholds(ctxFor(t), &pb.ImportHouseholdsRequest{Content: file, ConfirmPossibleDuplicates: true})).ok(t)
	resp, st = importResult(t, waitDone(t, ops, op.GetName()))
	if st != nil || resp.GetHouseholdsCreated() != 3 || resp.GetMembersCreated() != 3 || resp.GetMembersUnchanged() != 1 || resp.GetRowsRefused() != 0 {
		t.Fatalf("the confirmed file: %v %v", resp, st)
	}
}
