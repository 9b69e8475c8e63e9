package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/blob/blobtest"
	"github.com/fengdu-county/casework/repository"
)

// privateFileName stands for a file name that names a person and an
// illness: it must never be stored in plaintext.
const privateFileName = "张伟 住院病历 500230199001011237.pdf"

func (e *env) newAttachment(c *repository.Case) *repository.Attachment {
	e.t.Helper()
	e.clock.Advance(e.step)
	a := &repository.Attachment{ID: uuid.Must(uuid.NewV7()).String(), CaseID: c.ID, FileName: privateFileName,
		DeclaredContentType: "application/pdf", ContentType: "application/pdf", SizeBytes: 10, Sha256: strings.Repeat("ab", 32),
		Kind: "HOSPITAL_RECORD", Description: "肺炎住院", Uploader: "users/test"}
	must(e.t, e.s.CreateAttachment(e.ctx, a, nil), "CreateAttachment")
	return a
}

func townAOnly() context.Context {
	return repository.WithScope(context.Background(), principal.Scope{Towns: []string{townA}})
}

var attachmentTests = []test{
	// The database attachment store meets the interface's contract, as the
	// local directory and S3 do in internal/blob.
	{"DatabaseBlobStore", func(t *testing.T, e *env) { blobtest.Run(t, e.s.Blobs()) }},
	{"CreateSealsNamesAndRecordsTheChange", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		head := e.eventHead()
		a := e.newAttachment(c)
		got, err := e.s.GetAttachment(e.ctx, c.ID, a.ID)
		must(t, err, "GetAttachment")
		if got.FileName != privateFileName || got.Description != "肺炎住院" || got.Etag() != "v1" || got.DeleteTime != nil {
			t.Fatalf("read back: %+v", got)
		}
		for _, r := range e.rawRows("SELECT file_name, description FROM attachments") {
			if strings.Contains(r["file_name"], "张伟") || strings.Contains(r["description"], "肺炎") {
				t.Fatalf("stored in plaintext: %v", r)
			}
		}
		if h := e.history(c.ID); h[len(h)-1].Method != "UploadAttachment" {
			t.Errorf("last history entry: %+v", h[len(h)-1])
		}
		if e.eventHead() != head+1 {
			t.Errorf("events: head %d → %d, want one", head, e.eventHead())
		}
	}},
	{"ListHidesDeletedAndPages", func(t *testing.T, e *env) {
		c := e.newCase(e.newFamily())
		var all []*repository.Attachment
		for range 3 {
			all = append(all, e.newAttachment(c))
		}
		_, err := e.s.DeleteAttachment(e.ctx, c.ID, all[1].ID, "v9", "users/test")
		wantErr(t, err, repository.ErrEtagMismatch, "delete with a stale etag")
		deleted, err := e.s.DeleteAttachment(e.ctx, c.ID, all[1].ID, "v1", "users/test")
		must(t, err, "DeleteAttachment")
		if deleted.DeleteTime == nil || deleted.Etag() != "v2" {
			t.Errorf("deleted: %+v", deleted)
		}
		_, err = e.s.DeleteAttachment(e.ctx, c.ID, all[1].ID, "", "users/test")
		wantErr(t, err, repository.ErrNotFound, "deleting again")
		live, _, err := e.s.ListAttachments(e.ctx, c.ID, false, repository.Page{})
		must(t, err, "ListAttachments")
		if len(live) != 2 || live[0].ID != all[0].ID || live[1].ID != all[2].ID {
			t.Errorf("live: %d", len(live))
		}
		first, next, err := e.s.ListAttachments(e.ctx, c.ID, true, repository.Page{Size: 2})
		must(t, err, "ListAttachments page 1")
		rest, last, err := e.s.ListAttachments(e.ctx, c.ID, true, repository.Page{Size: 2, After: next})
		must(t, err, "ListAttachments page 2")
		if len(first) != 2 || next == nil || len(rest) != 1 || last != nil || rest[0].ID != all[2].ID {
			t.Errorf("pages with deleted: %d then %d", len(first), len(rest))
		}
	}},
	{"OtherTownsSeeNothing", func(t *testing.T, e *env) {
		w := e.newTwoTowns()
		b := e.newAttachment(w.caseB)
		ctx := townAOnly()
		_, err := e.s.GetAttachment(ctx, w.caseB.ID, b.ID)
		wantErr(t, err, repository.ErrNotFound, "another town's attachment")
		rows, _, err := e.s.ListAttachments(ctx, w.caseB.ID, true, repository.Page{})
		must(t, err, "ListAttachments")
		if len(rows) != 0 {
			t.Errorf("another town's case lists %d attachments", len(rows))
		}
		_, err = e.s.DeleteAttachment(ctx, w.caseB.ID, b.ID, "", "users/test")
		wantErr(t, err, repository.ErrNotFound, "deleting another town's attachment")
		err = e.s.CreateAttachment(ctx, &repository.Attachment{ID: uuid.NewString(), CaseID: w.caseB.ID, FileName: "x.pdf",
			Kind: "OTHER", Uploader: "users/test"}, nil)
		wantErr(t, err, repository.ErrNotFound, "attaching to another town's case")
		// The same attachment named under another case is not found either.
		_, err = e.s.GetAttachment(e.ctx, w.caseA.ID, b.ID)
		wantErr(t, err, repository.ErrNotFound, "an attachment under the wrong case")
	}},
}
