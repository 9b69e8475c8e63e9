package repository

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/blob"
)

// OperationState is where a long-running operation is, as stored.
type OperationState string

// The states of an operation. Pending and running are not done; the other
// three are final, and nothing changes an operation once it is in one.
const (
	OperationPending   OperationState = "pending"
	OperationRunning   OperationState = "running"
	OperationSucceeded OperationState = "succeeded"
	OperationFailed    OperationState = "failed"
	OperationCancelled OperationState = "cancelled"
)

// Done reports whether the state is final.
func (s OperationState) Done() bool {
	return s == OperationSucceeded || s == OperationFailed || s == OperationCancelled
}

// notDone is the SQL condition of an operation still pending or running.
const notDone = "state IN ('pending', 'running')"

// Operation is a long-running operation (AIP-151): an import or an export
// the job queue runs. It keeps a snapshot of the principal that started it,
// so that the job runs with their rights and scope, whichever server runs
// it and however much later.
type Operation struct {
	ID     string `gorm:"primaryKey"`
	Kind   string
	Method string // the RPC that started it, whose scope the job gets
	// The principal that started the operation, without its secrets.
	Creator           string
	CreatorKind       principal.Kind
	CreatorRoles      List[principal.Role]
	CreatorTowns      List[string]
	CreatorCredential string
	CreatorKeyID      string
	// Request is the marshalled request: plaintext here, sealed at rest,
	// and dropped when the operation ends (an import's file holds ID
	// numbers, and nothing needs it once the job is over).
	Request         []byte `gorm:"-"`
	SealedRequest   string `gorm:"column:request"`
	State           OperationState
	CancelRequested bool
	RowsRead        int64
	RowsWritten     int64
	RowsRefused     int64
	RowsUnchanged   int64
	RowsTotal       int64
	// Response and Error are the marshalled response message and
	// google.rpc.Status; neither holds an ID or phone number.
	Response    []byte
	Error       []byte
	FileName    string
	ContentType string
	FileSize    int64
	FileSha256  string `gorm:"column:file_sha256"`
	// FileExpired: the file passed its ExpireTime and was deleted.
	FileExpired bool
	ExpireTime  *time.Time
	// JobID is the queue's job that runs the operation; Runs counts how
	// many times a server started it.
	JobID      int64
	Runs       int
	CreateTime time.Time
	UpdateTime time.Time
	EndTime    *time.Time
}

// TableName names Operation's table for gorm.
func (Operation) TableName() string { return "operations" }

// Principal is the snapshot of the operation's creator.
func (o *Operation) Principal() *principal.Principal {
	return &principal.Principal{ID: o.Creator, Kind: o.CreatorKind, Roles: o.CreatorRoles, Towns: o.CreatorTowns,
		Credential: o.CreatorCredential, KeyID: o.CreatorKeyID}
}

// operationFile marks that an operation has a file, apart from the
// operation so that reading and listing operations never reads files. The
// bytes are in the database's blob parts (attachment_blob_parts) under
// operationBlobKey, sealed record by record as attachments are, so that
// neither storing nor reading a file holds it whole; Content is empty then.
// A file stored before that is in Content itself, sealed, base64 inside.
type operationFile struct {
	OperationID string `gorm:"primaryKey"`
	Content     string
}

// operationBlobPrefix starts the blob key of every operation's file.
const operationBlobPrefix = "operation-"

// operationBlobKey is where operation id's file is kept among the blob
// parts; no attachment's key (its id, a UUID) starts so.
func operationBlobKey(id string) string { return operationBlobPrefix + id }

// operationBlobs is the sealed parts store operations' files are kept in.
func (s *Store) operationBlobs() *blob.Sealing { return blob.NewSealing(s.Blobs(), s.cipher) }

// deleteOperationFiles deletes the files of the operations ids (a
// subquery) selects: their parts, then their rows.
func deleteOperationFiles(tx *gorm.DB, ids any) error {
	keys := tx.Session(&gorm.Session{NewDB: true}).Model(&operationFile{}).
		Select("'"+operationBlobPrefix+"' || operation_id").Where("operation_id IN (?)", ids)
	if err := tx.Where("blob_key IN (?)", keys).Delete(&blobPart{}).Error; err != nil {
		return err
	}
	return tx.Where("operation_id IN (?)", ids).Delete(&operationFile{}).Error
}

func (operationFile) TableName() string { return "operation_files" }

const (
	sealOperationRequest = "operations.request"
	sealOperationFile    = "operation_files.content"
)

// Progress is an operation's row counters.
type Progress struct {
	Read, Written, Refused, Unchanged, Total int64
}

// OperationEnd is how an operation ended.
type OperationEnd struct {
	State    OperationState // succeeded, failed or cancelled
	Response []byte
	Error    []byte
	Progress Progress
	// File, when not nil, is read to its end and stored sealed until
	// ExpireTime; FileSize is its length.
	File        io.Reader
	FileSize    int64
	FileName    string
	ContentType string
	FileSha256  string
	ExpireTime  time.Time
}

// ErrOperationDone refuses to start an operation that has already ended.
var ErrOperationDone = errors.New("the operation has already ended")

// CreateOperation stores a new, pending operation and, in the same
// transaction, has enqueue put its job on the queue: the operation exists
// exactly when its job does. enqueue gets the transaction's *sql.Tx, which
// the queue inserts through, and returns the job's id.
func (s *Store) CreateOperation(ctx context.Context, o *Operation, enqueue func(ctx context.Context, tx *sql.Tx) (int64, error)) error {
	sealedReq, err := s.cipher.Seal(base64.StdEncoding.EncodeToString(o.Request), sealOperationRequest)
	if err != nil {
		return err
	}
	now := s.clock()
	o.SealedRequest, o.State, o.CreateTime, o.UpdateTime = sealedReq, OperationPending, now, now
	o.Response, o.Error = orEmpty(o.Response), orEmpty(o.Error)
	return s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		if err := tx.Create(o).Error; err != nil {
			return conflict(err, "operation")
		}
		sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return fmt.Errorf("repository: operation enqueued outside a transaction (%T)", tx.Statement.ConnPool)
		}
		id, err := enqueue(ctx, sqlTx)
		if err != nil {
			return err
		}
		o.JobID = id
		return tx.Model(&Operation{}).Where("id = ?", o.ID).Update("job_id", id).Error
	})
}

// GetOperation returns an operation, its request left sealed and out.
// Who may see it is the caller's business: operations have no town.
func (s *Store) GetOperation(ctx context.Context, id string) (*Operation, error) {
	var o Operation
	if err := s.conn(ctx).Omit("request").Where("id = ?", id).Take(&o).Error; err != nil {
		return nil, notFound(err)
	}
	return &o, nil
}

// OperationQuery selects operations, newest first.
type OperationQuery struct {
	Creator string // "": everyone's
	Done    *bool
	Kind    string
	Page    Page
}

// ListOperations returns a page of operations, newest first.
func (s *Store) ListOperations(ctx context.Context, q OperationQuery) ([]Operation, *Cursor, error) {
	db := s.conn(ctx).Model(&Operation{}).Omit("request")
	if q.Creator != "" {
		db = db.Where("creator = ?", q.Creator)
	}
	if q.Done != nil {
		if *q.Done {
			db = db.Where("NOT (" + notDone + ")")
		} else {
			db = db.Where(notDone)
		}
	}
	if q.Kind != "" {
		db = db.Where("kind = ?", q.Kind)
	}
	limit := q.Page.limit()
	db = keyset(db, "operations", Order{Column: "create_time", Desc: true}, false, q.Page.After)
	var rows []Operation
	if err := db.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(o Operation) Cursor {
		t := o.CreateTime
		return Cursor{Time: &t, ID: o.ID}
	})
	return rows, next, nil
}

// StartOperation marks a pending or running operation running (a running
// one is being restarted after its server stopped), counts the run, and
// returns it with its request opened. An ended one is ErrOperationDone.
func (s *Store) StartOperation(ctx context.Context, id string) (*Operation, error) {
	var o Operation
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		if err := s.forUpdate(tx.Where("id = ?", id)).Take(&o).Error; err != nil {
			return notFound(err)
		}
		if o.State.Done() {
			return ErrOperationDone
		}
		o.State, o.Runs, o.UpdateTime = OperationRunning, o.Runs+1, s.clock()
		return tx.Model(&Operation{}).Where("id = ?", id).
			Updates(map[string]any{"state": o.State, "runs": o.Runs, "update_time": o.UpdateTime}).Error
	})
	if err != nil {
		return nil, err
	}
	plain, err := s.cipher.Open(o.SealedRequest, sealOperationRequest)
	if err != nil {
		return nil, err
	}
	if o.Request, err = base64.StdEncoding.DecodeString(plain); err != nil {
		return nil, err
	}
	return &o, nil
}

// ReportOperation stores a running operation's progress and says whether
// its cancellation was asked for.
func (s *Store) ReportOperation(ctx context.Context, id string, p Progress) (cancelRequested bool, err error) {
	err = s.conn(ctx).Model(&Operation{}).Where("id = ? AND state = ?", id, OperationRunning).Updates(map[string]any{
		"rows_read": p.Read, "rows_written": p.Written, "rows_refused": p.Refused,
		"rows_unchanged": p.Unchanged, "rows_total": p.Total, "update_time": s.clock(),
	}).Error
	if err != nil {
		return false, err
	}
	var o Operation
	if err := s.conn(ctx).Select("cancel_requested").Where("id = ?", id).Take(&o).Error; err != nil {
		return false, notFound(err)
	}
	return o.CancelRequested, nil
}

// FinishOperation ends an operation that has not ended yet: its state,
// counters, response or error and file are stored and its request is
// dropped, all at once. An operation that has already ended (cancelled
// while its last rows were written, or finished by another run) is left as
// it is: ErrOperationDone.
//
// The file is stored first, part by part outside the transaction (Blobs'
// Put), and dropped again when the operation cannot be finished.
func (s *Store) FinishOperation(ctx context.Context, id string, end OperationEnd) error {
	now := s.clock()
	if end.File != nil {
		if err := s.operationBlobs().Put(ctx, operationBlobKey(id), end.File); err != nil {
			return err
		}
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		set := map[string]any{
			"state": end.State, "response": orEmpty(end.Response), "error": orEmpty(end.Error), "request": "",
			"rows_read": end.Progress.Read, "rows_written": end.Progress.Written, "rows_refused": end.Progress.Refused,
			"rows_unchanged": end.Progress.Unchanged, "rows_total": end.Progress.Total,
			"update_time": now, "end_time": now,
		}
		if end.File != nil {
			if err := tx.Create(&operationFile{OperationID: id}).Error; err != nil {
				return err
			}
			set["file_name"], set["content_type"], set["file_size"], set["file_sha256"] = end.FileName, end.ContentType, end.FileSize, end.FileSha256
			set["expire_time"] = end.ExpireTime.UTC().Truncate(timeUnit)
		}
		res := tx.Model(&Operation{}).Where("id = ? AND "+notDone, id).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrOperationDone
		}
		return nil
	})
	if err != nil && end.File != nil {
		// Its own context: the call's may be what ended the work.
		_ = s.Blobs().Delete(context.WithoutCancel(ctx), operationBlobKey(id))
	}
	return err
}

// CancelOperation asks for an operation's cancellation. A pending one
// ends at once, with cancelled (its google.rpc.Status) as its error; a
// running one stops when its job next reports progress. An ended one is
// left as it is. It returns the operation as it now stands.
func (s *Store) CancelOperation(ctx context.Context, id string, cancelled []byte) (*Operation, error) {
	now := s.clock()
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		if err := tx.Model(&Operation{}).Where("id = ? AND state = ?", id, OperationPending).Updates(map[string]any{
			"state": OperationCancelled, "cancel_requested": true, "error": orEmpty(cancelled), "request": "",
			"update_time": now, "end_time": now,
		}).Error; err != nil {
			return err
		}
		return tx.Model(&Operation{}).Where("id = ? AND state = ?", id, OperationRunning).
			Updates(map[string]any{"cancel_requested": true, "update_time": now}).Error
	})
	if err != nil {
		return nil, err
	}
	return s.GetOperation(ctx, id)
}

// OperationFile opens the file an operation produced, to be read a part at
// a time, or is ErrNotFound when it has none (or no longer has one).
func (s *Store) OperationFile(ctx context.Context, id string) (io.ReadCloser, error) {
	var f operationFile
	if err := s.conn(ctx).Where("operation_id = ?", id).Take(&f).Error; err != nil {
		return nil, notFound(err)
	}
	if f.Content != "" {
		plain, err := s.cipher.Open(f.Content, sealOperationFile)
		if err != nil {
			return nil, err
		}
		data, err := base64.StdEncoding.DecodeString(plain)
		return io.NopCloser(bytes.NewReader(data)), err
	}
	rc, err := s.operationBlobs().Get(ctx, operationBlobKey(id))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, ErrNotFound
	}
	return rc, err
}

// ExpireOperationFiles deletes the files whose expire_time has passed and
// marks their operations so, reporting how many.
func (s *Store) ExpireOperationFiles(ctx context.Context, now time.Time) (int64, error) {
	// Stored times are UTC; SQLite compares them as text.
	now = now.UTC().Truncate(timeUnit)
	var n int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		expired := tx.Model(&Operation{}).Select("id").Where("expire_time <= ? AND file_expired = ?", now, false)
		if err := deleteOperationFiles(tx, expired); err != nil {
			return err
		}
		res := tx.Model(&Operation{}).Where("expire_time <= ? AND file_expired = ?", now, false).Update("file_expired", true)
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// PruneOperations deletes the operations that ended before before, with
// their files, reporting how many.
func (s *Store) PruneOperations(ctx context.Context, before time.Time) (int64, error) {
	before = before.UTC().Truncate(timeUnit)
	var n int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		old := tx.Model(&Operation{}).Select("id").Where("end_time < ?", before)
		if err := deleteOperationFiles(tx, old); err != nil {
			return err
		}
		res := tx.Where("end_time < ?", before).Delete(&Operation{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}

// FailOrphanedOperations ends as failed, with failed (a google.rpc.Status)
// as their error, the operations still pending or running whose job the
// queue will never run again: gone, or given up on (the queue discards a
// job whose last attempt was interrupted, without running any of our
// code). It reports how many.
func (s *Store) FailOrphanedOperations(ctx context.Context, failed []byte) (int64, error) {
	now := s.clock()
	orphans := s.conn(ctx).Table("operations AS o").Select("o.id").
		Joins("LEFT JOIN river_job AS j ON j.id = o.job_id").
		Where("o."+notDone+" AND (j.id IS NULL OR j.state IN ('discarded', 'cancelled', 'completed'))").
		Where("o.update_time < ?", now.Add(-time.Second))
	var ids []string
	if err := orphans.Pluck("o.id", &ids).Error; err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	res := s.conn(ctx).Model(&Operation{}).Where("id IN ? AND "+notDone, ids).Updates(map[string]any{
		"state": OperationFailed, "error": orEmpty(failed), "request": "", "update_time": now, "end_time": now,
	})
	return res.RowsAffected, res.Error
}

// SQLDB is the pool under the store, for the job queue, which keeps its
// own tables in the same database.
func (s *Store) SQLDB() (*sql.DB, error) { return s.db.DB() }

// orEmpty stores an absent message as no bytes: the columns are NOT NULL.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// DeleteOperation deletes an ended operation and its file. One still
// pending or running is ErrOperationRunning: cancel it first.
func (s *Store) DeleteOperation(ctx context.Context, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		var o Operation
		if err := tx.Select("state").Where("id = ?", id).Take(&o).Error; err != nil {
			return notFound(err)
		}
		if !o.State.Done() {
			return ErrOperationRunning
		}
		if err := deleteOperationFiles(tx, []string{id}); err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&Operation{}).Error
	})
}

// ErrOperationRunning refuses to delete an operation that has not ended.
var ErrOperationRunning = errors.New("the operation has not ended; cancel it first, or wait for it")
