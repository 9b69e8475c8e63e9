package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fengdu-county/casework/internal/names"
	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Webhook is a registered HTTPS endpoint of the change feed, with the state
// of its deliveries. The dispatcher (package webhook) owns the delivery
// fields; an admin creates and deletes the row.
type Webhook struct {
	ID          string `gorm:"primaryKey"`
	DisplayName string
	URL         string `gorm:"column:url"`
	// SealedSecret is the HMAC key, sealed: it never leaves the store in
	// plaintext except through WebhookSecret, for signing.
	SealedSecret  string       `gorm:"column:secret"`
	ResourceTypes List[string] // empty for all
	EventTypes    List[string] // empty for all
	// DeliveredPosition is the last event position delivered or passed
	// over by the filters; it only moves forward.
	DeliveredPosition   int64
	ConsecutiveFailures int
	NextAttemptTime     *time.Time
	LastSuccessTime     *time.Time
	LastFailureTime     *time.Time
	LastError           string
	// LeaseOwner delivers the webhook until LeaseUntil; see LeaseWebhook.
	LeaseOwner string
	LeaseUntil *time.Time
	Revision   int64
	CreateTime time.Time
}

// WebhookDelivery is one attempt to deliver one event to a webhook.
type WebhookDelivery struct {
	ID         string `gorm:"primaryKey"`
	WebhookID  string
	Position   int64
	EventType  string
	Resource   string
	Attempt    int // 1 for the first attempt at this event
	Time       time.Time
	HTTPStatus int `gorm:"column:http_status"` // 0 when no answer came
	Success    bool
	Error      string
	DurationMS int64 `gorm:"column:duration_ms"`
}

const sealWebhookSecret = "webhooks.secret"

// ErrLeaseLost means: another server holds the webhook's lease now; the caller
// must stop delivering it.
var ErrLeaseLost = errors.New("webhook lease lost")

// CreateWebhook stores w with its secret sealed, at revision 1. Deliveries
// start after w.DeliveredPosition; 0 means after the newest event, so a new
// webhook does not replay history.
func (s *Store) CreateWebhook(ctx context.Context, w *Webhook, secret string) error {
	if secret == "" {
		return errors.New("repository: a webhook needs a secret")
	}
	sealedSecret, err := s.cipher.Seal(secret, sealWebhookSecret)
	if err != nil {
		return err
	}
	w.SealedSecret, w.Revision, w.CreateTime = sealedSecret, 1, s.clock()
	w.ConsecutiveFailures, w.NextAttemptTime, w.LastSuccessTime, w.LastFailureTime, w.LastError = 0, nil, nil, nil, ""
	w.LeaseOwner, w.LeaseUntil = "", nil
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if w.DeliveredPosition == 0 {
			var head eventHead
			if err := tx.Take(&head, 1).Error; err != nil {
				return err
			}
			w.DeliveredPosition = head.Position
		}
		if err := tx.Create(w).Error; err != nil {
			return conflict(err, "a webhook with this id")
		}
		return s.recordChange(ctx, tx, names.Webhook{ID: w.ID}.String(), Etag(w.Revision), []string{"created"})
	})
}

// GetWebhook reads a webhook; its secret stays sealed.
func (s *Store) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	var w Webhook
	if err := s.conn(ctx).Where("id = ?", id).Take(&w).Error; err != nil {
		return nil, notFound(err)
	}
	return &w, nil
}

// ListWebhooks returns a page of webhooks, oldest first.
func (s *Store) ListWebhooks(ctx context.Context, page Page) ([]Webhook, *Cursor, error) {
	limit := page.limit()
	q := keyset(s.conn(ctx).Model(&Webhook{}), "webhooks", Order{Column: "create_time"}, false, page.After)
	var rows []Webhook
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(w Webhook) Cursor { t := w.CreateTime; return Cursor{Time: &t, ID: w.ID} })
	return rows, next, nil
}

// DeleteWebhook removes a webhook and its delivery log. A delivery in
// flight finds the row gone when it records its outcome, and stops.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		var w Webhook
		if err := s.forUpdate(tx.Where("id = ?", id)).Take(&w).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Where("webhook_id = ?", id).Delete(&WebhookDelivery{}).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&Webhook{}).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, names.Webhook{ID: id}.String(), Etag(w.Revision), []string{"deleted"})
	})
}

// ListWebhookDeliveries returns a page of a webhook's delivery attempts,
// newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, webhookID string, page Page) ([]WebhookDelivery, *Cursor, error) {
	if _, err := s.GetWebhook(ctx, webhookID); err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q := keyset(s.conn(ctx).Model(&WebhookDelivery{}).Where("webhook_id = ?", webhookID),
		"webhook_deliveries", Order{Column: "time", Desc: true}, false, page.After)
	var rows []WebhookDelivery
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(d WebhookDelivery) Cursor { t := d.Time; return Cursor{Time: &t, ID: d.ID} })
	return rows, next, nil
}

// WebhookSecret opens a webhook's secret, for signing. A secret sealed
// under a key that is no longer the active one is sealed again on the way,
// so a key rotation reaches webhook secrets as they are used.
func (s *Store) WebhookSecret(ctx context.Context, w *Webhook) (string, error) {
	plain, err := s.cipher.Open(w.SealedSecret, sealWebhookSecret)
	if err != nil {
		return "", fmt.Errorf("repository: open webhook secret: %w", err)
	}
	if s.cipher.NeedsReseal(w.SealedSecret) {
		resealed, err := s.cipher.Seal(plain, sealWebhookSecret)
		if err != nil {
			return "", err
		}
		// Only if nobody changed it meanwhile; a lost race changes nothing.
		err = s.conn(ctx).Model(&Webhook{}).Where("id = ? AND secret = ?", w.ID, w.SealedSecret).
			Update("secret", resealed).Error
		if err != nil {
			return "", err
		}
		w.SealedSecret = resealed
	}
	return plain, nil
}

// LeaseWebhook gives owner the right to deliver the webhook for d, if the
// webhook is due (no retry pending, or its time has come) and nobody else
// holds a live lease. Its owner calls it again to renew. It is one
// conditional UPDATE, so of several servers sharing the database exactly
// one wins; the others get false.
func (s *Store) LeaseWebhook(ctx context.Context, id, owner string, d time.Duration) (bool, error) {
	now := s.clock()
	res := s.conn(ctx).Model(&Webhook{}).
		Where("id = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?) AND (next_attempt_time IS NULL OR next_attempt_time <= ?)",
			id, now, owner, now).
		Updates(map[string]any{"lease_owner": owner, "lease_until": now.Add(d)})
	return res.RowsAffected == 1, res.Error
}

// ReleaseWebhook gives up owner's lease, so any server may deliver the
// webhook at once.
func (s *Store) ReleaseWebhook(ctx context.Context, id, owner string) error {
	return s.conn(ctx).Model(&Webhook{}).Where("id = ? AND lease_owner = ?", id, owner).
		Updates(map[string]any{"lease_owner": "", "lease_until": nil}).Error
}

// RecordWebhookAttempt stores one delivery attempt and its effect on the
// webhook, together. A success moves the delivered position forward (never
// back) to the event's and clears the failures. A failure counts one more,
// notes the error, sets the next attempt retryIn from now and releases the
// lease. The delivery log keeps the newest keep attempts of the webhook.
// Only the lease owner may record: anyone else gets ErrLeaseLost, and a
// deleted webhook ErrNotFound, and nothing is written.
func (s *Store) RecordWebhookAttempt(ctx context.Context, owner string, d *WebhookDelivery, retryIn time.Duration, keep int) error {
	now := s.clock()
	if d.ID == "" {
		d.ID = uuid.Must(uuid.NewV7()).String()
	}
	d.Time = now
	var change map[string]any
	if d.Success {
		change = map[string]any{
			"delivered_position":   forward(d.Position),
			"consecutive_failures": 0,
			"next_attempt_time":    nil,
			"last_success_time":    now,
		}
	} else {
		change = map[string]any{
			"consecutive_failures": gorm.Expr("consecutive_failures + 1"),
			"next_attempt_time":    now.Add(retryIn),
			"last_failure_time":    now,
			"last_error":           d.Error,
			"lease_owner":          "",
			"lease_until":          nil,
		}
	}
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.ownedUpdate(tx, d.WebhookID, owner, change); err != nil {
			return err
		}
		if err := tx.Create(d).Error; err != nil {
			return err
		}
		return pruneDeliveries(tx, d.WebhookID, keep)
	})
}

// AdvanceWebhook moves the delivered position forward past events the
// webhook's filters left out. It never moves it back.
func (s *Store) AdvanceWebhook(ctx context.Context, id, owner string, position int64) error {
	return s.ownedUpdate(s.conn(ctx), id, owner, map[string]any{"delivered_position": forward(position)})
}

// SkipPrunedEvents moves a webhook that fell behind the feed's retention to
// the oldest event still kept, and records why in last_error. The events in
// between are lost to it: a webhook cannot resynchronise itself the way an
// API client can (by reading the resources again), so the gap is made
// visible instead. It returns the new delivered position.
func (s *Store) SkipPrunedEvents(ctx context.Context, id, owner string) (int64, error) {
	var pos int64
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		var head eventHead
		if err := tx.Take(&head, 1).Error; err != nil {
			return err
		}
		now := s.clock()
		if err := s.ownedUpdate(tx, id, owner, map[string]any{
			"delivered_position": forward(head.PrunedThrough),
			"last_error":         fmt.Sprintf("events pruned by retention: skipped to position %d", head.PrunedThrough),
			"last_failure_time":  now,
		}); err != nil {
			return err
		}
		return tx.Model(&Webhook{}).Where("id = ?", id).Select("delivered_position").Scan(&pos).Error
	})
	return pos, err
}

// forward sets delivered_position to p unless it is already further.
func forward(p int64) any {
	return gorm.Expr("CASE WHEN delivered_position < ? THEN ? ELSE delivered_position END", p, p)
}

// ownedUpdate changes a webhook only while owner holds its lease.
func (s *Store) ownedUpdate(tx *gorm.DB, id, owner string, change map[string]any) error {
	res := tx.Model(&Webhook{}).Where("id = ? AND lease_owner = ?", id, owner).Updates(change)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var n int64
	if err := tx.Model(&Webhook{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return ErrLeaseLost
}

// pruneDeliveries keeps the newest keep attempts of a webhook (all when
// keep <= 0), so the log stays bounded however long an endpoint fails.
func pruneDeliveries(tx *gorm.DB, webhookID string, keep int) error {
	if keep <= 0 {
		return nil
	}
	var cut []WebhookDelivery
	if err := tx.Where("webhook_id = ?", webhookID).Order("time DESC, id DESC").Offset(keep).Limit(1).
		Find(&cut).Error; err != nil || len(cut) == 0 {
		return err
	}
	c := cut[0]
	return tx.Where("webhook_id = ? AND (time < ? OR (time = ? AND id <= ?))", webhookID, c.Time, c.Time, c.ID).
		Delete(&WebhookDelivery{}).Error
}

// FeedLag is how far the change feed's readers trail its head.
type FeedLag struct {
	Head int64
	// Backlog sums, over webhooks, the events after each one's delivered
	// position (an upper bound: events a webhook's filters skip count
	// until its position passes them).
	Backlog int64
	// Oldest is the time of the oldest event some webhook still waits
	// for; nil when none waits.
	Oldest *time.Time
}

// FeedLag reads the feed's head and the webhooks' lag behind it, in two
// small queries, for the metrics.
func (s *Store) FeedLag(ctx context.Context) (FeedLag, error) {
	var lag FeedLag
	head, err := s.EventHead(ctx)
	if err != nil {
		return lag, err
	}
	lag.Head = head
	db := s.conn(ctx)
	if err := db.Raw(`SELECT COALESCE(SUM(? - delivered_position), 0) FROM webhooks WHERE delivered_position < ?`,
		head, head).Scan(&lag.Backlog).Error; err != nil {
		return lag, err
	}
	// The column itself, not MIN() of it, so that SQLite's driver knows
	// it holds a time.
	var oldest []time.Time
	err = db.Raw(`SELECT e.time FROM events e JOIN webhooks w ON e.position = w.delivered_position + 1
		WHERE w.delivered_position < ? ORDER BY e.position LIMIT 1`, head).Scan(&oldest).Error
	if len(oldest) == 1 {
		lag.Oldest = &oldest[0]
	}
	return lag, err
}
