package repository

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/audit"
)

// EventRecord is one entry of the change feed.
type EventRecord struct {
	Position      int64 `gorm:"primaryKey;autoIncrement:false"`
	Time          time.Time
	Type          string
	Resource      string
	ResourceType  string
	Etag          string
	ChangedFields List[string]
}

// TableName names EventRecord's table for gorm.
func (EventRecord) TableName() string { return "events" }

type eventHead struct {
	ID            int `gorm:"primaryKey;autoIncrement:false"`
	Position      int64
	PrunedThrough int64
}

// TableName names eventHead's table for gorm.
func (eventHead) TableName() string { return "event_head" }

// ErrEventsPruned means: the events after the asked position are partly gone to
// retention; the client must resynchronise from a fresh read.
var ErrEventsPruned = errors.New("events pruned")

// resourceType names the collection of the last id in a resource name:
// "households/a/members/b" is a member. API keys and other administrative
// resources are not part of the feed.
func resourceType(resource string) string {
	parts := strings.Split(resource, "/")
	if len(parts) == 1 && resource == "contactPolicy" {
		return resource // a singleton is its own type
	}
	if len(parts) < 2 {
		return ""
	}
	switch t := parts[len(parts)-2]; t {
	case "households", "members", "cases", "notes", "campaigns", "visits", "contacts", "assistance",
		"organizations", "measures", "reviews", "complaints", "recruitmentEvents", "invitations", "applications",
		"referrals", "attachments", "agencies", "alerts":
		return t
	}
	return ""
}

// EventTypeServer is the type of an event of a change the server made by
// itself, in no call (a legal-aid application withdrawn when its materials
// lapsed).
const EventTypeServer = "Change"

// eventType is the short name of the method that made a change
// ("/casework.v1.CaseService/SubmitCase" → "SubmitCase").
func eventType(r *audit.Record) string {
	if r == nil || r.Method == "" {
		return EventTypeServer
	}
	m := r.Method
	if i := strings.LastIndexAny(m, "/ "); i >= 0 {
		m = m[i+1:]
	}
	return m
}

// appendEvents adds the changes to the feed inside tx. Updating the head
// row takes its lock until commit, so positions are handed out in commit
// order and ones that are rolled back are handed out again: the feed has no
// gaps and no event becomes visible behind one already read. A batch takes
// all its positions with one update.
func (s *Store) appendEvents(ctx context.Context, tx *gorm.DB, changes []change) error {
	now, typ := s.clock(), eventType(audit.FromContext(ctx))
	var records []EventRecord
	for _, c := range changes {
		if r, ok := eventFor(now, typ, c); ok {
			records = append(records, r)
		}
	}
	if len(records) == 0 {
		return nil
	}
	var head eventHead
	if err := tx.Raw("UPDATE event_head SET position = position + ? WHERE id = 1 RETURNING id, position, pruned_through", len(records)).Scan(&head).Error; err != nil {
		return err
	}
	first := head.Position - int64(len(records)) + 1
	for i := range records {
		records[i].Position = first + int64(i)
	}
	return tx.CreateInBatches(records, insertBatch).Error
}

// eventFor is the feed event of a change, without its position; false
// for a resource that is not part of the feed.
func eventFor(now time.Time, typ string, c change) (EventRecord, bool) {
	rt := resourceType(c.resource)
	if rt == "" {
		return EventRecord{}, false
	}
	return EventRecord{Time: now, Type: typ, Resource: c.resource, ResourceType: rt,
		Etag: c.etag, ChangedFields: c.fields}, true
}

// EventQuery asks for events after a position.
type EventQuery struct {
	After         int64
	Limit         int
	ResourceTypes []string
	EventTypes    []string
}

// ListEvents returns events after q.After in position order, and the
// position to ask after next: the last one examined, which filtered-out
// events advance too. After 0 starts at the oldest event kept; a later
// position that retention removed is ErrEventsPruned.
func (s *Store) ListEvents(ctx context.Context, q EventQuery) ([]EventRecord, int64, error) {
	var head eventHead
	if err := s.conn(ctx).Take(&head, 1).Error; err != nil {
		return nil, q.After, err
	}
	switch {
	case q.After == 0:
		// From the start: the oldest event retention kept.
		q.After = head.PrunedThrough
	case q.After < head.PrunedThrough:
		return nil, q.After, ErrEventsPruned
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	// Read a window of positions, then filter, so the next position moves
	// past filtered-out events instead of scanning them again.
	var rows []EventRecord
	if err := s.conn(ctx).Where("position > ?", q.After).Order("position").Limit(limit).Find(&rows).Error; err != nil {
		return nil, q.After, err
	}
	next := q.After
	out := rows[:0]
	for _, r := range rows {
		next = r.Position
		if matches(q.ResourceTypes, r.ResourceType) && matches(q.EventTypes, r.Type) {
			out = append(out, r)
		}
	}
	return out, next, nil
}

func matches(allowed []string, v string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if a == v {
			return true
		}
	}
	return false
}

// EventHead is the position of the newest event.
func (s *Store) EventHead(ctx context.Context) (int64, error) {
	var head eventHead
	err := s.conn(ctx).Take(&head, 1).Error
	return head.Position, err
}

// PruneEvents removes events older than before, oldest first, and records
// how far it went so that clients asking for them hear they are gone.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var last int64
	err := s.conn(ctx).Model(&EventRecord{}).Where("time < ?", before.UTC()).
		Select("COALESCE(MAX(position), 0)").Scan(&last).Error
	if err != nil || last == 0 {
		return 0, err
	}
	var n int64
	err = s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("UPDATE event_head SET pruned_through = ? WHERE id = 1 AND pruned_through < ?", last, last).Error; err != nil {
			return err
		}
		res := tx.Where("position <= ?", last).Delete(&EventRecord{})
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}
