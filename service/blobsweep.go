package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/repository"
)

// BlobSweepStore is the storage the orphan sweep asks.
type BlobSweepStore interface {
	// AttachmentIDsAmong answers which of ids name an attachment row.
	AttachmentIDsAmong(ctx context.Context, ids []string) ([]string, error)
	AppendAudit(ctx context.Context, e *audit.Entry) error
}

// DefaultBlobSweepGrace is how old a blob with no row must be before the
// sweep deletes it: far longer than any upload takes to write its row, so
// the sweep never races an upload in flight.
const DefaultBlobSweepGrace = 24 * time.Hour

// BlobSweepOptions configure the orphan sweep.
type BlobSweepOptions struct {
	// Blobs is the attachment store as stored (not the sealing layer:
	// keys and times are not sealed, and nothing is read).
	Blobs BlobStore
	// Grace is how old an orphan must be to be deleted (0: the default).
	Grace time.Duration
	// Page is how many blobs one listing and one query of rows take
	// (0: 500).
	Page int
	// Swept, when set, is told how many orphans each run deleted: the
	// metrics' counter.
	Swept func(n int)
	Now   func() time.Time
	Log   *slog.Logger
}

// BlobSweep deletes the attachment store's orphans: blobs no attachment
// row names. An upload stores its bytes before its row and deletes them
// when the row does not commit, but a server that dies between the two,
// or a delete that fails, leaves the bytes behind; so may a store restored
// from a backup newer than the database's.
type BlobSweep struct {
	store BlobSweepStore
	opts  BlobSweepOptions
}

// NewBlobSweep builds the orphan sweep.
func NewBlobSweep(store BlobSweepStore, o BlobSweepOptions) *BlobSweep {
	if o.Grace <= 0 {
		o.Grace = DefaultBlobSweepGrace
	}
	if o.Page <= 0 {
		o.Page = 500
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &BlobSweep{store: store, opts: o}
}

// BlobSweepReport counts what a run found: never a key.
type BlobSweepReport struct {
	// Listed is every blob the store holds; Orphans those no row names,
	// of which Deleted were older than the grace period and deleted, and
	// Young were not and wait for a later run.
	Listed, Orphans, Deleted, Young int
}

// Fields are the report as the audit entry and the log carry it.
func (r BlobSweepReport) Fields() []string {
	return []string{"listed=" + strconv.Itoa(r.Listed), "orphans=" + strconv.Itoa(r.Orphans),
		"deleted=" + strconv.Itoa(r.Deleted), "young=" + strconv.Itoa(r.Young)}
}

// Run pages through the store once and deletes the orphans older than the
// grace period; an audit entry with the counts records a run that deleted
// any. A blob deleted meanwhile by someone else counts as deleted.
func (s *BlobSweep) Run(ctx context.Context) (BlobSweepReport, error) {
	ctx = repository.WithScope(ctx, principal.Scope{All: true})
	var rep BlobSweepReport
	cutoff := s.opts.Now().Add(-s.opts.Grace)
	runErr := s.pages(ctx, cutoff, &rep)
	if s.opts.Swept != nil {
		s.opts.Swept(rep.Deleted)
	}
	if rep.Deleted > 0 {
		e := audit.FromContext(ctx).Entry(audit.ActionSweep, "attachments/-/blobs", audit.OutcomeOK, rep.Fields())
		if err := s.store.AppendAudit(ctx, e); err != nil {
			return rep, errors.Join(runErr, err)
		}
	}
	return rep, runErr
}

func (s *BlobSweep) pages(ctx context.Context, cutoff time.Time, rep *BlobSweepReport) error {
	after := ""
	for {
		page, err := s.opts.Blobs.List(ctx, after, s.opts.Page)
		if err != nil || len(page) == 0 {
			return err
		}
		after = page[len(page)-1].Key
		rep.Listed += len(page)
		keys := make([]string, len(page))
		for i, b := range page {
			keys[i] = b.Key
		}
		named, err := s.store.AttachmentIDsAmong(ctx, keys)
		if err != nil {
			return err
		}
		rowed := make(map[string]bool, len(named))
		for _, id := range named {
			rowed[id] = true
		}
		for _, b := range page {
			switch {
			case rowed[b.Key]:
			case !b.Stored.Before(cutoff):
				rep.Orphans++
				rep.Young++
			default:
				rep.Orphans++
				if err := s.opts.Blobs.Delete(ctx, b.Key); err != nil && !errors.Is(err, blob.ErrNotFound) {
					return fmt.Errorf("deleting an orphan blob: %w", err)
				}
				rep.Deleted++
			}
		}
	}
}

// Job is the queue's periodic sweep: one run, its counts in the log when
// it deleted anything or failed.
func (s *BlobSweep) Job(ctx context.Context) error {
	rep, err := s.Run(ctx)
	args := []any{"listed", rep.Listed, "orphans", rep.Orphans, "deleted", rep.Deleted, "young", rep.Young,
		"grace", s.opts.Grace.String()}
	switch {
	case err != nil:
		s.opts.Log.Error("attachment orphan sweep failed", append(args, "error_type", fmt.Sprintf("%T", err))...)
	case rep.Deleted > 0:
		s.opts.Log.Info("attachment orphan sweep deleted blobs no attachment names", args...)
	}
	return err
}
