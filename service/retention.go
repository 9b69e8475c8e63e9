package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/repository"
)

// RetentionStore is the storage the retention schedule works on.
type RetentionStore interface {
	ErasableHouseholds(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
	CountErasableHouseholds(ctx context.Context, cutoff time.Time) (int64, error)
	EraseHouseholds(ctx context.Context, ids []string, scrub repository.DetailsScrubber,
		drop func(ctx context.Context, attachmentIDs []string) error) (repository.Erasure, error)
	ErasableMembers(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
	CountErasableMembers(ctx context.Context, cutoff time.Time) (int64, error)
	EraseMembers(ctx context.Context, ids []string, scrub repository.DetailsScrubber,
		drop func(ctx context.Context, attachmentIDs []string) error) (repository.Erasure, error)
	ErasableComplaints(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
	CountErasableComplaints(ctx context.Context, cutoff time.Time) (int64, error)
	EraseComplaints(ctx context.Context, ids []string) (int, error)
	AppendAudit(ctx context.Context, e *audit.Entry) error
}

// RetentionOptions configure the retention run.
type RetentionOptions struct {
	Schedule domain.RetentionSchedule
	// Batch is how many households one transaction erases (default 100),
	// so that a county with many to erase never holds one long lock.
	Batch int
	// Blobs is the attachment store outside the database, whose erased
	// attachments' bytes are deleted; nil when attachments are kept in the
	// database, whose bytes the store deletes with the rows.
	Blobs BlobStore
	Now   func() time.Time
	Log   *slog.Logger
}

// Retention applies the retention schedule's erasures: the command line's
// `casework retention run` and the job queue's daily job.
type Retention struct {
	store RetentionStore
	opts  RetentionOptions
}

// NewRetention builds the retention runner.
func NewRetention(store RetentionStore, o RetentionOptions) *Retention {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Schedule == nil {
		o.Schedule = domain.DefaultRetention()
	}
	return &Retention{store: store, opts: o}
}

// RetentionReport is what a run did, or on a dry run would do: counts, by
// kind of record, never an id or a value.
type RetentionReport struct {
	DryRun bool
	// Off is true when the schedule keeps deleted households for ever.
	Off bool
	// Cutoff: households deleted before it are erased.
	Cutoff time.Time
	// Due is how many households were due for erasure when the run began,
	// DueMembers how many members deleted on their own from households
	// that live on.
	Due, DueMembers int64
	// Erased counts what was erased (zero on a dry run).
	Erased repository.Erasure
	// Complaints is the run's report on closed complaints.
	Complaints ComplaintRetention
}

// ComplaintRetention is what a run did, or would do, to closed complaints.
type ComplaintRetention struct {
	// Off is true when the schedule keeps closed complaints for ever.
	Off bool
	// Cutoff: complaints closed before it are erased.
	Cutoff time.Time
	// Due were due when the run began; Erased were erased.
	Due    int64
	Erased int
}

// Fields are the report as the audit entry and the log carry it.
func (r RetentionReport) Fields() []string {
	e := r.Erased
	return []string{"households=" + strconv.Itoa(e.Households), "members=" + strconv.Itoa(e.Members),
		"cases=" + strconv.Itoa(e.Cases), "notes=" + strconv.Itoa(e.Notes), "attachments=" + strconv.Itoa(e.Attachments),
		"ledger_rows=" + strconv.Itoa(e.LedgerRows), "referrals=" + strconv.Itoa(e.Referrals)}
}

// Run applies the schedule once. A dry run counts what is due and changes
// nothing, not even the audit log; a real run erases batch after batch,
// each in its own transaction, until nothing is due, and then writes one
// audit entry with the counts for each kind (deleted households, closed
// complaints) it erased any of (none when there was nothing to do, so a
// daily job on a quiet county does not grow the chain). A run that fails
// part way keeps the batches it committed; the next run does the rest.
func (r *Retention) Run(ctx context.Context, dryRun bool) (RetentionReport, error) {
	ctx = repository.WithScope(ctx, principal.Scope{All: true})
	rep := RetentionReport{DryRun: dryRun}
	err := r.households(ctx, &rep)
	return rep, errors.Join(err, r.complaints(ctx, &rep))
}

// complaints erases the closed complaints the schedule no longer keeps,
// batch by batch, with one audit entry for a run that erased any.
func (r *Retention) complaints(ctx context.Context, rep *RetentionReport) error {
	c := &rep.Complaints
	cutoff, ok := r.opts.Schedule.Cutoff(domain.RetentionClosedComplaints, r.opts.Now())
	if !ok {
		c.Off = true
		return nil
	}
	c.Cutoff = cutoff
	due, err := r.store.CountErasableComplaints(ctx, cutoff)
	c.Due = due
	if err != nil || rep.DryRun || due == 0 {
		return err
	}
	var runErr error
	for {
		ids, err := r.store.ErasableComplaints(ctx, cutoff, r.opts.Batch)
		if err != nil || len(ids) == 0 {
			runErr = err
			break
		}
		n, err := r.store.EraseComplaints(ctx, ids)
		c.Erased += n
		if err != nil || n == 0 {
			runErr = err
			break
		}
	}
	if c.Erased > 0 {
		e := audit.FromContext(ctx).Entry(audit.ActionRetention, "retention/"+string(domain.RetentionClosedComplaints),
			audit.OutcomeOK, []string{"complaints=" + strconv.Itoa(c.Erased)})
		if err := r.store.AppendAudit(ctx, e); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

// households erases the deleted households and members the schedule no
// longer keeps.
func (r *Retention) households(ctx context.Context, rep *RetentionReport) error {
	dryRun := rep.DryRun
	cutoff, ok := r.opts.Schedule.Cutoff(domain.RetentionDeletedHouseholds, r.opts.Now())
	if !ok {
		rep.Off = true
		return nil
	}
	rep.Cutoff = cutoff
	due, err := r.store.CountErasableHouseholds(ctx, cutoff)
	if err != nil {
		return err
	}
	rep.Due = due
	if rep.DueMembers, err = r.store.CountErasableMembers(ctx, cutoff); err != nil {
		return err
	}
	if dryRun || due+rep.DueMembers == 0 {
		return nil
	}
	// Households first: their members are erased with them.
	runErr := r.batches(ctx, rep, cutoff, r.store.ErasableHouseholds, r.store.EraseHouseholds)
	if runErr == nil {
		runErr = r.batches(ctx, rep, cutoff, r.store.ErasableMembers, r.store.EraseMembers)
	}
	if rep.Erased.Households+rep.Erased.Members > 0 {
		e := audit.FromContext(ctx).Entry(audit.ActionRetention, "retention/"+string(domain.RetentionDeletedHouseholds),
			audit.OutcomeOK, rep.Fields())
		if err := r.store.AppendAudit(ctx, e); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

// batches erases what list finds, a batch per transaction, until nothing
// is left.
func (r *Retention) batches(ctx context.Context, rep *RetentionReport, cutoff time.Time,
	list func(ctx context.Context, cutoff time.Time, limit int) ([]string, error),
	erase func(ctx context.Context, ids []string, scrub repository.DetailsScrubber,
		drop func(ctx context.Context, attachmentIDs []string) error) (repository.Erasure, error)) error {
	for {
		ids, err := list(ctx, cutoff, r.opts.Batch)
		if err != nil || len(ids) == 0 {
			return err
		}
		n, err := erase(ctx, ids, ScrubDetails, r.dropBlobs)
		if err != nil {
			return err
		}
		n.AttachmentIDs = nil
		rep.Erased.Add(n)
		if n.Households+n.Members == 0 {
			// Erased by an overlapping run between the list and the erasure.
			return nil
		}
	}
}

// dropBlobs deletes erased attachments' bytes from the store outside the
// database; a blob already gone counts as deleted.
func (r *Retention) dropBlobs(ctx context.Context, ids []string) error {
	if r.opts.Blobs == nil {
		return nil
	}
	for _, id := range ids {
		if err := r.opts.Blobs.Delete(ctx, id); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("deleting an erased attachment's bytes: %w", err)
		}
	}
	return nil
}

// Job is the queue's daily retention job: one run, its report in the log.
func (r *Retention) Job(ctx context.Context) error {
	rep, err := r.Run(ctx, false)
	if rep.Erased.Households+rep.Erased.Members+rep.Complaints.Erased > 0 || err != nil {
		args := []any{"cutoff", rep.Cutoff, "due", rep.Due, "due_members", rep.DueMembers,
			"due_complaints", rep.Complaints.Due, "complaints", rep.Complaints.Erased}
		for _, f := range rep.Fields() {
			k, v, _ := strings.Cut(f, "=")
			args = append(args, k, v)
		}
		if err != nil {
			r.opts.Log.Error("retention run failed", append(args, "error_type", fmt.Sprintf("%T", err))...)
		} else {
			r.opts.Log.Info("retention run erased deleted households", args...)
		}
	}
	return err
}

// ScrubDetails takes every string out of a case's stored details, however
// deep: the requested school, the employer, the medical need, the legal
// matter, the counterparty, the missing materials. Enumerations, numbers,
// booleans and dates stay, which is all the statistics read. Details of a
// kind it does not know are emptied.
func ScrubDetails(kind domain.Kind, details string) (string, error) {
	if details == "" {
		return "", nil
	}
	c := &pb.Case{}
	if err := convert.SetDetails(c, kind, details); err != nil {
		return "", err
	}
	_, msg := convert.CaseDetails(c)
	if msg == nil {
		return "", nil
	}
	scrubStrings(msg.ProtoReflect())
	row := &repository.Case{}
	if err := convert.StoreDetails(row, kind, msg); err != nil {
		return "", err
	}
	return row.Details, nil
}

func scrubStrings(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.StringKind || fd.Kind() == protoreflect.BytesKind:
			m.Clear(fd)
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			switch {
			case fd.IsList():
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					scrubStrings(l.Get(i).Message())
				}
			case fd.IsMap():
				m.Clear(fd)
			default:
				scrubStrings(v.Message())
			}
		case fd.IsMap():
			m.Clear(fd)
		}
		return true
	})
}
