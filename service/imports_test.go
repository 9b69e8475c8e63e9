package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/internal/sheet/sheettest"
	"github.com/fengdu-county/casework/internal/testdb"
)

// importFile is a filled-in template: household rows (cells by field) and
// member rows.
type importFile struct {
	households []map[string]string
	members    []map[string]string
}

func (f importFile) xlsx(t testing.TB) []byte {
	t.Helper()
	var hs, ms [][]string
	for _, h := range f.households {
		hs = append(hs, sheettest.Row(sheet.HouseholdColumns, h))
	}
	for _, m := range f.members {
		ms = append(ms, sheettest.Row(sheet.MemberColumns, m))
	}
	return sheettest.Workbook(t, hs, ms)
}

// importRows is a file of n good households in 虎威镇, each with a spouse.
func importRows(n int) importFile {
	var f importFile
	for i := range n {
		// A day apart, so that 10,000 rows have 10,000 numbers.
		birth := time.Date(1970, 1, 1+i, 0, 0, 0, 0, time.UTC)
		sm := idnumber.Make("500230", birth, 1+i%7)
		f.households = append(f.households, map[string]string{
			"servicemember.idNumber": sm, "servicemember.name": fmt.Sprintf("军人%d", i),
			"servicemember.rankCategory": "军士", "servicemember.postType": "一般岗位", "servicemember.status": "现役军士",
			"category": "现役军人家庭", "townCode": "虎威镇", "phone": "13800000000", "address": "丰都县",
		})
		sb := time.Date(1975, 1, 1+i, 0, 0, 0, 0, time.UTC)
		f.members = append(f.members, map[string]string{
			"servicemember.idNumber": sm, "relation": "配偶", "displayName": fmt.Sprintf("家属%d", i),
			"idNumber": idnumber.Make("500230", sb, 500+i%7), "birthDate": sb.Format(time.DateOnly), "accompanying": "是",
		})
	}
	return f
}

func runImport(t *testing.T, h *handlers, ctx context.Context, data []byte, validateOnly, validRows bool) (*pb.ImportHouseholdsResponse, string, []byte, error) {
	t.Helper()
	var report bytes.Buffer
	req := &pb.ImportHouseholdsRequest{Content: data, ValidateOnly: validateOnly, ImportValidRows: validRows}
	im := NewHouseholdImport(h.households)
	if err := im.check(ctx, req); err != nil {
		t.Fatalf("check: %v", err)
	}
	var last Progress
	resp, name, err := im.run(ctx, req, &report, func(p Progress) { last = p })
	if resp != nil && last.Read != int64(resp.GetHouseholdRows()+resp.GetMemberRows()) {
		t.Errorf("progress read %d rows, response %d", last.Read, resp.GetHouseholdRows()+resp.GetMemberRows())
	}
	return resp, name, report.Bytes(), err
}

func countHouseholds(t *testing.T, h *handlers) map[string]string {
	t.Helper()
	etags := map[string]string{}
	req := &pb.ListHouseholdsRequest{PageSize: 1000}
	for {
		resp, err := h.households.ListHouseholds(h.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range resp.GetHouseholds() {
			etags[x.GetName()] = x.GetEtag()
		}
		if resp.GetNextPageToken() == "" {
			return etags
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// TestImportHouseholds runs the import's whole life on each database: a
// file with bad rows refused as a whole and listed, validate_only, the
// good rows imported, the same file again changing nothing, two rows
// changed updating two.
func TestImportHouseholds(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			h := newHandlersOn(t, dialect, func() time.Time { return handlerNow })
			f := importRows(20)
			good := importRows(20)
			badID := map[string]string{}
			for k, v := range f.households[0] {
				badID[k] = v
			}
			badID["servicemember.idNumber"] = "500230199001011238" // check digit wrong
			badLabel := map[string]string{}
			for k, v := range importRows(21).households[20] {
				badLabel[k] = v
			}
			badTown := map[string]string{}
			for k, v := range badLabel {
				badTown[k] = v
			}
			badLabel["servicemember.postType"] = "边防"
			badTown["servicemember.idNumber"] = idnumber.Make("500230", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), 1)
			badTown["townCode"] = "北京市"
			dup := f.households[3]
			f.households = append(f.households, badID, badLabel, badTown, dup)
			// A member of the refused household row is refused with it.
			f.members = append(f.members, map[string]string{"servicemember.idNumber": badLabel["servicemember.idNumber"],
				"relation": "子女", "displayName": "孩子", "birthDate": "2016-03-01"})
			data := f.xlsx(t)

			before, err := h.store.EventHead(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			resp, name, report, err := runImport(t, h, h.ctx, data, false, false)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Reason() != pb.ErrorReason_IMPORT_ROWS_REFUSED {
				t.Fatalf("a file with bad rows: %v, want IMPORT_ROWS_REFUSED", err)
			}
			st, _ := status.FromError(apierr.ToStatus(err))
			var carried *pb.ImportHouseholdsResponse
			violations := 0
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *pb.ImportHouseholdsResponse:
					carried = d
				case *errdetails.BadRequest:
					violations = len(d.GetFieldViolations())
				}
			}
			if carried == nil || carried.GetRowsRefused() != 5 || violations != len(carried.GetErrors()) || st.Code().String() != "InvalidArgument" {
				t.Fatalf("status %v: response %v, %d violations", st, carried, violations)
			}
			type where struct {
				sheet  string
				row    int32
				column string
				reason pb.ErrorReason
			}
			var got []where
			for _, e := range resp.GetErrors() {
				got = append(got, where{e.GetSheet(), e.GetRow(), e.GetColumn(), e.GetReason()})
				if bytes.Contains([]byte(e.GetMessage()), []byte(badTown["servicemember.idNumber"])) {
					t.Errorf("message %q quotes an ID number", e.GetMessage())
				}
			}
			want := []where{
				{sheet.HouseholdSheet, 23, "军人身份证号", pb.ErrorReason_INVALID_ID_NUMBER},
				{sheet.HouseholdSheet, 24, "岗位类别", pb.ErrorReason_UNKNOWN_LABEL},
				{sheet.HouseholdSheet, 25, "乡镇（街道）", pb.ErrorReason_UNKNOWN_TOWN},
				{sheet.HouseholdSheet, 26, "军人身份证号", pb.ErrorReason_DUPLICATE_ROW},
				{sheet.MemberSheet, 23, "军人身份证号", pb.ErrorReason_UNKNOWN_HOUSEHOLD},
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("errors\n%v\nwant\n%v", got, want)
			}
			if resp.GetHouseholdRows() != 24 || resp.GetMemberRows() != 21 || resp.GetHouseholdsCreated() != 0 {
				t.Errorf("counts %v", resp)
			}
			if name == "" || len(report) == 0 {
				t.Errorf("no report file (%q, %d bytes)", name, len(report))
			} else {
				x, err := excelize.OpenReader(bytes.NewReader(report))
				if err != nil {
					t.Fatal(err)
				}
				rows, _ := x.GetRows(x.GetSheetList()[0])
				if len(rows) != 6 || rows[1][2] != "军人身份证号" {
					t.Errorf("report rows %v", rows)
				}
			}
			if n := len(countHouseholds(t, h)); n != 0 {
				t.Fatalf("%d households written by a refused file", n)
			}

			resp, _, _, err = runImport(t, h, h.ctx, data, true, false)
			if err != nil || !resp.GetValidateOnly() || len(resp.GetErrors()) != 5 {
				t.Fatalf("validate_only: %v %v", resp, err)
			}
			if n := len(countHouseholds(t, h)); n != 0 {
				t.Fatalf("%d households written by validate_only", n)
			}
			if after, _ := h.store.EventHead(h.ctx); after != before {
				t.Fatalf("events moved from %d to %d with nothing written", before, after)
			}

			resp, _, _, err = runImport(t, h, h.ctx, data, false, true)
			if err != nil || resp.GetHouseholdsCreated() != 20 || resp.GetMembersCreated() != 20 || resp.GetRowsRefused() != 5 {
				t.Fatalf("import_valid_rows: %v %v", resp, err)
			}
			etags := countHouseholds(t, h)
			if len(etags) != 20 {
				t.Fatalf("%d households after importing the good rows", len(etags))
			}

			// The same rows again: nothing changes, nothing is written.
			head, _ := h.store.EventHead(h.ctx)
			resp, name, _, err = runImport(t, h, h.ctx, good.xlsx(t), false, false)
			if err != nil || resp.GetHouseholdsUnchanged() != 20 || resp.GetMembersUnchanged() != 20 ||
				resp.GetHouseholdsCreated()+resp.GetHouseholdsUpdated()+resp.GetMembersCreated()+resp.GetMembersUpdated() != 0 || name != "" {
				t.Fatalf("re-import: %v %v %q", resp, err, name)
			}
			if after, _ := h.store.EventHead(h.ctx); after != head {
				t.Errorf("an unchanged re-import moved the feed from %d to %d", head, after)
			}
			if again := countHouseholds(t, h); fmt.Sprint(again) != fmt.Sprint(etags) {
				t.Errorf("etags changed by an unchanged re-import")
			}

			// Two rows changed: two updates.
			good.households[5]["address"] = "丰都县名山街道"
			good.members[7]["accompanying"] = "否"
			resp, _, _, err = runImport(t, h, h.ctx, good.xlsx(t), false, false)
			if err != nil || resp.GetHouseholdsUpdated() != 1 || resp.GetMembersUpdated() != 1 ||
				resp.GetHouseholdsUnchanged() != 19 || resp.GetMembersUnchanged() != 19 {
				t.Fatalf("two rows changed: %v %v", resp, err)
			}
			changed := 0
			for n, e := range countHouseholds(t, h) {
				if etags[n] != e {
					changed++
				}
			}
			if changed != 1 {
				t.Errorf("%d household etags changed, want 1", changed)
			}
		})
	}
}

// TestImportKeepsToTheCallersTowns: a caseworker of 虎威镇 importing a row
// of 社坛镇 is told the town is not theirs, and a member row keyed to a
// household of another town finds none.
func TestImportKeepsToTheCallersTowns(t *testing.T) {
	h := newHandlers(t)
	other := h.household("500230102")
	p := &principal.Principal{ID: "users/cw", Kind: principal.User, Roles: []principal.Role{principal.Caseworker}}
	ctx := principal.WithScope(principal.NewContext(context.Background(), p), principal.Scope{Towns: []string{"500230101"}})
	ctx = audit.NewContext(ctx, &audit.Record{Principal: p.ID, Roles: "caseworker", Credential: "test", Method: "test"})

	f := importRows(2)
	f.households[1]["townCode"] = "社坛镇"
	f.members[1]["servicemember.idNumber"] = h.lookupNumber(other.GetName())
	resp, _, _, err := runImport(t, h, ctx, f.xlsx(t), true, false)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []pb.ErrorReason
	for _, e := range resp.GetErrors() {
		reasons = append(reasons, e.GetReason())
	}
	if fmt.Sprint(reasons) != fmt.Sprint([]pb.ErrorReason{pb.ErrorReason_UNKNOWN_TOWN, pb.ErrorReason_UNKNOWN_HOUSEHOLD}) {
		t.Fatalf("errors %v", resp.GetErrors())
	}
}

// lookupNumber is the servicemember's ID number of a household, read in
// full.
func (h *handlers) lookupNumber(name string) string {
	h.t.Helper()
	got, err := h.store.GetHousehold(h.ctx, name[len("households/"):], false)
	if err != nil {
		h.t.Fatal(err)
	}
	return got.ServicememberIDNumber
}

// BenchmarkImportHouseholds imports a template of 10,000 households, each
// with one member (20,000 rows), into an empty database (create), the
// same file again (unchanged), and with every household's address changed
// (update).
func BenchmarkImportHouseholds(b *testing.B) {
	f := importRows(10000)
	data := f.xlsx(b)
	for _, x := range f.households {
		x["address"] = "丰都县三合街道"
	}
	changed := f.xlsx(b)
	for _, dialect := range testdb.Dialects() {
		setup := func(b *testing.B, first []byte) (*handlers, *HouseholdImport) {
			b.StopTimer()
			defer b.StartTimer()
			h := newHandlersOn(b, dialect, func() time.Time { return handlerNow })
			im := NewHouseholdImport(h.households)
			if first != nil {
				if _, _, err := im.run(h.ctx, &pb.ImportHouseholdsRequest{Content: first}, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			return h, im
		}
		b.Run(string(dialect)+"/create", func(b *testing.B) {
			for b.Loop() {
				h, im := setup(b, nil)
				resp, _, err := im.run(h.ctx, &pb.ImportHouseholdsRequest{Content: data}, nil, nil)
				if err != nil || resp.GetHouseholdsCreated() != 10000 || resp.GetMembersCreated() != 10000 {
					b.Fatalf("%v: %v", resp.GetErrors(), err)
				}
			}
		})
		b.Run(string(dialect)+"/unchanged", func(b *testing.B) {
			for b.Loop() {
				h, im := setup(b, data)
				resp, _, err := im.run(h.ctx, &pb.ImportHouseholdsRequest{Content: data}, nil, nil)
				if err != nil || resp.GetHouseholdsUnchanged() != 10000 || resp.GetMembersUnchanged() != 10000 {
					b.Fatalf("%v: %v", resp.GetErrors(), err)
				}
			}
		})
		b.Run(string(dialect)+"/update", func(b *testing.B) {
			for b.Loop() {
				h, im := setup(b, data)
				resp, _, err := im.run(h.ctx, &pb.ImportHouseholdsRequest{Content: changed}, nil, nil)
				if err != nil || resp.GetHouseholdsUpdated() != 10000 || resp.GetMembersUnchanged() != 10000 {
					b.Fatalf("%v: %v", resp.GetErrors(), err)
				}
			}
		})
	}
}

// TestImportCSVInTurn imports a household .csv, then a member .csv whose
// rows key to the stored households; a member ID number another
// household holds is recorded in this one too, as CreateMember allows.
func TestImportCSVInTurn(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			h := newHandlersOn(t, dialect, func() time.Time { return handlerNow })
			f := importRows(3)
			var hs, ms [][]string
			for _, x := range f.households {
				hs = append(hs, sheettest.Row(sheet.HouseholdColumns, x))
			}
			// Held by household 1 once imported.
			f.members[2]["idNumber"], f.members[2]["birthDate"] = f.members[1]["idNumber"], f.members[1]["birthDate"]
			for _, x := range f.members {
				ms = append(ms, sheettest.Row(sheet.MemberColumns, x))
			}
			resp, _, _, err := runImport(t, h, h.ctx, sheettest.CSV(t, sheet.HouseholdColumns, false, hs), false, false)
			if err != nil || resp.GetHouseholdsCreated() != 3 || resp.GetMemberRows() != 0 {
				t.Fatalf("household csv: %v %v", resp, err)
			}
			resp, _, _, err = runImport(t, h, h.ctx, sheettest.CSV(t, sheet.MemberColumns, true, ms[:2]), false, false)
			if err != nil || resp.GetMembersCreated() != 2 || resp.GetHouseholdRows() != 0 {
				t.Fatalf("member csv: %v %v", resp, err)
			}
			resp, _, _, err = runImport(t, h, h.ctx, sheettest.CSV(t, sheet.MemberColumns, true, ms), false, true)
			if err != nil || resp.GetMembersUnchanged() != 2 || resp.GetMembersCreated() != 1 || len(resp.GetErrors()) != 0 {
				t.Fatalf("member csv again: %v %v", resp, err)
			}
		})
	}
}

func TestImportRefusesUnreadableFiles(t *testing.T) {
	h := newHandlers(t)
	im := NewHouseholdImport(h.households)
	for name, data := range map[string][]byte{"xls": {0xd0, 0xcf, 0x11, 0xe0, 0, 1}, "csv": []byte("a,b\n1,2\n")} {
		err := im.check(h.ctx, &pb.ImportHouseholdsRequest{Content: data})
		st, _ := status.FromError(apierr.ToStatus(err))
		if st.Code().String() != "InvalidArgument" || len(st.Details()) == 0 ||
			st.Details()[0].(*errdetails.ErrorInfo).GetReason() != pb.ErrorReason_UNREADABLE_FILE.String() {
			t.Errorf("%s: %v, want INVALID_ARGUMENT UNREADABLE_FILE", name, st)
		}
	}
}

// TestImportStopsWhenCancelled: a cancelled operation stops between rows
// and writes nothing.
func TestImportStopsWhenCancelled(t *testing.T) {
	h := newHandlers(t)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	_, _, err := NewHouseholdImport(h.households).run(ctx, &pb.ImportHouseholdsRequest{Content: importRows(30).xlsx(t)}, nil,
		func(p Progress) {
			if p.Read == 5 {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run after cancel: %v", err)
	}
	if n := len(countHouseholds(t, h)); n != 0 {
		t.Errorf("%d households written by a cancelled import", n)
	}
}

// TestImportOfAHouseholdBeyondTheCallersTowns: a servicemember registered
// in another town is refused on its row, as CreateHousehold would refuse
// it, and the file's other rows are written.
func TestImportOfAHouseholdBeyondTheCallersTowns(t *testing.T) {
	h := newHandlers(t)
	f := importRows(3)
	p := &principal.Principal{ID: "users/cw", Kind: principal.User, Roles: []principal.Role{principal.Caseworker}}
	ctx := principal.WithScope(principal.NewContext(context.Background(), p), principal.Scope{Towns: []string{"500230101"}})
	ctx = audit.NewContext(ctx, &audit.Record{Principal: p.ID, Roles: "caseworker", Credential: "test", Method: "test"})
	moved := map[string]string{}
	for k, v := range f.households[1] {
		moved[k] = v
	}
	moved["townCode"] = "社坛镇"
	if resp, _, _, err := runImport(t, h, h.ctx, importFile{households: []map[string]string{moved}}.xlsx(t), false, false); err != nil {
		t.Fatalf("%v: %v", err, resp)
	}
	resp, _, _, err := runImport(t, h, ctx, importFile{households: f.households}.xlsx(t), false, false)
	if err != nil || resp.GetHouseholdsCreated() != 2 || len(resp.GetErrors()) != 1 {
		t.Fatalf("%v: %v", err, resp)
	}
	if e := resp.GetErrors()[0]; e.GetRow() != 4 || e.GetReason() != pb.ErrorReason_CONFLICT_OUTSIDE_SCOPE {
		t.Errorf("error %v", e)
	}
}
