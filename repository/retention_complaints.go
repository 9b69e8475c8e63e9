package repository

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
)

// Columns of a complaint that hold the complainant's identity or their
// account, set to "" on erasure; the retired plaintext columns too, in case
// a row from before migration 00015 still holds text there.
var erasedComplaintColumns = []string{"complainant_name", "complainant_phone", "description_sealed", "resolution_sealed",
	"description", "resolution"}

// ErasableComplaints lists up to limit complaints closed (upheld or
// dismissed) before cutoff and not yet erased, those closed first first.
// A closed complaint changes no more, so its update time is its closing.
func (s *Store) ErasableComplaints(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.erasableComplaints(ctx, cutoff).Order("update_time, id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// CountErasableComplaints is how many complaints ErasableComplaints would
// list without a limit.
func (s *Store) CountErasableComplaints(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.erasableComplaints(ctx, cutoff).Count(&n).Error
	return n, err
}

func (s *Store) erasableComplaints(ctx context.Context, cutoff time.Time) *gorm.DB {
	return s.conn(ctx).Model(&Complaint{}).Where("erase_time IS NULL AND state IN ? AND update_time < ?",
		[]domain.ComplaintState{domain.ComplaintUpheld, domain.ComplaintDismissed}, cutoff.UTC())
}

// EraseComplaints erases, in one transaction, the complainant's data of
// the complaints ids that are closed and not yet erased (others are passed
// by, so overlapping runs erase each once), and returns how many it
// erased. The rows stay, with their measure, state, suspension and dates;
// each gets an audit entry and a feed event naming the erased fields.
func (s *Store) EraseComplaints(ctx context.Context, ids []string) (int, error) {
	n := 0
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		now := s.clock()
		var cs []Complaint
		if err := s.forUpdate(tx.Where("id IN ? AND erase_time IS NULL AND state IN ?", ids,
			[]domain.ComplaintState{domain.ComplaintUpheld, domain.ComplaintDismissed})).Order("id").Find(&cs).Error; err != nil {
			return err
		}
		changes := make([]change, 0, len(cs))
		for _, c := range cs {
			upd := blank(erasedComplaintColumns)
			upd["erase_time"], upd["update_time"], upd["revision"] = now, now, c.Revision+1
			if err := tx.Model(&Complaint{}).Where("id = ?", c.ID).Updates(upd).Error; err != nil {
				return err
			}
			changes = append(changes, change{resource: c.resource(), etag: Etag(c.Revision + 1),
				fields: []string{"erase_time", "complainant_name", "complainant_phone", "description", "resolution"}})
		}
		n = len(cs)
		return s.recordChanges(ctx, tx, changes)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
