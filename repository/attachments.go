package repository

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/internal/names"
)

// Attachment describes a document kept with a case; its bytes are in the
// attachment store under the attachment's id.
type Attachment struct {
	ID                  string `gorm:"primaryKey"`
	CaseID              string
	FileName            string // sealed at rest
	DeclaredContentType string
	ContentType         string
	SizeBytes           int64
	Sha256              string
	Kind                string
	Description         string // sealed at rest
	Uploader            string
	Revision            int64
	CreateTime          time.Time
	DeleteTime          *time.Time
}

// Etag is the attachment's etag.
func (a *Attachment) Etag() string { return Etag(a.Revision) }

const (
	sealAttachmentName        = "attachments.file_name"
	sealAttachmentDescription = "attachments.description"
)

func (a *Attachment) seal(c Cipher) error {
	return sealAll(c, field{&a.FileName, sealAttachmentName}, field{&a.Description, sealAttachmentDescription})
}

func (a *Attachment) open(c Cipher) error {
	return openAll(c, field{&a.FileName, sealAttachmentName}, field{&a.Description, sealAttachmentDescription})
}

// attachmentsInScope limits q to attachments of cases the call's scope
// reaches: an attachment belongs to its case's town, wherever the case
// moves.
func attachmentsInScope(ctx context.Context, q *gorm.DB) *gorm.DB {
	cases := inScope(ctx, q.Session(&gorm.Session{NewDB: true}).Table("cases c").Select("1").Where("c.id = attachments.case_id"), "c.town_code")
	return q.Where("EXISTS (?)", cases)
}

// CreateAttachment records a's row, its case's history entry, the audit
// entry and the feed event, in one transaction; extra joins it (the
// request id's record). The bytes must already be stored.
func (s *Store) CreateAttachment(ctx context.Context, a *Attachment, extra func(ctx context.Context) error) error {
	a.Revision, a.CreateTime, a.DeleteTime = 1, s.clock(), nil
	row := *a
	if err := row.seal(s.cipher); err != nil {
		return err
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		var c Case
		if err := inScope(ctx, tx.Select("id", "status").Where("id = ?", a.CaseID), "town_code").Take(&c).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := s.appendHistory(tx, c.ID, a.CreateTime, &HistoryEntry{
			Actor: a.Uploader, Method: "UploadAttachment", FromStatus: c.Status, ToStatus: c.Status, ChangedFields: List[string]{"attachments"},
		}); err != nil {
			return err
		}
		if err := s.recordChange(ctx, tx, names.Attachment{CaseID: a.CaseID, ID: a.ID}.String(), a.Etag(), []string{"created"}); err != nil {
			return err
		}
		if extra != nil {
			return extra(ctx)
		}
		return nil
	})
}

// GetAttachment reads one attachment of a case in scope, deleted or not.
func (s *Store) GetAttachment(ctx context.Context, caseID, id string) (*Attachment, error) {
	var a Attachment
	q := attachmentsInScope(ctx, s.conn(ctx).Where("attachments.id = ? AND attachments.case_id = ?", id, caseID))
	if err := q.Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, a.open(s.cipher)
}

// ListAttachments returns a page of a case's attachments, oldest first.
func (s *Store) ListAttachments(ctx context.Context, caseID string, showDeleted bool, page Page) ([]Attachment, *Cursor, error) {
	limit := page.limit()
	q := attachmentsInScope(ctx, s.conn(ctx).Model(&Attachment{}).Where("attachments.case_id = ?", caseID))
	if !showDeleted {
		q = q.Where("attachments.delete_time IS NULL")
	}
	var rows []Attachment
	if err := keyset(q, "attachments", Order{Column: "create_time"}, false, page.After).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	for i := range rows {
		if err := rows[i].open(s.cipher); err != nil {
			return nil, nil, err
		}
	}
	rows, next := lastCursor(rows, limit, func(a Attachment) Cursor { t := a.CreateTime; return Cursor{Time: &t, ID: a.ID} })
	return rows, next, nil
}

// DeleteAttachment soft-deletes a live attachment whose etag matches (an
// empty etag matches any), with its case's history entry, audit entry and
// feed event. Deleting a deleted attachment is NOT_FOUND, as for households.
func (s *Store) DeleteAttachment(ctx context.Context, caseID, id, etag, actor string) (*Attachment, error) {
	var a Attachment
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		q := attachmentsInScope(ctx, tx.Where("attachments.id = ? AND attachments.case_id = ? AND attachments.delete_time IS NULL", id, caseID))
		if err := s.forUpdate(q).Take(&a).Error; err != nil {
			return notFound(err)
		}
		if etag != "" && etag != a.Etag() {
			return ErrEtagMismatch
		}
		now := s.clock()
		a.DeleteTime, a.Revision = &now, a.Revision+1
		if err := tx.Model(&Attachment{}).Where("id = ?", a.ID).
			Updates(map[string]any{"delete_time": now, "revision": a.Revision}).Error; err != nil {
			return err
		}
		var c Case
		if err := tx.Select("id", "status").Where("id = ?", caseID).Take(&c).Error; err != nil {
			return err
		}
		if err := s.appendHistory(tx, c.ID, now, &HistoryEntry{
			Actor: actor, Method: "DeleteAttachment", FromStatus: c.Status, ToStatus: c.Status, ChangedFields: List[string]{"attachments"},
		}); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, names.Attachment{CaseID: caseID, ID: id}.String(), a.Etag(), []string{"deleted"})
	})
	if err != nil {
		return nil, err
	}
	return &a, a.open(s.cipher)
}

// AttachmentIDsAmong returns which of ids are attachments' ids, deleted,
// erased or not, whatever the scope: the orphan sweep keeps the blobs
// they name.
func (s *Store) AttachmentIDsAmong(ctx context.Context, ids []string) ([]string, error) {
	var found []string
	if len(ids) == 0 {
		return nil, nil
	}
	err := s.conn(ctx).Model(&Attachment{}).Where("id IN ?", ids).Pluck("id", &found).Error
	return found, err
}

// --- the database attachment store -----------------------------------------

// blobPart is one part of a blob the database keeps.
type blobPart struct {
	BlobKey string `gorm:"primaryKey"`
	Part    int    `gorm:"primaryKey;autoIncrement:false"`
	Data    []byte
	// PutTime is when the part was written; the first part's is the
	// blob's time as List answers it.
	PutTime time.Time
}

// TableName names blobPart's table for gorm.
func (blobPart) TableName() string { return "attachment_blob_parts" }

// blobPartBytes is the most one part holds, and so the most either side
// holds in memory at once.
const blobPartBytes = 1 << 20

// Blobs is the attachment store in the database itself, for a deployment
// of one server that wants no second system to back up. Its calls run
// outside the caller's transaction: the bytes are stored before the row
// that describes them.
type Blobs struct {
	db    *gorm.DB
	clock func() time.Time
}

// BlobCipher is the keyring attachments' bytes are sealed with: the one
// the store seals its columns with.
func (s *Store) BlobCipher() blob.Cipher { return s.cipher }

// Blobs returns the store's attachment store.
func (s *Store) Blobs() *Blobs { return &Blobs{db: s.db, clock: s.clock} }

// Put stores r's bytes under key in parts. The parts are written one
// statement each under a staging key while the bytes arrive, so no
// transaction (and, on SQLite, not the one connection) is held for as long
// as a client takes to send a file; one short transaction then puts them
// under key, replacing any blob it held. A reader that fails leaves
// nothing.
func (b *Blobs) Put(ctx context.Context, key string, r io.Reader) error {
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	// '~' is in no key CheckKey passes, so a staging key never names a blob.
	staging := "~" + key + "~" + uuid.NewString()
	db := b.db.WithContext(ctx)
	err := writeParts(db, staging, r, b.clock())
	if err == nil {
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Where("blob_key = ?", key).Delete(&blobPart{}).Error; err != nil {
				return err
			}
			return tx.Model(&blobPart{}).Where("blob_key = ?", staging).Update("blob_key", key).Error
		})
	}
	if err != nil {
		// Its own context: the call's may be what ended the upload.
		_ = b.db.WithContext(context.WithoutCancel(ctx)).Where("blob_key = ?", staging).Delete(&blobPart{}).Error
	}
	return err
}

func writeParts(db *gorm.DB, key string, r io.Reader, now time.Time) error {
	buf := make([]byte, blobPartBytes)
	for part := 0; ; part++ {
		n, err := io.ReadFull(r, buf)
		end := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !end {
			return err
		}
		// An empty blob still has its one (empty) part, so it exists.
		if n > 0 || part == 0 {
			if err := db.Create(&blobPart{BlobKey: key, Part: part, Data: buf[:n], PutTime: now}).Error; err != nil {
				return err
			}
		}
		if end {
			return nil
		}
	}
}

// Get reads the blob under key a part at a time.
func (b *Blobs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := b.exists(ctx, key); err != nil {
		return nil, err
	}
	return &partReader{ctx: ctx, db: b.db, key: key}, nil
}

// Delete removes the blob under key.
func (b *Blobs) Delete(ctx context.Context, key string) error {
	res := b.db.WithContext(ctx).Where("blob_key = ?", key).Delete(&blobPart{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return blob.ErrNotFound
	}
	return nil
}

// List lists the stored blobs by key, each at its first part's time. A
// put still in flight, under its staging key, is not listed: it is no blob
// yet. Nor are operations' files, kept among the same parts under their
// own prefix: they are no attachment's, their operation's expiry deletes
// them, and the orphan sweep must not take them for orphans.
func (b *Blobs) List(ctx context.Context, after string, limit int) ([]blob.Info, error) {
	var parts []blobPart
	if err := b.db.WithContext(ctx).Select("blob_key", "put_time").
		Where("part = 0 AND blob_key > ? AND blob_key NOT LIKE ? AND blob_key NOT LIKE ?", after, "~%", operationBlobPrefix+"%").
		Order("blob_key").Limit(limit).Find(&parts).Error; err != nil {
		return nil, err
	}
	out := make([]blob.Info, len(parts))
	for i, p := range parts {
		out[i] = blob.Info{Key: p.BlobKey, Stored: p.PutTime}
	}
	return out, nil
}

func (b *Blobs) exists(ctx context.Context, key string) error {
	var n int64
	if err := b.db.WithContext(ctx).Model(&blobPart{}).Where("blob_key = ?", key).Limit(1).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return blob.ErrNotFound
	}
	return nil
}

// partReader reads a blob's parts in order, one query each, so that no
// cursor stays open across reads (SQLite has one connection).
type partReader struct {
	ctx  context.Context
	db   *gorm.DB
	key  string
	part int
	buf  []byte
	end  bool
}

func (r *partReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.end {
			return 0, io.EOF
		}
		var rows []blobPart
		if err := r.db.WithContext(r.ctx).Where("blob_key = ? AND part = ?", r.key, r.part).Limit(1).Find(&rows).Error; err != nil {
			return 0, err
		}
		if len(rows) == 0 {
			r.end = true
			continue
		}
		r.buf, r.part = rows[0].Data, r.part+1
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *partReader) Close() error { return nil }
