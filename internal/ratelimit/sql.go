package ratelimit

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"time"

	"github.com/fengdu-county/casework/repository"
)

// SQL keeps buckets and streaks in the database every replica shares
// (tables rate_buckets and lookup_streaks, migration 00023). Each take is
// one statement on its own, outside any business transaction: an upsert
// whose ON CONFLICT branch reads and writes the key's row under the row
// lock, so concurrent takes on any replica queue on that one row and none
// can read a TAT another is about to change.
//
// The tables are UNLOGGED on PostgreSQL: they are written on every call,
// and a crash or a failover that empties them only refills everyone's
// bucket, which costs nothing worth the WAL.
type SQL struct {
	db                              *sql.DB
	take, blocked, miss, bar, reset string
	sweepBuckets, sweepStreaks      string
}

// NewSQL returns a store on db, a database migrated to 00023 or later.
func NewSQL(db *sql.DB, dialect repository.Dialect) *SQL {
	// In the statements, $N is a text parameter and @N a number of
	// nanoseconds, which PostgreSQL must be told is a bigint.
	greatest := "GREATEST"
	q := func(s string) string { return number.ReplaceAllString(s, "$$$1::bigint") }
	if dialect == repository.SQLite {
		// SQLite's two-argument max() is PostgreSQL's GREATEST, and its
		// numbered parameters are ?N.
		greatest = "MAX"
		q = func(s string) string { return param.ReplaceAllString(s, "?$1") }
	}
	next := greatest + "(b.tat, @2) + @3"
	return &SQL{
		db: db,
		// $1 key, @2 now, @3 inc, @4 tau. A new key's bucket is full, and
		// checkTake has made sure that n fits in the burst.
		take: q(`INSERT INTO rate_buckets AS b (key, tat, admitted) VALUES ($1, @2 + @3, TRUE)
ON CONFLICT (key) DO UPDATE SET
  admitted = (` + next + ` - @4 <= @2),
  tat = CASE WHEN ` + next + ` - @4 <= @2 THEN ` + next + ` ELSE b.tat END
RETURNING tat, admitted`),
		blocked: q(`SELECT until_ns FROM lookup_streaks WHERE key = $1`),
		// $1 key, @2 now, @3 StreakIdle: a streak idle that long starts over.
		miss: q(`INSERT INTO lookup_streaks AS s (key, misses, until_ns, last_ns) VALUES ($1, 1, 0, @2)
ON CONFLICT (key) DO UPDATE SET
  misses = CASE WHEN @2 - s.last_ns > @3 THEN 1 ELSE s.misses + 1 END,
  last_ns = ` + greatest + `(s.last_ns, @2)
RETURNING misses`),
		bar:          q(`UPDATE lookup_streaks SET until_ns = ` + greatest + `(until_ns, @2) WHERE key = $1`),
		reset:        q(`DELETE FROM lookup_streaks WHERE key = $1`),
		sweepBuckets: q(`DELETE FROM rate_buckets WHERE tat <= @1`),
		sweepStreaks: q(`DELETE FROM lookup_streaks WHERE last_ns < @1 - @2 AND until_ns <= @1`),
	}
}

var (
	number = regexp.MustCompile(`@(\d+)`)
	param  = regexp.MustCompile(`[$@](\d+)`)
)

// Take takes n tokens from key's bucket in one statement.
func (s *SQL) Take(ctx context.Context, key string, l Limit, n int, now time.Time) (time.Duration, error) {
	if d, done := checkTake(l, n); done {
		return d, nil
	}
	g := newGCRA(l, n)
	t := now.UnixNano()
	var tat int64
	var admitted bool
	if err := s.db.QueryRowContext(ctx, s.take, key, t, g.inc, g.tau).Scan(&tat, &admitted); err != nil {
		return 0, err
	}
	if admitted {
		return 0, nil
	}
	// Refused: tat is the row's TAT, unchanged.
	return time.Duration(max(tat, t) + g.inc - g.tau - t), nil
}

// Blocked is how long key is still barred by its streak of misses.
func (s *SQL) Blocked(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	var until int64
	switch err := s.db.QueryRowContext(ctx, s.blocked, key).Scan(&until); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return max(0, time.Duration(until-now.UnixNano())), nil
}

// Miss adds a miss to key's streak and, when penalty says so, bars it. The
// count and the bar are two statements: a bar only ever moves later, so two
// replicas' misses landing between them still leave the longer bar.
func (s *SQL) Miss(ctx context.Context, key string, now time.Time, penalty func(int) time.Duration) (int, error) {
	t := now.UnixNano()
	var misses int
	if err := s.db.QueryRowContext(ctx, s.miss, key, t, int64(StreakIdle)).Scan(&misses); err != nil {
		return 0, err
	}
	if p := penalty(misses); p > 0 {
		if _, err := s.db.ExecContext(ctx, s.bar, key, t+int64(p)); err != nil {
			return misses, err
		}
	}
	return misses, nil
}

// Reset ends key's streak.
func (s *SQL) Reset(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.reset, key)
	return err
}

// Sweep deletes full buckets and idle streaks, which answer as missing rows
// would; the server's periodic maintenance job runs it, so the tables hold
// only recent callers. Deleting a row another replica is taking from is harmless: the
// take then inserts a full bucket, which is what the row had become.
func (s *SQL) Sweep(ctx context.Context, now time.Time) (int64, error) {
	t := now.UnixNano()
	r1, err := s.db.ExecContext(ctx, s.sweepBuckets, t)
	if err != nil {
		return 0, err
	}
	r2, err := s.db.ExecContext(ctx, s.sweepStreaks, t, int64(StreakIdle))
	if err != nil {
		return 0, err
	}
	n1, _ := r1.RowsAffected()
	n2, _ := r2.RowsAffected()
	return n1 + n2, nil
}
