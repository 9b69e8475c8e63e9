package repository

import (
	"context"

	"gorm.io/gorm"
)

// ResealProgress reports a reseal pass as it goes.
type ResealProgress struct {
	Table string
	Done  int // rows resealed so far in Table
}

// Reseal re-encrypts every sensitive value that is not sealed under the
// active key (older keys, or plaintext written before encryption existed)
// and fills missing blind indexes, batch rows per transaction, so a
// rotation runs beside live traffic without long locks. It does not change
// revisions: the values mean the same, so clients' etags stay valid.
func (s *Store) Reseal(ctx context.Context, batch int, progress func(ResealProgress)) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	tables := []struct {
		name    string
		reseal  func(tx *gorm.DB, ids []string) error
		idQuery func(tx *gorm.DB, pattern string) *gorm.DB
	}{
		{
			name: "households",
			idQuery: func(tx *gorm.DB, pattern string) *gorm.DB {
				return tx.Model(&Household{}).Where(
					"(servicemember_id_number <> '' AND servicemember_id_number NOT LIKE ?) OR (phone <> '' AND phone NOT LIKE ?) OR (servicemember_id_number <> '' AND servicemember_id_index = '')",
					pattern, pattern)
			},
			reseal: func(tx *gorm.DB, ids []string) error {
				var rows []Household
				if err := s.forUpdate(tx.Where("id IN ?", ids)).Find(&rows).Error; err != nil {
					return err
				}
				for i := range rows {
					h := &rows[i]
					if err := h.open(s.cipher); err != nil {
						return err
					}
					if err := h.seal(s.cipher); err != nil {
						return err
					}
					if err := tx.Model(h).Updates(map[string]any{
						"servicemember_id_number": h.ServicememberIDNumber, "phone": h.Phone,
						"servicemember_id_index": h.ServicememberIDIndex,
					}).Error; err != nil {
						return conflict(err, duplicateHousehold)
					}
				}
				return nil
			},
		},
		{
			name: "members",
			idQuery: func(tx *gorm.DB, pattern string) *gorm.DB {
				return tx.Model(&Member{}).Where(
					"(id_number <> '' AND id_number NOT LIKE ?) OR (phone <> '' AND phone NOT LIKE ?) OR (id_number <> '' AND id_number_index = '')",
					pattern, pattern)
			},
			reseal: func(tx *gorm.DB, ids []string) error {
				var rows []Member
				if err := s.forUpdate(tx.Where("id IN ?", ids)).Find(&rows).Error; err != nil {
					return err
				}
				for i := range rows {
					m := &rows[i]
					if err := m.open(s.cipher); err != nil {
						return err
					}
					if err := m.seal(s.cipher); err != nil {
						return err
					}
					if err := tx.Model(m).Updates(map[string]any{
						"id_number": m.IDNumber, "phone": m.Phone, "id_number_index": m.IDNumberIndex,
					}).Error; err != nil {
						return conflict(err, duplicateMember)
					}
				}
				return nil
			},
		},
	}
	for _, t := range tables {
		done := 0
		for {
			// The active key is read per batch: a keyring that reloads a
			// rotation mid-run seals under the newer key, and a pattern
			// fixed at the start would select those rows again forever.
			pattern := "sealed:v1:" + s.cipher.ActiveKeyID() + ":%"
			var ids []string
			if err := t.idQuery(s.db.WithContext(ctx), pattern).Order("id").Limit(batch).Pluck("id", &ids).Error; err != nil {
				return total, err
			}
			if len(ids) == 0 {
				break
			}
			if err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return t.reseal(tx, ids) }); err != nil {
				return total, err
			}
			done += len(ids)
			total += len(ids)
			if progress != nil {
				progress(ResealProgress{Table: t.name, Done: done})
			}
		}
	}
	return total, nil
}
