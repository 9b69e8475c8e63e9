package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// sealedColumns are the columns holding sealed values, by table, and
// indexColumn the blind index of each table's ID number.
var (
	sealedColumns = map[string][]string{
		"households": {"servicemember_id_number", "phone", "preferential_certificate_number", "transfer_reason"},
		"members":    {"id_number", "phone"},
	}
	indexColumn = map[string]string{"households": "servicemember_id_index", "members": "id_number_index"}
	idColumn    = map[string]string{"households": "servicemember_id_number", "members": "id_number"}
)

// rawTable reads every row of a sealed table as stored, by id.
func (e *env) rawTable(table string) map[string]map[string]string {
	e.t.Helper()
	out := map[string]map[string]string{}
	for _, r := range e.rawRows("SELECT * FROM " + table) {
		out[r["id"]] = r
	}
	return out
}

// checkAtRest fails unless, in both sealed tables, no column of any row
// holds any of the plaintexts, every non-empty sealed value is sealed under
// key, and every ID number has its blind index. It returns how many sealed
// values it checked.
func (e *env) checkAtRest(plaintexts []string, key string) int {
	e.t.Helper()
	checked := 0
	for _, table := range []string{"households", "members"} {
		for id, row := range e.rawTable(table) {
			for col, v := range row {
				for _, p := range plaintexts {
					if p != "" && strings.Contains(v, p) {
						e.t.Fatalf("%s %s: column %s holds a plaintext ID or phone number", table, id, col)
					}
				}
			}
			for _, col := range sealedColumns[table] {
				v := row[col]
				if v == "" {
					continue
				}
				checked++
				if !strings.HasPrefix(v, "sealed:v1:") {
					e.t.Fatalf("%s %s: column %s is not a sealed:v1: value", table, id, col)
				}
				if k, ok := sealed.KeyID(v); !ok || k != key {
					e.t.Fatalf("%s %s: column %s sealed under key %q, want %q", table, id, col, k, key)
				}
			}
			if idx := row[indexColumn[table]]; (row[idColumn[table]] != "") != (idx != "") {
				e.t.Fatalf("%s %s: ID number present %v but blind index present %v", table, id, row[idColumn[table]] != "", idx != "")
			}
		}
	}
	return checked
}

// sensitiveFixtures creates n households with a phone, a certificate
// number and a pending transfer's reason, each with a member with a phone,
// and returns them with every ID, phone and certificate number and reason
// they hold.
func (e *env) sensitiveFixtures(n int) ([]*repository.Household, []*repository.Member, []string) {
	e.t.Helper()
	var (
		hs      []*repository.Household
		ms      []*repository.Member
		secrets []string
	)
	for range n {
		h := e.newHousehold(e.withPhone, e.withCertificate, e.inTransfer)
		m := e.newMember(h, e.memberPhone)
		hs, ms = append(hs, h), append(ms, m)
		secrets = append(secrets, h.ServicememberIDNumber, h.Phone, h.PreferentialCertificateNumber, h.TransferReason, m.IDNumber, m.Phone)
	}
	return hs, ms, secrets
}

var sealingTests = []test{
	{"NoPlaintextAtRest", func(t *testing.T, e *env) {
		hs, ms, secrets := e.sensitiveFixtures(3)
		// Optional fields stay empty rather than sealing "".
		bare := e.newMember(hs[0], func(m *repository.Member) { m.IDNumber = "" })

		rows := e.rawRows("SELECT id, servicemember_id_number, phone, preferential_certificate_number, servicemember_id_index FROM households")
		if len(rows) != len(hs) {
			t.Fatalf("%d raw households, want %d", len(rows), len(hs))
		}
		for _, r := range rows {
			for _, col := range []string{"servicemember_id_number", "phone", "preferential_certificate_number"} {
				if !strings.HasPrefix(r[col], "sealed:v1:") {
					t.Fatalf("household %s: %s not sealed at rest", r["id"], col)
				}
			}
			if len(r["servicemember_id_index"]) < 32 {
				t.Fatalf("household %s: blind index %q is missing or short", r["id"], r["servicemember_id_index"])
			}
		}
		if n := e.checkAtRest(secrets, e.keys.ActiveKeyID()); n != 6*len(hs) {
			t.Fatalf("%d sealed values at rest, want %d", n, 6*len(hs))
		}
		raw := e.rawTable("members")[bare.ID]
		if raw["id_number"] != "" || raw["phone"] != "" || raw["id_number_index"] != "" {
			t.Fatalf("member without ID or phone number: stored %q, %q, index %q; want all empty", raw["id_number"], raw["phone"], raw["id_number_index"])
		}

		// Sealing is randomised: one number sealed twice reads differently,
		// so equal values cannot be spotted in a dump.
		twin := e.newHousehold(func(h *repository.Household) { h.Phone = hs[0].Phone })
		households := e.rawTable("households")
		if households[twin.ID]["phone"] == households[hs[0].ID]["phone"] {
			t.Fatal("the same phone number sealed twice gives the same stored value")
		}

		// Updates seal the new values too, and reads open them.
		newID, newPhone := e.idNumber(), e.phone()
		_, err := e.s.UpdateHousehold(e.ctx, hs[1].ID, "", func(_ context.Context, h *repository.Household) error {
			h.ServicememberIDNumber, h.Phone = newID, newPhone
			return nil
		})
		must(t, err, "UpdateHousehold")
		newMemberPhone := e.phone()
		_, err = e.s.UpdateMember(e.ctx, ms[1].HouseholdID, ms[1].ID, "", func(_ context.Context, m *repository.Member) error {
			m.Phone = newMemberPhone
			return nil
		})
		must(t, err, "UpdateMember")
		e.checkAtRest(append(secrets, newID, newPhone, newMemberPhone), e.keys.ActiveKeyID())
		got, err := e.s.GetHousehold(e.ctx, hs[1].ID, false)
		must(t, err, "GetHousehold")
		if got.ServicememberIDNumber != newID || got.Phone != newPhone || got.PreferentialCertificateNumber != hs[1].PreferentialCertificateNumber {
			t.Fatal("GetHousehold does not return the updated plaintext")
		}
		gotM, err := e.s.GetMember(e.ctx, ms[1].HouseholdID, ms[1].ID)
		must(t, err, "GetMember")
		if gotM.Phone != newMemberPhone || gotM.IDNumber != ms[1].IDNumber {
			t.Fatal("GetMember does not return the plaintext")
		}
		listed := e.allHouseholds(repository.HouseholdQuery{})
		for _, h := range listed {
			if strings.HasPrefix(h.ServicememberIDNumber, "sealed:") || strings.HasPrefix(h.Phone, "sealed:") ||
				strings.HasPrefix(h.PreferentialCertificateNumber, "sealed:") {
				t.Fatalf("ListHouseholds returned sealed values for %s", h.ID)
			}
		}

		// A sealed value is bound to its column: copied into another, it
		// does not open, and the error carries no plaintext.
		must(t, e.db.Exec("UPDATE households SET phone = servicemember_id_number WHERE id = ?", hs[2].ID).Error, "swap columns")
		_, err = e.s.GetHousehold(e.ctx, hs[2].ID, false)
		if err == nil {
			t.Fatal("GetHousehold opened an ID number copied into the phone column")
		}
		if strings.Contains(err.Error(), hs[2].ServicememberIDNumber) {
			t.Fatal("the error names the plaintext ID number")
		}
		// The certificate number has its own context too.
		must(t, e.db.Exec("UPDATE households SET preferential_certificate_number = phone WHERE id = ?", hs[0].ID).Error, "swap columns")
		if _, err := e.s.GetHousehold(e.ctx, hs[0].ID, false); err == nil {
			t.Fatal("GetHousehold opened a phone number copied into the certificate column")
		}
	}},
	{"LookupAndUniquenessThroughIndex", func(t *testing.T, e *env) {
		hs, ms, _ := e.sensitiveFixtures(2)
		for i, h := range hs {
			for _, n := range []string{h.ServicememberIDNumber, ms[i].IDNumber} {
				got, err := e.s.LookupHousehold(e.ctx, n)
				must(t, err, "LookupHousehold")
				if got.ID != h.ID || got.ServicememberIDNumber != h.ServicememberIDNumber || got.Phone != h.Phone {
					t.Fatalf("LookupHousehold found %s, want %s with its plaintext", got.ID, h.ID)
				}
			}
		}
		for _, n := range []string{e.idNumber(), "", hs[0].Phone} {
			_, err := e.s.LookupHousehold(e.ctx, n)
			wantErr(t, err, repository.ErrNotFound, "LookupHousehold of an unknown number")
		}
		dup := &repository.Household{ID: uuid.NewString(), ServicememberName: "Test dup", ServicememberIDNumber: hs[0].ServicememberIDNumber,
			PostType: domain.PostRegular, Category: domain.CategoryVeteran, TownCode: townB}
		wantErr(t, e.s.CreateHousehold(e.ctx, dup), repository.ErrAlreadyExists, "second household for a sealed servicemember ID")
		dupM := &repository.Member{ID: uuid.NewString(), HouseholdID: hs[0].ID, Relation: domain.RelationChild,
			DisplayName: "Test dup", IDNumber: ms[0].IDNumber}
		wantErr(t, e.s.CreateMember(e.ctx, dupM), repository.ErrAlreadyExists, "second member with a sealed ID number")
		_, err := e.s.UpdateMember(e.ctx, hs[1].ID, ms[1].ID, "", func(_ context.Context, m *repository.Member) error {
			m.IDNumber = hs[1].ServicememberIDNumber // the member's own household may hold it
			return nil
		})
		must(t, err, "UpdateMember")
		e.newMember(hs[1], func(m *repository.Member) { m.IDNumber = ms[1].IDNumber })
		_, err = e.s.UpdateMember(e.ctx, hs[1].ID, ms[1].ID, "", func(_ context.Context, m *repository.Member) error {
			m.IDNumber = ms[1].IDNumber
			return nil
		})
		wantErr(t, err, repository.ErrAlreadyExists, "UpdateMember onto another live member's number")
		if got, err := e.s.LookupHousehold(e.ctx, ms[1].IDNumber); err != nil || got.ID != hs[1].ID {
			t.Fatalf("LookupHousehold after the number moved: %v, %v", got, err)
		}
	}},
}

var rotationTests = []test{
	{"ResealUnderNewKey", func(t *testing.T, e *env) {
		hs, ms, secrets := e.sensitiveFixtures(5)
		before := map[string]map[string]map[string]string{"households": e.rawTable("households"), "members": e.rawTable("members")}
		old := e.keys.ActiveKeyID()
		rotated, err := e.keys.Rotate()
		must(t, err, "Rotate")
		if rotated == old || e.keys.ActiveKeyID() != rotated {
			t.Fatalf("Rotate made %q active, was %q", e.keys.ActiveKeyID(), old)
		}
		// Rows under the old key still read before they are resealed.
		if got, err := e.s.GetHousehold(e.ctx, hs[0].ID, false); err != nil || got.Phone != hs[0].Phone {
			t.Fatalf("GetHousehold under the old key: %v", err)
		}
		e.clock.Advance(time.Hour)

		var progress []repository.ResealProgress
		n, err := e.s.Reseal(e.ctx, 2, func(p repository.ResealProgress) { progress = append(progress, p) })
		must(t, err, "Reseal")
		if n != 10 {
			t.Fatalf("Reseal re-encrypted %d rows, want 10", n)
		}
		want := []repository.ResealProgress{progressAt("households", 2), progressAt("households", 4), progressAt("households", 5), progressAt("members", 2), progressAt("members", 4), progressAt("members", 5)}
		if !slices.Equal(progress, want) {
			t.Fatalf("progress %v, want %v", progress, want)
		}
		if got := e.checkAtRest(secrets, rotated); got != 30 {
			t.Fatalf("%d sealed values under the new key, want 30", got)
		}
		for table, rows := range before {
			after := e.rawTable(table)
			for id, row := range rows {
				for _, col := range sealedColumns[table] {
					if after[id][col] == row[col] {
						t.Fatalf("%s %s: %s not re-encrypted", table, id, col)
					}
				}
				if after[id][indexColumn[table]] != row[indexColumn[table]] {
					t.Fatalf("%s %s: the blind index changed on rotation", table, id)
				}
			}
		}
		// Same plaintext, same revision and update time: etags stay valid.
		for i, h := range hs {
			got, err := e.s.GetHousehold(e.ctx, h.ID, false)
			must(t, err, "GetHousehold")
			w := *h
			w.MemberCount = 1
			sameRow(t, got, &w, "household after reseal")
			gotM, err := e.s.GetMember(e.ctx, h.ID, ms[i].ID)
			must(t, err, "GetMember")
			sameRow(t, gotM, ms[i], "member after reseal")
		}
		if got, err := e.s.LookupHousehold(e.ctx, ms[4].IDNumber); err != nil || got.ID != hs[4].ID {
			t.Fatalf("LookupHousehold after reseal: %v, %v", got, err)
		}

		progress = nil
		n, err = e.s.Reseal(e.ctx, 2, func(p repository.ResealProgress) { progress = append(progress, p) })
		must(t, err, "second Reseal")
		if n != 0 || len(progress) != 0 {
			t.Fatalf("second Reseal re-encrypted %d rows (progress %v), want 0", n, progress)
		}
	}},
	{"ConcurrentReseals", func(t *testing.T, e *env) {
		// Replicas started together after a rotation each reseal the same
		// stale rows at once: every pass must succeed (on PostgreSQL they
		// once deadlocked, failing a replica's start), and together they
		// reseal each row once.
		_, _, secrets := e.sensitiveFixtures(30)
		rotated, err := e.keys.Rotate()
		must(t, err, "Rotate")
		var (
			wg    sync.WaitGroup
			total atomic.Int64
			errs  = make([]error, 3)
		)
		for i := range errs {
			wg.Go(func() {
				n, err := e.s.Reseal(e.ctx, 2, nil)
				total.Add(int64(n))
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			must(t, err, "Reseal %d", i)
		}
		if total.Load() != 60 {
			t.Errorf("the passes resealed %d rows between them, want each of the 60 once", total.Load())
		}
		if got := e.checkAtRest(secrets, rotated); got != len(secrets) {
			t.Fatalf("%d sealed values under the new key, want %d", got, len(secrets))
		}
	}},
	{"RotationDuringReseal", func(t *testing.T, e *env) {
		_, _, secrets := e.sensitiveFixtures(5)
		_, err := e.keys.Rotate()
		must(t, err, "Rotate")
		// A keyring that reloads (sealed.Watch) may take up another
		// rotation while a reseal runs; the run must still end, with every
		// value under the key active at its end.
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		calls := 0
		n, err := e.s.Reseal(ctx, 2, func(repository.ResealProgress) {
			calls++
			if calls == 1 {
				_, err := e.keys.Rotate()
				must(t, err, "Rotate during Reseal")
			}
			if calls > 50 {
				cancel() // a run that never ends
			}
		})
		must(t, err, "Reseal across a rotation")
		if n < 10 {
			t.Fatalf("Reseal re-encrypted %d rows, want at least the 10 there are", n)
		}
		e.checkAtRest(secrets, e.keys.ActiveKeyID())
		n, err = e.s.Reseal(e.ctx, 2, nil)
		must(t, err, "second Reseal")
		if n != 0 {
			t.Fatalf("second Reseal re-encrypted %d rows, want 0", n)
		}
	}},
	{"ResealsLegacyPlaintext", func(t *testing.T, e *env) {
		sealedH := e.newHousehold(e.withPhone)
		now := e.nowStored()
		var (
			legacy  []*repository.Household
			members []*repository.Member
			secrets = []string{sealedH.ServicememberIDNumber, sealedH.Phone}
		)
		for range 3 {
			h := &repository.Household{ID: uuid.NewString(), ServicememberName: "Test legacy", ServicememberIDNumber: e.idNumber(),
				Phone: e.phone(), PreferentialCertificateNumber: e.certificate(), PostType: domain.PostRegular,
				Category: domain.CategoryVeteran, ServicememberStatus: domain.ServiceVeteran, TownCode: townA,
				Revision: 1, CreateTime: now, UpdateTime: now}
			must(t, e.db.Omit("MemberCount").Create(h).Error, "insert a legacy household")
			m := &repository.Member{ID: uuid.NewString(), HouseholdID: h.ID, Relation: domain.RelationSpouse,
				DisplayName: "Test legacy", IDNumber: e.idNumber(), Phone: e.phone(), BirthDate: now, Revision: 1,
				CreateTime: now, UpdateTime: now}
			must(t, e.db.Create(m).Error, "insert a legacy member")
			legacy, members = append(legacy, h), append(members, m)
			secrets = append(secrets, h.ServicememberIDNumber, h.Phone, h.PreferentialCertificateNumber, m.IDNumber, m.Phone)
		}
		rawLegacy := e.rawTable("households")[legacy[0].ID]
		if rawLegacy["servicemember_id_number"] != legacy[0].ServicememberIDNumber || rawLegacy["servicemember_id_index"] != "" {
			t.Fatal("the legacy row was not stored as plaintext without an index")
		}
		// Plaintext rows read as they are until resealed.
		if got, err := e.s.GetHousehold(e.ctx, legacy[0].ID, false); err != nil || got.Phone != legacy[0].Phone {
			t.Fatalf("GetHousehold of a legacy row: %v", err)
		}
		sealedBefore := e.rawTable("households")[sealedH.ID]

		var progress []repository.ResealProgress
		n, err := e.s.Reseal(e.ctx, 2, func(p repository.ResealProgress) { progress = append(progress, p) })
		must(t, err, "Reseal")
		if n != 6 {
			t.Fatalf("Reseal re-encrypted %d rows, want the 6 legacy rows", n)
		}
		want := []repository.ResealProgress{progressAt("households", 2), progressAt("households", 3), progressAt("members", 2), progressAt("members", 3)}
		if !slices.Equal(progress, want) {
			t.Fatalf("progress %v, want %v", progress, want)
		}
		if got := e.checkAtRest(secrets, e.keys.ActiveKeyID()); got != 2+5*len(legacy) {
			t.Fatalf("%d sealed values, want %d", got, 2+5*len(legacy))
		}
		if after := e.rawTable("households")[sealedH.ID]; after["servicemember_id_number"] != sealedBefore["servicemember_id_number"] ||
			after["phone"] != sealedBefore["phone"] {
			t.Fatal("Reseal rewrote a row already under the active key")
		}
		for i, h := range legacy {
			for _, n := range []string{h.ServicememberIDNumber, members[i].IDNumber} {
				got, err := e.s.LookupHousehold(e.ctx, n)
				if err != nil || got.ID != h.ID {
					t.Fatalf("LookupHousehold of a resealed legacy number: %v, %v", got, err)
				}
			}
			got, err := e.s.GetHousehold(e.ctx, h.ID, false)
			must(t, err, "GetHousehold")
			if got.ServicememberIDNumber != h.ServicememberIDNumber || got.Phone != h.Phone ||
				got.PreferentialCertificateNumber != h.PreferentialCertificateNumber || got.Revision != 1 || !got.UpdateTime.Equal(now) {
				t.Fatalf("legacy household after reseal: revision %d, update %v; want the same plaintext, revision 1 and %v", got.Revision, got.UpdateTime, now)
			}
			gotM, err := e.s.GetMember(e.ctx, h.ID, members[i].ID)
			must(t, err, "GetMember")
			if gotM.IDNumber != members[i].IDNumber || gotM.Phone != members[i].Phone || gotM.Revision != 1 {
				t.Fatal("legacy member after reseal: plaintext or revision changed")
			}
		}
		dup := &repository.Household{ID: uuid.NewString(), ServicememberName: "Test dup", ServicememberIDNumber: legacy[0].ServicememberIDNumber,
			PostType: domain.PostRegular, Category: domain.CategoryVeteran, TownCode: townA}
		wantErr(t, e.s.CreateHousehold(e.ctx, dup), repository.ErrAlreadyExists, "household for a resealed legacy servicemember")

		n, err = e.s.Reseal(e.ctx, 2, nil)
		must(t, err, "second Reseal")
		if n != 0 {
			t.Fatalf("second Reseal re-encrypted %d rows, want 0", n)
		}
	}},
}

func progressAt(table string, done int) repository.ResealProgress {
	return repository.ResealProgress{Table: table, Done: done}
}
