package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// scrubToEmpty stands for the service's details scrubber, which knows the
// details' schema; the store must write back what it returns.
func scrubToEmpty(domain.Kind, string) (string, error) { return "{}", nil }

// LeftIn returns, for each needle found in any column of any table of db,
// where it was found ("table.column"). Erasure tests hold every trace of an
// erased value, in plaintext, sealed or as a blind index, to none.
func LeftIn(t testing.TB, db *gorm.DB, needles map[string]string) []string {
	t.Helper()
	tables, err := db.Migrator().GetTables()
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	var found []string
	for _, table := range tables {
		found = append(found, leftInTable(t, db, table, needles)...)
	}
	return found
}

// leftInTable is LeftIn for one table.
func leftInTable(t testing.TB, db *gorm.DB, table string, needles map[string]string) []string {
	t.Helper()
	var found []string
	rows, err := db.Raw(`SELECT * FROM "` + table + `"`).Rows()
	if err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("reading %s: %v", table, err)
		}
		for i, v := range vals {
			var text []byte
			switch v := v.(type) {
			case nil:
				continue
			case []byte:
				text = v
			default:
				text = []byte(fmt.Sprint(v))
			}
			for what, needle := range needles {
				if needle != "" && bytes.Contains(text, []byte(needle)) {
					found = append(found, fmt.Sprintf("%s in %s.%s", what, table, cols[i]))
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	return found
}

// deletedFamily is a household with everything that can hold its people's
// data, deleted at the clock's time: the needles name each value, and the
// sealed forms and blind indexes the store keeps of them.
func (e *env) deletedFamily() (family, *repository.Case, map[string]string) {
	e.t.Helper()
	f := e.newFamily(e.withPhone, e.withCertificate, func(h *repository.Household) {
		h.HardshipNote = "家中老人长期卧床 hardship-" + uuid.NewString()
	})
	m := e.newMember(f.h, e.memberPhone, func(m *repository.Member) { m.DisplayName = "李娜 member-" + uuid.NewString() })
	secret := "肺癌晚期 details-" + uuid.NewString()
	c := e.newCase(f, withStatus(domain.StatusClosed), func(c *repository.Case) {
		c.Details = `{"matter_description":"` + secret + `"}`
		c.OutcomeSummary = "outcome-" + uuid.NewString()
	})
	note := "note-" + uuid.NewString()
	must(e.t, e.s.CreateNote(e.ctx, &repository.Note{ID: uuid.NewString(), CaseID: c.ID, Body: note, Author: "users/test"}), "CreateNote")
	contact := e.newContact(f.h, "2026-03-01", domain.ContactPhone)
	a := e.newAttachment(c)
	blobBytes := "blob-" + uuid.NewString()
	must(e.t, e.s.Blobs().Put(e.ctx, a.ID, strings.NewReader(blobBytes)), "Blobs.Put")

	needles := map[string]string{
		"servicemember ID number": f.h.ServicememberIDNumber, "servicemember name": f.h.ServicememberName,
		"household phone": f.h.Phone, "certificate": f.h.PreferentialCertificateNumber, "hardship note": f.h.HardshipNote,
		"member ID number": m.IDNumber, "member name": m.DisplayName, "member phone": m.Phone,
		"first member name": f.m.DisplayName, "first member ID number": f.m.IDNumber,
		"case details": secret, "outcome": c.OutcomeSummary, "note": note, "attachment bytes": blobBytes,
		"ID number index":        e.keys.Index(f.h.ServicememberIDNumber, "id_number"),
		"member ID number index": e.keys.Index(m.IDNumber, "id_number"),
	}
	// What is stored sealed is sought as stored, too.
	for _, r := range e.rawRows("SELECT servicemember_id_number, phone, preferential_certificate_number, name_birth_index, name_phone_index FROM households WHERE id = ?", f.h.ID) {
		for k, v := range r {
			needles["households."+k] = v
		}
	}
	for _, r := range e.rawRows("SELECT id, id_number, phone, name_birth_index FROM members WHERE household_id = ?", f.h.ID) {
		needles["members.id_number "+r["id"]], needles["members.phone "+r["id"]] = r["id_number"], r["phone"]
		needles["members.name_birth_index "+r["id"]] = r["name_birth_index"]
	}
	for _, r := range e.rawRows("SELECT raised_sealed, follow_ups_sealed FROM contacts WHERE id = ?", contact.ID) {
		needles["contacts.raised_sealed"], needles["contacts.follow_ups_sealed"] = r["raised_sealed"], r["follow_ups_sealed"]
	}
	for _, r := range e.rawRows("SELECT file_name, description FROM attachments WHERE id = ?", a.ID) {
		needles["attachments.file_name"], needles["attachments.description"] = r["file_name"], r["description"]
	}
	// The search must find, before the erasure, every needle that is kept
	// as it is (the sealed values are sought in their sealed form), or its
	// finding nothing afterwards would prove nothing.
	sealedAtRest := map[string]bool{"servicemember ID number": true, "household phone": true, "certificate": true,
		"member ID number": true, "member phone": true, "first member ID number": true}
	found := map[string]bool{}
	for _, l := range LeftIn(e.t, e.db, needles) {
		found[l[:strings.Index(l, " in ")]] = true
	}
	for what, v := range needles {
		if v != "" && !sealedAtRest[what] && !found[what] {
			e.t.Fatalf("before erasure the search did not find the %s", what)
		}
	}
	_, err := e.s.DeleteHousehold(e.ctx, f.h.ID, "")
	must(e.t, err, "DeleteHousehold")
	return f, c, needles
}

var retentionTests = []test{
	{"ErasesEveryTraceAndKeepsTheShell", func(t *testing.T, e *env) {
		live := e.newFamily(e.withPhone)
		f, c, needles := e.deletedFamily()
		deleted := e.nowStored()
		e.clock.Advance(time.Hour)

		ids, err := e.s.ErasableHouseholds(e.ctx, deleted, 10)
		must(t, err, "ErasableHouseholds")
		if len(ids) != 0 {
			t.Fatalf("a household deleted at the cutoff is erasable: %v", ids)
		}
		cutoff := deleted.Add(time.Second)
		ids, err = e.s.ErasableHouseholds(e.ctx, cutoff, 10)
		must(t, err, "ErasableHouseholds")
		if n, err := e.s.CountErasableHouseholds(e.ctx, cutoff); err != nil || n != 1 || len(ids) != 1 || ids[0] != f.h.ID {
			t.Fatalf("erasable %v, count %d (%v); want only %s", ids, n, err, f.h.ID)
		}
		head := e.eventHead()
		var dropped []string
		got, err := e.s.EraseHouseholds(e.ctx, ids, scrubToEmpty, func(_ context.Context, ids []string) error {
			dropped = ids
			return nil
		})
		must(t, err, "EraseHouseholds")
		if got.Households != 1 || got.Members != 2 || got.Cases != 1 || got.Notes != 1 || got.Attachments != 1 || got.LedgerRows != 1 {
			t.Errorf("erasure counted %+v", got)
		}
		if len(dropped) != 1 {
			t.Errorf("attachment bytes to drop: %v", dropped)
		}
		if left := LeftIn(t, e.db, needles); len(left) > 0 {
			t.Errorf("erased values left behind:\n%s", strings.Join(left, "\n"))
		}
		// The shell keeps what statistics and the audit trail read.
		h, err := e.s.GetHousehold(e.ctx, f.h.ID, true)
		must(t, err, "GetHousehold of the shell")
		if h.EraseTime == nil || h.DeleteTime == nil || h.TownCode != f.h.TownCode || h.Category != f.h.Category ||
			h.ServicememberName != "" || h.ServicememberIDNumber != "" || h.Phone != "" {
			t.Errorf("shell %+v", h)
		}
		stored, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase of the shell's case")
		if stored.Kind != c.Kind || stored.TownCode != c.TownCode || stored.Status != c.Status || stored.Details != "{}" || stored.OutcomeSummary != "" {
			t.Errorf("case shell %+v", stored)
		}
		// A deleted household's members are read from the table itself.
		var m repository.Member
		must(t, e.db.Where("id = ?", f.m.ID).Take(&m).Error, "reading the shell's member")
		if m.BirthDate.Year() != f.m.BirthDate.Year() || m.BirthDate.YearDay() != 1 {
			t.Errorf("member's birth date %v, want 1 January %d", m.BirthDate, f.m.BirthDate.Year())
		}
		// Every changed row is in the audit log and the feed, by name only.
		if n := e.eventHead() - head; n != 4 {
			t.Errorf("%d feed events for a household, two members and a case", n)
		}
		e.verified()
		// The live household is untouched.
		l, err := e.s.GetHousehold(e.ctx, live.h.ID, false)
		must(t, err, "GetHousehold live")
		if l.Phone != live.h.Phone || l.ServicememberIDNumber != live.h.ServicememberIDNumber || l.EraseTime != nil {
			t.Errorf("live household changed: %+v", l)
		}
		// A second erasure finds nothing: idempotent.
		ids, err = e.s.ErasableHouseholds(e.ctx, cutoff, 10)
		must(t, err, "ErasableHouseholds again")
		again, err := e.s.EraseHouseholds(e.ctx, []string{f.h.ID}, scrubToEmpty, nil)
		must(t, err, "EraseHouseholds again")
		if len(ids) != 0 || again.Households != 0 || again.Cases != 0 {
			t.Errorf("second pass: erasable %v, erased %+v", ids, again)
		}
		_, err = e.s.UndeleteHousehold(e.ctx, f.h.ID, "")
		wantPrecondition(t, err, "HOUSEHOLD_ERASED", "UndeleteHousehold of an erased shell")
	}},
	{"ErasesClosedComplaints", func(t *testing.T, e *env) {
		o := e.newOrganization(creditCodes[0], day(2040, 1, 1))
		m := e.newMeasure(o)
		_, err := e.moveMeasure(e.ctx, m, domain.MeasureApprove)
		must(t, err, "approve")
		complain := func() *repository.Complaint {
			c := &repository.Complaint{ID: uuid.NewString(), OrganizationID: o.ID, MeasureID: m.ID,
				ComplainantName: "投诉人" + uuid.NewString()[:8], ComplainantPhone: e.phone(), Description: "拒绝优惠 " + uuid.NewString()}
			e.clock.Advance(e.step)
			must(t, e.s.CreateComplaint(e.ctx, c), "CreateComplaint")
			return c
		}
		closeAs := func(c *repository.Complaint, state domain.ComplaintState) {
			e.clock.Advance(e.step)
			_, err := e.s.MutateComplaint(e.ctx, names.Complaint{OrganizationID: o.ID, MeasureID: m.ID, ID: c.ID}, "",
				func(_ context.Context, row *repository.Complaint) error {
					row.State, row.Resolution = state, "处理结果 "+uuid.NewString()
					c.Resolution = row.Resolution
					return nil
				})
			must(t, err, "close the complaint")
		}
		old, open, recent := complain(), complain(), complain()
		closeAs(old, domain.ComplaintUpheld)
		e.clock.Advance(4 * 365 * domain.Day)
		closeAs(recent, domain.ComplaintDismissed)
		cutoff := e.clock.Now().Add(-3 * 365 * domain.Day)

		ids, err := e.s.ErasableComplaints(e.ctx, cutoff, 10)
		must(t, err, "ErasableComplaints")
		if n, _ := e.s.CountErasableComplaints(e.ctx, cutoff); len(ids) != 1 || ids[0] != old.ID || n != 1 {
			t.Fatalf("erasable %v (count %d), want the one closed four years ago", ids, n)
		}
		var raw struct{ ComplainantPhone, DescriptionSealed, ResolutionSealed string }
		must(t, e.db.Table("complaints").Select("complainant_phone, description_sealed, resolution_sealed").
			Where("id = ?", old.ID).Take(&raw).Error, "raw")
		needles := map[string]string{"name": old.ComplainantName, "phone": old.ComplainantPhone, "description": old.Description,
			"resolution": old.Resolution, "sealed phone": raw.ComplainantPhone, "sealed description": raw.DescriptionSealed,
			"sealed resolution": raw.ResolutionSealed}
		head := e.eventHead()
		// As for households, the caller picks what is due; the store passes
		// by what is not closed.
		n, err := e.s.EraseComplaints(e.ctx, []string{old.ID, open.ID})
		must(t, err, "EraseComplaints")
		if n != 1 {
			t.Fatalf("erased %d complaints, want 1: an open complaint is never erased", n)
		}
		if left := LeftIn(t, e.db, needles); len(left) > 0 {
			t.Errorf("erased values left behind:\n%s", strings.Join(left, "\n"))
		}
		shell, err := e.s.GetComplaint(e.ctx, names.Complaint{OrganizationID: o.ID, MeasureID: m.ID, ID: old.ID})
		must(t, err, "GetComplaint")
		if shell.EraseTime == nil || shell.State != domain.ComplaintUpheld || shell.ComplainantName != "" || shell.Description != "" {
			t.Errorf("the shell: %+v", shell)
		}
		for _, c := range []*repository.Complaint{open, recent} {
			got, err := e.s.GetComplaint(e.ctx, names.Complaint{OrganizationID: o.ID, MeasureID: m.ID, ID: c.ID})
			must(t, err, "GetComplaint")
			if got.EraseTime != nil || got.ComplainantName != c.ComplainantName || got.Description != c.Description {
				t.Errorf("a complaint not due was erased: %+v", got)
			}
		}
		if e.eventHead() != head+1 {
			t.Errorf("feed events: head %d → %d, want one for the erased complaint", head, e.eventHead())
		}
		if _, err := e.s.VerifyAudit(e.ctx); err != nil {
			t.Errorf("audit chain after the erasure: %v", err)
		}
		if n, err := e.s.EraseComplaints(e.ctx, []string{old.ID}); err != nil || n != 0 {
			t.Errorf("a second erasure: %d, %v", n, err)
		}
	}},
	{"LiveHouseholdsAreNeverErased", func(t *testing.T, e *env) {
		f := e.newFamily(e.withPhone)
		e.clock.Advance(24 * time.Hour)
		got, err := e.s.EraseHouseholds(e.ctx, []string{f.h.ID}, scrubToEmpty, nil)
		must(t, err, "EraseHouseholds of a live household")
		h, _ := e.s.GetHousehold(e.ctx, f.h.ID, false)
		if got.Households != 0 || h == nil || h.Phone != f.h.Phone {
			t.Errorf("a live household was erased: %+v", got)
		}
	}},
	{"FailedBlobDeletionRollsBack", func(t *testing.T, e *env) {
		f, _, needles := e.deletedFamily()
		e.clock.Advance(time.Hour)
		_, err := e.s.EraseHouseholds(e.ctx, []string{f.h.ID}, scrubToEmpty, func(context.Context, []string) error {
			return fmt.Errorf("store down")
		})
		if err == nil {
			t.Fatal("an erasure whose bytes could not be deleted committed")
		}
		if left := LeftIn(t, e.db, map[string]string{"name": needles["servicemember name"]}); len(left) != 1 {
			t.Errorf("after a failed erasure the name is in %v, want only households", left)
		}
		if ids, _ := e.s.ErasableHouseholds(e.ctx, e.nowStored(), 10); len(ids) != 1 {
			t.Errorf("the household is no longer erasable after a failed erasure: %v", ids)
		}
	}},
	{"ErasesMembersDeletedOnTheirOwn", func(t *testing.T, e *env) {
		f := e.newFamily(e.withPhone)
		m := e.newMember(f.h, e.memberPhone, func(m *repository.Member) { m.DisplayName = "孙丽 member-" + uuid.NewString() })
		secret := "抑郁症 details-" + uuid.NewString()
		c := e.newCase(family{h: f.h, m: m}, withStatus(domain.StatusClosed), func(c *repository.Case) {
			c.Details = `{"need_description":"` + secret + `"}`
		})
		var sealedID string
		must(t, e.db.Table("members").Select("id_number").Where("id = ?", m.ID).Row().Scan(&sealedID), "raw member")
		must(t, e.s.DeleteMember(e.ctx, f.h.ID, m.ID, ""), "DeleteMember")
		deleted := e.nowStored()
		// A member of a deleted household is erased with it, not alone.
		gone := e.newFamily()
		_, err := e.s.DeleteHousehold(e.ctx, gone.h.ID, "")
		must(t, err, "DeleteHousehold")
		e.clock.Advance(time.Hour)

		cutoff := e.nowStored()
		ids, err := e.s.ErasableMembers(e.ctx, cutoff, 10)
		must(t, err, "ErasableMembers")
		if n, err := e.s.CountErasableMembers(e.ctx, cutoff); err != nil || n != 1 || len(ids) != 1 || ids[0] != m.ID {
			t.Fatalf("erasable members %v, count %d (%v); want only %s", ids, n, err, m.ID)
		}
		if ids, _ := e.s.ErasableMembers(e.ctx, deleted, 10); len(ids) != 0 {
			t.Fatalf("a member deleted at the cutoff is erasable: %v", ids)
		}
		got, err := e.s.EraseMembers(e.ctx, ids, scrubToEmpty, nil)
		must(t, err, "EraseMembers")
		if got.Members != 1 || got.Cases != 1 || got.Households != 0 {
			t.Errorf("erasure counted %+v", got)
		}
		needles := map[string]string{"name": m.DisplayName, "ID number": m.IDNumber, "sealed ID number": sealedID,
			"index": e.keys.Index(m.IDNumber, "id_number"), "details": secret}
		if left := LeftIn(t, e.db, needles); len(left) > 0 {
			t.Errorf("erased values left behind:\n%s", strings.Join(left, "\n"))
		}
		// The household and its other member live on, whole.
		h, err := e.s.GetHousehold(e.ctx, f.h.ID, false)
		must(t, err, "GetHousehold")
		other, err := e.s.GetMember(e.ctx, f.h.ID, f.m.ID)
		must(t, err, "GetMember")
		if h.Phone != f.h.Phone || h.ServicememberName != f.h.ServicememberName || other.IDNumber != f.m.IDNumber {
			t.Errorf("the living household was touched: %+v %+v", h, other)
		}
		stored, err := e.s.GetCase(e.ctx, c.ID)
		must(t, err, "GetCase")
		if stored.Details != "{}" || stored.Kind != c.Kind {
			t.Errorf("the member's case %+v", stored)
		}
		e.verified()
		if ids, _ := e.s.ErasableMembers(e.ctx, cutoff, 10); len(ids) != 0 {
			t.Errorf("erasable after erasure: %v", ids)
		}
		// Erasing the household later skips the member erased before.
		_, err = e.s.DeleteHousehold(e.ctx, f.h.ID, "")
		must(t, err, "DeleteHousehold")
		whole, err := e.s.EraseHouseholds(e.ctx, []string{f.h.ID}, scrubToEmpty, nil)
		must(t, err, "EraseHouseholds")
		if whole.Households != 1 || whole.Members != 1 {
			t.Errorf("household erasure after a member's counted %+v", whole)
		}
	}},
}
