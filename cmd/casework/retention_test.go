package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/repository/storetest"
)

// TestRetentionRun runs `casework retention run` on each database, with a
// household deleted six years ago: the dry run changes nothing, the run
// erases every trace of its people (each table and column searched for the
// values, their sealed forms and blind indexes, and the attachment
// directory for the file's bytes), writes one audit entry, leaves a chain
// that verifies, and a second run does nothing.
func TestRetentionRun(t *testing.T) {
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			dir := t.TempDir()
			keyring := filepath.Join(dir, "keyring.json")
			args := []string{"--data-dir", dir, "--keyring", keyring}
			if dialect == repository.Postgres {
				args = append(args, "--database-url", testdb.EmptyPostgres(t))
			} else {
				args = append(args, "--database-url", "sqlite:"+filepath.Join(dir, "casework.db"))
			}
			with := func(cmd ...string) []string { return append(cmd, args...) }
			run(t, with("migrate")...)
			keys, err := sealed.Load(keyring)
			if err != nil {
				t.Fatal(err)
			}
			db, d, err := repository.Open(context.Background(), args[len(args)-1], dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeDB(db) })
			store := repository.New(db, d, keys)
			ctx := repository.WithScope(context.Background(), principal.Scope{All: true})

			id := idnumber.Make("500230", time.Date(1988, 6, 3, 0, 0, 0, 0, time.UTC), 7)
			spouseID := idnumber.Make("500230", time.Date(1990, 2, 14, 0, 0, 0, 0, time.UTC), 8)
			h := &repository.Household{ID: uuid.NewString(), ServicememberName: "王刚", ServicememberIDNumber: id,
				TownCode: "500230101", PostType: domain.PostRegular, Category: domain.CategoryActiveDutyFamily,
				ServicememberStatus: domain.ServiceStatus("ACTIVE_NCO"), Phone: "13912345678", Address: "丰都县三合街道某路1号"}
			must(t, store.CreateHousehold(ctx, h))
			m := &repository.Member{ID: uuid.NewString(), HouseholdID: h.ID, Relation: domain.RelationSpouse,
				DisplayName: "赵敏", IDNumber: spouseID, BirthDate: time.Date(1990, 2, 14, 0, 0, 0, 0, time.UTC), Phone: "13700001111"}
			must(t, store.CreateMember(ctx, m))
			matter := "工伤赔偿纠纷 " + uuid.NewString()
			c := &repository.Case{ID: uuid.NewString(), HouseholdID: h.ID, SubjectID: m.ID, Kind: domain.KindLegalAid,
				Details: `{"matter_category":"LEGAL_MATTER_CATEGORY_LABOUR","matter_description":"` + matter + `","counterparty":"某建筑公司"}`,
				Status:  domain.StatusClosed, TownCode: h.TownCode, Priority: domain.PriorityNormal, Creator: "users/test"}
			must(t, store.CreateCase(ctx, c, &repository.HistoryEntry{Actor: "users/test", Method: "CreateCase", ToStatus: c.Status}))
			note := "家属称其患有抑郁症 " + uuid.NewString()
			must(t, store.CreateNote(ctx, &repository.Note{ID: uuid.NewString(), CaseID: c.ID, Body: note, Author: "users/test"}))
			a := &repository.Attachment{ID: uuid.NewString(), CaseID: c.ID, FileName: "赵敏 诊断书.pdf", DeclaredContentType: "application/pdf",
				ContentType: "application/pdf", SizeBytes: 10, Sha256: strings.Repeat("cd", 32), Kind: "HOSPITAL_RECORD", Uploader: "users/test"}
			must(t, store.CreateAttachment(ctx, a, nil))
			files, err := blob.NewDir(filepath.Join(dir, "attachments"))
			must(t, err)
			fileBytes := "file-" + uuid.NewString()
			must(t, files.Put(ctx, a.ID, strings.NewReader(fileBytes)))
			_, err = store.DeleteHousehold(ctx, h.ID, "")
			must(t, err)
			if err := db.Exec("UPDATE households SET delete_time = ? WHERE id = ?", time.Now().AddDate(-6, 0, 0).UTC(), h.ID).Error; err != nil {
				t.Fatal(err)
			}

			needles := map[string]string{"ID number": id, "spouse ID number": spouseID, "name": h.ServicememberName,
				"spouse name": m.DisplayName, "phone": h.Phone, "address": h.Address, "matter": matter, "note": note,
				"ID number index": keys.Index(id, "id_number"), "spouse ID number index": keys.Index(spouseID, "id_number")}
			var raw struct{ ServicememberIDNumber, Phone string }
			must(t, db.Table("households").Select("servicemember_id_number, phone").Where("id = ?", h.ID).Take(&raw).Error)
			needles["sealed ID number"], needles["sealed phone"] = raw.ServicememberIDNumber, raw.Phone
			var sealedName string
			must(t, db.Table("attachments").Select("file_name").Where("id = ?", a.ID).Row().Scan(&sealedName))
			needles["sealed file name"] = sealedName

			out := run(t, with("retention", "run", "--dry-run")...)
			if !strings.Contains(out, "deleted_households: 1 households and 0 members deleted before") || !strings.Contains(out, "dry run: nothing changed") {
				t.Fatalf("dry run printed %q", out)
			}
			if left := storetest.LeftIn(t, db, map[string]string{"name": h.ServicememberName, "sealed ID number": raw.ServicememberIDNumber}); len(left) != 2 {
				t.Fatalf("the dry run changed the household: %v", left)
			}
			if n := retentionEntries(t, store); n != 0 {
				t.Fatalf("a dry run wrote %d audit entries", n)
			}

			out = run(t, with("retention", "run")...)
			if !strings.Contains(out, "erased 1 households, 1 members, 1 cases, 1 notes, 1 attachments") {
				t.Fatalf("retention run printed %q", out)
			}
			for _, v := range needles {
				if strings.Contains(out, v) {
					t.Fatalf("the report holds personal data: %q", out)
				}
			}
			if left := storetest.LeftIn(t, db, needles); len(left) > 0 {
				t.Errorf("erased values left behind:\n%s", strings.Join(left, "\n"))
			}
			if _, err := files.Get(ctx, a.ID); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("the attachment's bytes are still in the store: %v", err)
			}
			filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error { //nolint:errcheck // a walk error fails below
				if err == nil && !e.IsDir() {
					if b, _ := os.ReadFile(path); strings.Contains(string(b), fileBytes) {
						t.Errorf("the attachment's bytes are left in %s", path)
					}
				}
				return nil
			})
			if n := retentionEntries(t, store); n != 1 {
				t.Errorf("%d retention audit entries after a run, want 1", n)
			}
			if got := run(t, with("audit", "verify")...); !strings.Contains(got, "audit chain intact") {
				t.Errorf("audit verify after erasure: %q", got)
			}
			shell, err := store.GetHousehold(ctx, h.ID, true)
			must(t, err)
			if shell.EraseTime == nil || shell.TownCode != h.TownCode || shell.Category != h.Category {
				t.Errorf("the shell lost what statistics read: %+v", shell)
			}

			out = run(t, with("retention", "run")...)
			if !strings.Contains(out, "0 households and 0 members deleted before") || !strings.Contains(out, "erased 0 households") {
				t.Errorf("second run printed %q", out)
			}
			if n := retentionEntries(t, store); n != 1 {
				t.Errorf("a run with nothing to do wrote an audit entry (%d)", n)
			}
		})
	}
}

func retentionEntries(t *testing.T, store *repository.Store) int {
	t.Helper()
	var n int
	f, err := filter.Parse(`action = "retention"`, repository.AuditFilter)
	must(t, err)
	rows, _, err := store.ListAuditLogs(repository.WithScope(context.Background(), principal.Scope{All: true}),
		f, repository.Page{Size: 100})
	must(t, err)
	for _, r := range rows {
		if r.Resource == "retention/deleted_households" && strings.HasPrefix(r.Principal, "cli:") && strings.Contains(r.Fields, "households=1") {
			n++
		}
	}
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
