package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// --- 3. town scoping ----------------------------------------------------------

func testTownScoping(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	b := e.family(t, sup, func(h *pb.Household) { h.TownCode = townB })
	bCase := must(sup.CreateCase(legalAidCase(b, b.spouse))).ok(t)
	bOpen := must(sup.CreateCase(elderCase(b))).ok(t)
	bOpen = must(sup.Submit(bOpen.GetName(), bOpen.GetEtag())).ok(t)
	bHouse := must(sup.GetHousehold(b.household.GetName())).ok(t)
	bHist := len(must(sup.History(bCase.GetName())).ok(t).GetEntries())
	cwUser := roleUsers[principal.Caseworker]

	clients := e.asRole(t, principal.Caseworker)
	// Over HTTP, a second credential smuggled in as gRPC metadata must not
	// override the caseworker's own.
	clients[1].header = http.Header{"Grpc-Metadata-Authorization": {"Bearer " + e.roleToken(t, principal.Supervisor)}}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			c.t = t
			// The caseworker's own town works, and who did it is the token's user.
			a := e.family(t, c)
			spoof := legalAidCase(a, a.spouse)
			spoof.Creator = "mallory"
			aCase, err := c.CreateCase(spoof)
			if err != nil {
				must(aCase, err).fails(t, codes.InvalidArgument) // refusing an output-only field is fine too
				aCase = must(c.CreateCase(legalAidCase(a, a.spouse))).ok(t)
			}
			if aCase.GetCreator() != cwUser {
				t.Errorf("case creator = %q, want the token's user %q", aCase.GetCreator(), cwUser)
			}
			aCase = must(c.Submit(aCase.GetName(), aCase.GetEtag())).ok(t)
			note := must(c.CreateNote(aCase.GetName(), "家访已完成")).ok(t)
			if note.GetAuthor() != cwUser {
				t.Errorf("note author = %q, want %q", note.GetAuthor(), cwUser)
			}
			for _, h := range must(c.History(aCase.GetName())).ok(t).GetEntries() {
				if h.GetActor() != cwUser {
					t.Errorf("history entry %s: actor %q, want %q", h.GetMethod(), h.GetActor(), cwUser)
				}
			}
			must(c.GetHousehold(a.household.GetName())).ok(t)
			must(c.GetCase(aCase.GetName())).ok(t)
			must(c.LookupHousehold(a.household.GetServicemember().GetIdNumber())).ok(t)

			// Town B's household, members and cases do not exist for her.
			bName := b.household.GetName()
			notFound := func(what string, err error) {
				t.Helper()
				t.Run(what, func(t *testing.T) { wantStatus(t, err, codes.NotFound) })
			}
			_, err = c.GetHousehold(bName)
			notFound("GetHousehold", err)
			patch := clone(bHouse)
			patch.Address = "被改了"
			_, err = c.UpdateHousehold(patch, "address")
			notFound("UpdateHousehold", err)
			_, err = c.DeleteHousehold(bName, bHouse.GetEtag())
			notFound("DeleteHousehold", err)
			_, err = c.UndeleteHousehold(bName)
			notFound("UndeleteHousehold", err)
			_, err = c.LookupHousehold(b.household.GetServicemember().GetIdNumber())
			notFound("LookupHousehold", err)
			_, err = c.LookupHousehold(b.spouse.GetIdNumber())
			notFound("LookupHousehold_member", err)
			_, err = c.CreateMember(bName, e.newMember(pb.Relation_RELATION_MOTHER, "王芳", day(1964, 5, 6)))
			notFound("CreateMember", err)
			_, err = c.ListMembers(bName)
			notFound("ListMembers", err)
			_, err = c.GetMember(b.spouse.GetName())
			notFound("GetMember", err)
			mpatch := clone(b.spouse)
			mpatch.DisplayName = "被改了"
			_, err = c.UpdateMember(mpatch, "display_name")
			notFound("UpdateMember", err)
			_, err = c.DeleteMember(b.child.GetName())
			notFound("DeleteMember", err)
			// Opening a case for B's household fails exactly as for a
			// household that does not exist at all.
			_, err = c.CreateCase(legalAidCase(b, b.spouse))
			ghost := family{household: &pb.Household{Name: "households/01958f2e-0000-7000-8000-000000000000"}, spouse: &pb.Member{
				Name: "households/01958f2e-0000-7000-8000-000000000000/members/01958f2e-0000-7000-8000-000000000001"}}
			_, ghostErr := c.CreateCase(legalAidCase(ghost, ghost.spouse))
			if err == nil || status.Code(err) != status.Code(ghostErr) || status.Convert(err).Message() != status.Convert(ghostErr).Message() {
				t.Errorf("CreateCase for town B's household: %v; for a household that does not exist: %v", err, ghostErr)
			}

			cName := bCase.GetName()
			_, err = c.GetCase(cName)
			notFound("GetCase", err)
			cpatch := clone(bCase)
			cpatch.GetLegalAid().Counterparty = "被改了"
			_, err = c.UpdateCase(cpatch, "legal_aid.counterparty")
			notFound("UpdateCase", err)
			_, err = c.Submit(cName, bCase.GetEtag())
			notFound("SubmitCase", err)
			_, err = c.Withdraw(cName, "撤回")
			notFound("WithdrawCase", err)
			_, err = c.Assign(bOpen.GetName(), cwUser)
			notFound("AssignCase", err)
			_, err = c.Start(bOpen.GetName())
			notFound("StartCase", err)
			_, err = c.Resolve(bOpen.GetName(), achieved("done"))
			notFound("ResolveCase", err)
			_, err = c.CreateNote(cName, "不该写进去")
			notFound("CreateNote", err)
			_, err = c.ListNotes(cName)
			notFound("ListNotes", err)
			_, err = c.History(cName)
			notFound("ListCaseHistory", err)
			// Decisions are not hers in any town.
			must(c.Accept(bOpen.GetName())).fails(t, codes.PermissionDenied)
			must(c.Reject(bOpen.GetName(), "no")).fails(t, codes.PermissionDenied)
			must(c.Close(bOpen.GetName())).fails(t, codes.PermissionDenied)
			must(c.Reopen(bOpen.GetName(), "no")).fails(t, codes.PermissionDenied)

			// Lists never hold town B's rows, whatever the filter.
			for _, f := range []string{"", `town_code = "` + townB + `"`, `town_code = "` + townA + `"`, `hardship = false`} {
				for _, deleted := range []bool{false, true} {
					hs := must(c.ListHouseholds(&pb.ListHouseholdsRequest{Filter: f, ShowDeleted: deleted, PageSize: 500})).ok(t).GetHouseholds()
					for _, h := range hs {
						if h.GetTownCode() != townA || h.GetName() == bName {
							t.Errorf("ListHouseholds(%q, deleted=%v) shows %s of town %s", f, deleted, h.GetName(), h.GetTownCode())
						}
					}
					if f == "" && !slices.ContainsFunc(hs, func(h *pb.Household) bool { return h.GetName() == a.household.GetName() }) {
						t.Errorf("ListHouseholds does not show her own household")
					}
				}
			}
			for _, f := range []string{"", `town_code = "` + townB + `"`, `household = "` + bName + `"`, `status = SUBMITTED`, `case_type = ELDER_MEDICAL_HELP`} {
				cs, _ := c.allCases(&pb.ListCasesRequest{Filter: f, PageSize: 2})
				for _, x := range cs {
					if x.GetTownCode() != townA || x.GetHousehold() == bName {
						t.Errorf("ListCases(%q) shows %s of town %s", f, x.GetName(), x.GetTownCode())
					}
				}
				if f == "" && !slices.Contains(names(cs), aCase.GetName()) {
					t.Errorf("ListCases does not show her own case")
				}
			}

			// Writing into town B is forbidden.
			must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.TownCode = townB }))).fails(t, codes.PermissionDenied)
			own := must(c.GetHousehold(a.household.GetName())).ok(t)
			own.TownCode = townB
			must(c.UpdateHousehold(own, "town_code")).fails(t, codes.PermissionDenied)
			if got := must(sup.GetHousehold(a.household.GetName())).ok(t); got.GetTownCode() != townA {
				t.Errorf("refused move left the household in %s", got.GetTownCode())
			}
		})
	}

	// Town B is exactly as the supervisor left it.
	if got := must(sup.GetHousehold(b.household.GetName())).ok(t); got.GetEtag() != bHouse.GetEtag() || got.GetMemberCount() != bHouse.GetMemberCount() {
		t.Errorf("town B's household changed: etag %s→%s, members %d→%d", bHouse.GetEtag(), got.GetEtag(), bHouse.GetMemberCount(), got.GetMemberCount())
	}
	if got := must(sup.GetCase(bCase.GetName())).ok(t); got.GetEtag() != bCase.GetEtag() {
		t.Errorf("town B's case changed")
	}
	if n := len(must(sup.ListNotes(bCase.GetName())).ok(t).GetNotes()); n != 0 {
		t.Errorf("town B's case has %d notes", n)
	}
	if n := len(must(sup.History(bCase.GetName())).ok(t).GetEntries()); n != bHist {
		t.Errorf("town B's case history grew from %d to %d", bHist, n)
	}
	if n := len(must(sup.ListMembers(b.household.GetName())).ok(t).GetMembers()); n != 3 {
		t.Errorf("town B's household has %d members, want 3", n)
	}
}

// --- 4. sensitive fields --------------------------------------------------------

var (
	maskedID    = regexp.MustCompile(`^\*{14}[0-9]{3}[0-9X]$`)
	maskedPhone = regexp.MustCompile(`^1[0-9]{2}\*{4}[0-9]{4}$`)
)

// wantMasked checks that got is the masked form of plain: the last 4
// characters of an ID number, the first 3 and last 4 of a phone.
func wantMasked(t *testing.T, what, got, plain string) {
	t.Helper()
	var want string
	var shape *regexp.Regexp
	switch len(plain) {
	case 18:
		want, shape = "**************"+plain[14:], maskedID
	case 11:
		want, shape = plain[:3]+"****"+plain[7:], maskedPhone
	default:
		t.Fatalf("%s: no mask rule for a %d-character value", what, len(plain))
	}
	if got != want || !shape.MatchString(got) {
		t.Errorf("%s = %q, want masked %q", what, got, want)
	}
}

// Views: calls that may ask for the full view.

func (c *client) GetHouseholdView(name string, view pb.View) (*pb.Household, error) {
	out := &pb.Household{}
	return out, c.call("HouseholdService/GetHousehold", get(name, url.Values{"view": {view.String()}}),
		&pb.GetHouseholdRequest{Name: name, View: view}, out)
}

func (c *client) GetMemberView(name string, view pb.View) (*pb.Member, error) {
	out := &pb.Member{}
	return out, c.call("HouseholdService/GetMember", get(name, url.Values{"view": {view.String()}}),
		&pb.GetMemberRequest{Name: name, View: view}, out)
}

func (c *client) LookupHouseholdView(idNumber string, view pb.View) (*pb.Household, error) {
	req := &pb.LookupHouseholdRequest{IdNumber: idNumber, View: view}
	out := &pb.Household{}
	return out, c.call("HouseholdService/LookupHousehold", post("households:lookup", req), req, out)
}

func testSensitiveFields(t *testing.T, e *env) {
	cw := e.asRole(t, principal.Caseworker)
	for _, c := range cw {
		t.Run(c.name, func(t *testing.T) {
			c.t = t
			smID, phone := e.idNumber(servicememberBirth), e.phone()
			req := e.newHousehold(func(h *pb.Household) { h.Servicemember.IdNumber, h.Phone = smID, phone })
			h := must(c.CreateHousehold(req)).ok(t)
			wantMasked(t, "created servicemember.id_number", h.GetServicemember().GetIdNumber(), smID)
			wantMasked(t, "created phone", h.GetPhone(), phone)
			got := must(c.GetHousehold(h.GetName())).ok(t)
			wantMasked(t, "got servicemember.id_number", got.GetServicemember().GetIdNumber(), smID)
			wantMasked(t, "got phone", got.GetPhone(), phone)
			got = must(c.GetHouseholdView(h.GetName(), pb.View_VIEW_MASKED)).ok(t)
			wantMasked(t, "VIEW_MASKED servicemember.id_number", got.GetServicemember().GetIdNumber(), smID)
			got = must(c.LookupHousehold(smID)).ok(t)
			wantMasked(t, "looked-up servicemember.id_number", got.GetServicemember().GetIdNumber(), smID)
			wantMasked(t, "looked-up phone", got.GetPhone(), phone)
			for _, x := range must(c.ListHouseholds(&pb.ListHouseholdsRequest{PageSize: 500})).ok(t).GetHouseholds() {
				if x.GetName() == h.GetName() {
					wantMasked(t, "listed servicemember.id_number", x.GetServicemember().GetIdNumber(), smID)
					wantMasked(t, "listed phone", x.GetPhone(), phone)
				}
			}

			mID, mPhone := e.idNumber(spouseBirth), e.phone()
			m := e.newMember(pb.Relation_RELATION_SPOUSE, "李娜", spouseBirth)
			m.IdNumber, m.Phone = mID, mPhone
			gotM := must(c.CreateMember(h.GetName(), m)).ok(t)
			wantMasked(t, "created member.id_number", gotM.GetIdNumber(), mID)
			wantMasked(t, "created member.phone", gotM.GetPhone(), mPhone)
			gm := must(c.GetMember(gotM.GetName())).ok(t)
			wantMasked(t, "got member.id_number", gm.GetIdNumber(), mID)
			wantMasked(t, "got member.phone", gm.GetPhone(), mPhone)
			for _, x := range must(c.ListMembers(h.GetName())).ok(t).GetMembers() {
				wantMasked(t, "listed member.id_number", x.GetIdNumber(), mID)
				wantMasked(t, "listed member.phone", x.GetPhone(), mPhone)
			}
			wantMasked(t, "looked-up-by-member servicemember.id_number",
				must(c.LookupHousehold(mID)).ok(t).GetServicemember().GetIdNumber(), smID)

			// An update that sends the masked values back keeps the stored ones.
			got = must(c.GetHousehold(h.GetName())).ok(t)
			got.Address = "名山街道 2 号"
			upd := must(c.UpdateHousehold(got, "servicemember", "phone", "address")).ok(t)
			wantMasked(t, "updated servicemember.id_number", upd.GetServicemember().GetIdNumber(), smID)
			wantMasked(t, "updated phone", upd.GetPhone(), phone)
			gm.DisplayName = "李娜娜"
			updM := must(c.UpdateMember(gm, "id_number", "phone", "display_name")).ok(t)
			wantMasked(t, "updated member.id_number", updM.GetIdNumber(), mID)
			wantMasked(t, "updated member.phone", updM.GetPhone(), mPhone)

			// The full view, for caseworkers and supervisors, shows the
			// originals and is audited, once per view.
			before := len(auditEntries(t, e, `action = "full-view"`))
			full := must(c.GetHouseholdView(h.GetName(), pb.View_VIEW_FULL)).ok(t)
			if full.GetServicemember().GetIdNumber() != smID || full.GetPhone() != phone || full.GetAddress() != "名山街道 2 号" {
				t.Errorf("full view after a masked round trip: id %s phone %s (want the originals), address %q",
					maskOK(full.GetServicemember().GetIdNumber() == smID), maskOK(full.GetPhone() == phone), full.GetAddress())
			}
			fm := must(c.GetMemberView(gotM.GetName(), pb.View_VIEW_FULL)).ok(t)
			if fm.GetIdNumber() != mID || fm.GetPhone() != mPhone || fm.GetDisplayName() != "李娜娜" {
				t.Errorf("member full view after a masked round trip: id %s phone %s, name %q",
					maskOK(fm.GetIdNumber() == mID), maskOK(fm.GetPhone() == mPhone), fm.GetDisplayName())
			}
			if got := must(c.LookupHouseholdView(mID, pb.View_VIEW_FULL)).ok(t); got.GetServicemember().GetIdNumber() != smID {
				t.Errorf("full lookup does not show the ID number")
			}
			for _, s := range e.asRole(t, principal.Supervisor) {
				s.t = t
				if got := must(s.GetHouseholdView(h.GetName(), pb.View_VIEW_FULL)).ok(t); got.GetPhone() != phone {
					t.Errorf("supervisor's full view over %s does not show the phone", s.name)
				}
			}
			views := auditEntries(t, e, `action = "full-view"`)
			if len(views) != before+5 {
				t.Errorf("%d full views audited, want %d", len(views)-before, 5)
			}
			for _, v := range views[before:] {
				if v.GetRequestId() == "" || v.GetClientAddress() == "" || v.GetMethod() == "" || v.GetOutcome() == "" {
					t.Errorf("full-view entry %s lacks request id, client address, method or outcome: %v", v.GetName(), v)
				}
			}
			byCW := auditEntries(t, e, `action = "full-view" AND resource = "`+gotM.GetName()+`" AND principal = "`+roleUsers[principal.Caseworker]+`"`)
			if len(byCW) != 1 || byCW[0].GetMethod() != "/casework.v1.HouseholdService/GetMember" {
				t.Errorf("full view of the member audited as %v, want one GetMember entry", byCW)
			}

			// Roles that may read but not see in full are refused the full view.
			for _, r := range []principal.Role{principal.Auditor, principal.Integration, principal.Batch} {
				for _, o := range e.asRole(t, r) {
					o.t = t
					must(o.GetHouseholdView(h.GetName(), pb.View_VIEW_FULL)).fails(t, codes.PermissionDenied)
					must(o.GetMemberView(gotM.GetName(), pb.View_VIEW_FULL)).fails(t, codes.PermissionDenied)
					must(o.LookupHouseholdView(smID, pb.View_VIEW_FULL)).fails(t, codes.PermissionDenied)
					wantMasked(t, string(r)+" read", must(o.GetHousehold(h.GetName())).ok(t).GetPhone(), phone)
				}
			}
			if n := len(auditEntries(t, e, `action = "full-view"`)); n != len(views) {
				t.Errorf("refused full views were audited as views: %d → %d", len(views), n)
			}

			// Bad ID numbers are refused without being repeated.
			badIDNumberErrors(t, e, c, h, gm)
		})
	}
	if n := e.checkAtRest(t); n < 8 {
		t.Errorf("only %d sealed values at rest; the at-rest check saw too little", n)
	}
}

func maskOK(ok bool) string {
	if ok {
		return "ok"
	}
	return "differs"
}

// badIDNumberErrors sends malformed ID and phone numbers everywhere one goes
// in and checks that no error repeats them.
func badIDNumberErrors(t *testing.T, e *env, c *client, h *pb.Household, m *pb.Member) {
	t.Helper()
	good := e.idNumber(fatherBirth)
	flip := "0"
	if good[17] == '0' {
		flip = "1"
	}
	bads := []string{
		good[:17] + flip,     // wrong check character
		good[:17],            // too short
		good + "7",           // too long
		"500230199013450017", // no such date
		"50023019900412001Z", // bad check character
		"5002301990041200１７", // full-width digits
	}
	phones := []string{"1380013800a", "138001380001234", "+86 138 0013 8000"}
	e.leaks.track(bads...)
	e.leaks.track(phones...)
	check := func(what, bad string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s with %q accepted", what, idMaskAny(bad))
			return
		}
		if strings.Contains(err.Error(), bad) {
			t.Errorf("%s: the error repeats the number: %v", what, idMaskAny(err.Error()))
		}
	}
	for _, bad := range bads {
		_, err := c.CreateHousehold(e.newHousehold(func(x *pb.Household) { x.Servicemember.IdNumber = bad }))
		check("CreateHousehold", bad, err)
		_, err = c.LookupHousehold(bad)
		check("LookupHousehold", bad, err)
		mm := e.newMember(pb.Relation_RELATION_FATHER, "张建国", fatherBirth)
		mm.IdNumber = bad
		_, err = c.CreateMember(h.GetName(), mm)
		check("CreateMember", bad, err)
		cur := must(c.GetHousehold(h.GetName())).ok(t)
		cur.Servicemember.IdNumber = bad
		_, err = c.UpdateHousehold(cur, "servicemember.id_number")
		check("UpdateHousehold", bad, err)
	}
	for _, bad := range phones {
		_, err := c.CreateHousehold(e.newHousehold(func(x *pb.Household) { x.Phone = bad }))
		if err != nil && strings.Contains(err.Error(), bad) {
			t.Errorf("CreateHousehold with a bad phone: the error repeats it")
		}
		cur := must(c.GetMember(m.GetName())).ok(t)
		cur.Phone = bad
		_, err = c.UpdateMember(cur, "phone")
		if err != nil && strings.Contains(err.Error(), bad) {
			t.Errorf("UpdateMember with a bad phone: the error repeats it")
		}
	}
}

// idMaskAny stars every digit run long enough to be an ID or phone number.
func idMaskAny(s string) string {
	return regexp.MustCompile(`[0-9]{7,}`).ReplaceAllStringFunc(s, func(d string) string { return d[:3] + "…" })
}
