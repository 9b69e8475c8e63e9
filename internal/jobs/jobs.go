// Package jobs is the server's one job queue: river, on the database the
// store uses (PostgreSQL, or the embedded SQLite), with its tables migrated
// by repository.Migrate. It holds the kinds of job the server runs and the
// one place they are registered; what a job does is the service's.
//
// A job is inserted in the transaction of the row it works on, so the two
// exist together or not at all. River locks each job as a server takes it
// (FOR UPDATE SKIP LOCKED on PostgreSQL), so a job runs on one server at a
// time however many share the database. A job whose server died mid-run is
// rescued after RescueAfter and retried; once its attempts are spent it is
// discarded, and the periodic sweep ends what it worked on as failed.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/fengdu-county/casework/repository"
)

// Handlers are the work the queue's jobs do.
type Handlers struct {
	// Operation runs the long-running operation id. lastAttempt says that
	// an error now will not be retried, so the operation must be ended.
	Operation func(ctx context.Context, id string, lastAttempt bool) error
	// Sweep does the periodic upkeep: expired files and old operations
	// deleted, orphaned operations ended.
	Sweep func(ctx context.Context) error
	// AlertScan raises the alerts of deadlines (nil: no scan, for a queue
	// that only inserts).
	AlertScan func(ctx context.Context) error
	// EndHolds resumes the cases whose hold has reached its end time (nil:
	// none, for a queue that only inserts).
	EndHolds func(ctx context.Context) error
	// Maintain does the store's periodic upkeep of casework: expired
	// events and request ids pruned, lapsed legal-aid applications
	// withdrawn, measures whose agreement expired suspended (nil: none).
	Maintain func(ctx context.Context) error
	// Retention applies the retention schedule: erases the personal data
	// of households deleted longer ago than it keeps them (nil: none).
	Retention func(ctx context.Context) error
	// BlobSweep deletes the attachment store's blobs that no attachment
	// names, once past their grace period (nil: none).
	BlobSweep func(ctx context.Context) error
}

// Config tunes the queue; zero values take the defaults.
type Config struct {
	// RescueAfter is how long a job may stay running before the queue
	// takes its server for dead and runs it again (default 10 minutes).
	// A job is also cut off after this long.
	RescueAfter time.Duration
	// SweepEvery is how often the sweep and the hold-end job run
	// (default a minute): a hold ends at most this long after its end
	// time, its clocks resumed as of the end time all the same.
	SweepEvery time.Duration
	// Workers is how many jobs one server runs at once (default 2). A
	// negative number runs none: the server inserts jobs for others to
	// run (an API-only replica).
	Workers int
	// Poll is how often an idle server looks for jobs (default 500ms):
	// over database/sql and on SQLite river has no LISTEN/NOTIFY.
	Poll time.Duration
	// MaxAttempts is how many times an operation is started before it
	// is given up (default 3).
	MaxAttempts int
	// AlertScanEvery is how often the alert scan runs (default a minute).
	AlertScanEvery time.Duration
	// MaintainEvery is how often the maintain job runs (default five
	// minutes).
	MaintainEvery time.Duration
	// RetentionEvery is how often the retention job runs (default a day);
	// negative: never, for a deployment that runs `casework retention run`
	// from its own scheduler instead.
	RetentionEvery time.Duration
	// BlobSweepEvery is how often the orphan sweep runs (default six
	// hours); negative: never.
	BlobSweepEvery time.Duration
}

// Queue is a river client: it inserts jobs and, once started, works them.
type Queue struct {
	client      *river.Client[*sql.Tx]
	maxAttempts int
	insertOnly  bool
}

// operationArgs is the job that runs one operation; it carries the id
// only, the operation's row holds the rest (sealed).
type operationArgs struct {
	Operation string `json:"operation"`
}

func (operationArgs) Kind() string { return "operation" }

type operationWorker struct {
	river.WorkerDefaults[operationArgs]
	run func(ctx context.Context, id string, lastAttempt bool) error
}

func (w *operationWorker) Work(ctx context.Context, job *river.Job[operationArgs]) error {
	return w.run(ctx, job.Args.Operation, job.Attempt >= job.MaxAttempts)
}

type sweepArgs struct{}

func (sweepArgs) Kind() string { return "sweep" }

// task is the worker of a periodic job, which has no arguments: it runs
// run.
type task[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	run func(ctx context.Context) error
}

func (w *task[T]) Work(ctx context.Context, _ *river.Job[T]) error { return w.run(ctx) }

// endHoldsArgs is the periodic job that resumes the holds that ended.
// Only the elected leader inserts periodic jobs and at most one waits at a
// time, so one server runs it; each resume is conditional besides, so a
// run overlapping a rescued one still ends each hold once.
type endHoldsArgs struct{}

func (endHoldsArgs) Kind() string { return "end_holds" }

type alertScanArgs struct{}

func (alertScanArgs) Kind() string { return "alert_scan" }

// maintainArgs is the periodic upkeep of Handlers.Maintain. Its steps are
// idempotent deletes and conditional updates, so a run overlapping a
// rescued one still withdraws a case, or suspends a measure, once.
type maintainArgs struct{}

func (maintainArgs) Kind() string { return "maintain" }

// retentionArgs is the periodic job that applies the retention schedule.
// Like the others, one server runs it at a time; each erasure passes by
// households another run erased first, so an overlap erases each once.
type retentionArgs struct{}

func (retentionArgs) Kind() string { return "retention" }

// blobSweepArgs is the periodic job that deletes orphan blobs. A blob is
// deleted only once it is past its grace period with no row, and a second
// delete of it answers not found, which the sweep takes as done.
type blobSweepArgs struct{}

func (blobSweepArgs) Kind() string { return "blob_sweep" }

// once is the insert options of a periodic job of which one at a time is
// enough across servers: river's leader inserts it, and a second while one
// waits or runs is pointless.
func once() *river.InsertOpts {
	return &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// periodic is a job run every interval (default a minute), and once as
// the queue starts.
func periodic(every time.Duration, args river.JobArgs) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(cmp.Or(every, time.Minute)),
		func() (river.JobArgs, *river.InsertOpts) { return args, once() }, &river.PeriodicJobOpts{RunOnStart: true})
}

// New builds the queue over db, registering every kind of job.
func New(db *sql.DB, dialect repository.Dialect, h Handlers, cfg Config, log *slog.Logger) (*Queue, error) {
	if h.Operation == nil || h.Sweep == nil || h.EndHolds == nil {
		return nil, errors.New("jobs: every handler is required")
	}
	rescue := cmp.Or(cfg.RescueAfter, 10*time.Minute)
	poll := cmp.Or(cfg.Poll, 500*time.Millisecond)
	workers := river.NewWorkers()
	river.AddWorker(workers, &operationWorker{run: h.Operation})
	river.AddWorker(workers, &task[sweepArgs]{run: h.Sweep})
	periodicJobs := []*river.PeriodicJob{periodic(cfg.SweepEvery, sweepArgs{})}
	if h.AlertScan != nil {
		river.AddWorker(workers, &task[alertScanArgs]{run: h.AlertScan})
		periodicJobs = append(periodicJobs, periodic(cfg.AlertScanEvery, alertScanArgs{}))
	}
	if h.EndHolds != nil {
		river.AddWorker(workers, &task[endHoldsArgs]{run: h.EndHolds})
		periodicJobs = append(periodicJobs, periodic(cfg.SweepEvery, endHoldsArgs{}))
	}
	if h.Maintain != nil {
		river.AddWorker(workers, &task[maintainArgs]{run: h.Maintain})
		periodicJobs = append(periodicJobs, periodic(cmp.Or(cfg.MaintainEvery, 5*time.Minute), maintainArgs{}))
	}
	if h.Retention != nil && cfg.RetentionEvery >= 0 {
		river.AddWorker(workers, &task[retentionArgs]{run: h.Retention})
		periodicJobs = append(periodicJobs, periodic(cmp.Or(cfg.RetentionEvery, 24*time.Hour), retentionArgs{}))
	}
	if h.BlobSweep != nil && cfg.BlobSweepEvery >= 0 {
		river.AddWorker(workers, &task[blobSweepArgs]{run: h.BlobSweep})
		periodicJobs = append(periodicJobs, periodic(cmp.Or(cfg.BlobSweepEvery, 6*time.Hour), blobSweepArgs{}))
	}
	rc := &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmp.Or(cfg.Workers, 2)}},
		Workers:              workers,
		PeriodicJobs:         periodicJobs,
		RescueStuckJobsAfter: rescue,
		JobTimeout:           rescue,
		FetchPollInterval:    poll,
		FetchCooldown:        min(poll, 100*time.Millisecond),
		PollOnly:             true,
		Logger:               log,
	}
	insertOnly := cfg.Workers < 0
	if insertOnly {
		rc.Queues, rc.PeriodicJobs = nil, nil
	}
	client, err := river.NewClient(repository.QueueDriver(db, dialect), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Queue{client: client, maxAttempts: cmp.Or(cfg.MaxAttempts, 3), insertOnly: insertOnly}, nil
}

// EnqueueOperation puts the job of operation id on the queue, in tx (the
// transaction that stores the operation), and returns the job's id.
func (q *Queue) EnqueueOperation(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	res, err := q.client.InsertTx(ctx, tx, operationArgs{Operation: id}, &river.InsertOpts{MaxAttempts: q.maxAttempts})
	if err != nil {
		return 0, fmt.Errorf("jobs: enqueue: %w", err)
	}
	return res.Job.ID, nil
}

// Observe calls record with the kind, result (completed, failed,
// cancelled) and run time of every job this server finishes, for the
// metrics. An insert-only queue runs none, and so records none.
func (q *Queue) Observe(record func(kind, result string, took time.Duration)) {
	if q.insertOnly {
		return
	}
	events, _ := q.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	go func() {
		// The channel closes when the client stops.
		for ev := range events {
			result := map[river.EventKind]string{river.EventKindJobCompleted: "completed",
				river.EventKindJobFailed: "failed", river.EventKindJobCancelled: "cancelled"}[ev.Kind]
			var took time.Duration
			if ev.JobStats != nil {
				took = ev.JobStats.RunDuration
			}
			record(ev.Job.Kind, result, took)
		}
	}()
}

// Start starts working jobs; they run until Stop.
func (q *Queue) Start(ctx context.Context) error {
	if q.insertOnly {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop lets running jobs finish until ctx ends, then cancels their
// contexts and waits for them to return: a cancelled job's operation is
// left running for another server, or this one once restarted, to resume.
func (q *Queue) Stop(ctx context.Context) error {
	if q.insertOnly {
		return nil
	}
	err := q.client.Stop(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	cancelCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return q.client.StopAndCancel(cancelCtx)
}
