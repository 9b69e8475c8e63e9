package service

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
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// TestBlobSweep runs the orphan sweep on each database, over the
// database's own attachment store and a directory: an orphan past the
// grace period is deleted; an orphan within it, the blob of a live
// attachment and that of a deleted one stay; the run leaves one audit entry
// with its counts, and a second run finds nothing to do.
func TestBlobSweep(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			for _, kind := range []string{"database", "directory"} {
				t.Run(kind, func(t *testing.T) {
					db := testdb.Open(t, dialect)
					store := db.Store()
					var blobs BlobStore = store.Blobs()
					// age makes key's blob look stored d ago.
					age := func(key string, d time.Duration) {
						mustDo(t, db.Gorm.Exec("UPDATE attachment_blob_parts SET put_time = ? WHERE blob_key = ?",
							time.Now().Add(-d).UTC(), key).Error)
					}
					if kind == "directory" {
						path := filepath.Join(t.TempDir(), "attachments")
						dir, err := blob.NewDir(path)
						mustDo(t, err)
						blobs = dir
						age = func(key string, d time.Duration) {
							at := time.Now().Add(-d)
							mustDo(t, os.Chtimes(filepath.Join(path, key), at, at))
						}
					}
					sweepCase(t, store, blobs, age, kind == "database")
				})
			}
		})
	}
}

// sweepCase sweeps blobs; withOperations also keeps an old operation's
// file among the database's parts, which the sweep must leave alone.
func sweepCase(t *testing.T, store *repository.Store, blobs BlobStore, age func(string, time.Duration), withOperations bool) {
	ctx := repository.WithScope(context.Background(), principal.Scope{All: true})
	h := &repository.Household{ID: uuid.NewString(), ServicememberName: "王刚",
		ServicememberIDNumber: idnumber.Make("500230", time.Date(1988, 6, 3, 0, 0, 0, 0, time.UTC), 7),
		TownCode:              "500230101", PostType: domain.PostRegular, Category: domain.CategoryActiveDutyFamily,
		ServicememberStatus: domain.ServiceStatus("ACTIVE_NCO")}
	mustDo(t, store.CreateHousehold(ctx, h))
	m := &repository.Member{ID: uuid.NewString(), HouseholdID: h.ID, Relation: domain.RelationSpouse, DisplayName: "赵敏",
		IDNumber: idnumber.Make("500230", time.Date(1990, 2, 14, 0, 0, 0, 0, time.UTC), 8), BirthDate: time.Date(1990, 2, 14, 0, 0, 0, 0, time.UTC)}
	mustDo(t, store.CreateMember(ctx, m))
	c := &repository.Case{ID: uuid.NewString(), HouseholdID: h.ID, SubjectID: m.ID, Kind: domain.KindLegalAid, Details: `{}`,
		Status: domain.StatusClosed, TownCode: h.TownCode, Priority: domain.PriorityNormal, Creator: "users/test"}
	mustDo(t, store.CreateCase(ctx, c, &repository.HistoryEntry{Actor: "users/test", Method: "CreateCase", ToStatus: c.Status}))
	attach := func(deleted bool) string {
		a := &repository.Attachment{ID: uuid.NewString(), CaseID: c.ID, FileName: "x.pdf", DeclaredContentType: "application/pdf",
			ContentType: "application/pdf", SizeBytes: 1, Sha256: strings.Repeat("ab", 32), Kind: "OTHER", Uploader: "users/test"}
		mustDo(t, blobs.Put(ctx, a.ID, strings.NewReader("bytes of "+a.ID)))
		mustDo(t, store.CreateAttachment(ctx, a, nil))
		if deleted {
			_, err := store.DeleteAttachment(ctx, c.ID, a.ID, "", "users/test")
			mustDo(t, err)
		}
		return a.ID
	}
	live, deleted := attach(false), attach(true)
	oldOrphan, youngOrphan := uuid.NewString(), uuid.NewString()
	for _, key := range []string{oldOrphan, youngOrphan} {
		mustDo(t, blobs.Put(ctx, key, strings.NewReader("cut upload")))
	}
	for _, key := range []string{live, deleted, oldOrphan} {
		age(key, 25*time.Hour)
	}
	age(youngOrphan, time.Hour)
	operationFile := "operation-" + uuid.NewString()
	if withOperations {
		mustDo(t, blobs.Put(ctx, operationFile, strings.NewReader("an export's workbook")))
		age(operationFile, 25*time.Hour)
	}

	swept := 0
	sweep := NewBlobSweep(store, BlobSweepOptions{Blobs: blobs, Grace: 24 * time.Hour, Page: 2,
		Swept: func(n int) { swept += n }})
	rep, err := sweep.Run(ctx)
	mustDo(t, err)
	if rep.Deleted != 1 || rep.Young != 1 || rep.Orphans != 2 || rep.Listed < 4 || swept != 1 {
		t.Errorf("report %+v, metric %d; want 1 deleted, 1 young, 2 orphans, 4 or more listed, metric 1", rep, swept)
	}
	if _, err := blobs.Get(ctx, oldOrphan); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("the orphan past its grace is still stored: %v", err)
	}
	for name, key := range map[string]string{"young orphan": youngOrphan, "live attachment": live, "deleted attachment": deleted} {
		rc, err := blobs.Get(ctx, key)
		if err != nil {
			t.Errorf("the %s's blob is gone: %v", name, err)
			continue
		}
		_ = rc.Close()
	}
	if withOperations {
		rc, err := blobs.Get(ctx, operationFile)
		if err != nil {
			t.Errorf("the sweep deleted an operation's file: %v", err)
		} else {
			_ = rc.Close()
		}
	}
	if n := sweepEntries(t, store); n != 1 {
		t.Errorf("%d sweep audit entries, want 1", n)
	}
	if _, err := store.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after the sweep: %v", err)
	}

	rep, err = sweep.Run(ctx)
	mustDo(t, err)
	if rep.Deleted != 0 || sweepEntries(t, store) != 1 {
		t.Errorf("a second run: %+v, %d audit entries", rep, sweepEntries(t, store))
	}
	mustDo(t, blobs.Delete(ctx, youngOrphan))
}

func sweepEntries(t *testing.T, store *repository.Store) int {
	t.Helper()
	f, err := filter.Parse(`action = "sweep"`, repository.AuditFilter)
	mustDo(t, err)
	rows, _, err := store.ListAuditLogs(repository.WithScope(context.Background(), principal.Scope{All: true}), f, repository.Page{Size: 100})
	mustDo(t, err)
	n := 0
	for _, r := range rows {
		if strings.Contains(r.Fields, "deleted=") {
			n++
		}
	}
	return n
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
