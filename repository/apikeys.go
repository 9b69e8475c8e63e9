package repository

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/names"
)

// CreateAPIKey stores a new key (its secret only as a hash).
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	k.CreateTime, k.RevokeTime = s.clock(), nil
	k.ExpireTime = k.ExpireTime.UTC().Truncate(timeUnit)
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(k).Error; err != nil {
			return conflict(err, "a live API key for this account")
		}
		return s.recordChange(ctx, tx, names.APIKey{ID: k.ID}.String(), "", []string{"created"})
	})
}

// GetAPIKey reads a key, revoked or not.
func (s *Store) GetAPIKey(ctx context.Context, id string) (*APIKey, error) {
	var k APIKey
	if err := s.conn(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		return nil, notFound(err)
	}
	return &k, nil
}

// ListAPIKeys returns a page of keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, page Page) ([]APIKey, *Cursor, error) {
	limit := page.limit()
	q := keyset(s.conn(ctx).Model(&APIKey{}), "api_keys", Order{Column: "create_time"}, false, page.After)
	var rows []APIKey
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(k APIKey) Cursor { t := k.CreateTime; return Cursor{Time: &t, ID: k.ID} })
	return rows, next, nil
}

// RevokeAPIKey revokes a live key at once.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) (*APIKey, error) {
	var k APIKey
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.forUpdate(tx.Where("id = ? AND revoke_time IS NULL", id)).Take(&k).Error; err != nil {
			return notFound(err)
		}
		now := s.clock()
		k.RevokeTime = &now
		if err := tx.Model(&k).Update("revoke_time", now).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, names.APIKey{ID: k.ID}.String(), "", []string{"revoke_time"})
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// ErrSelfApproval refuses the approval of a key by the admin who created it.
var ErrSelfApproval = errors.New("a key must be approved by an admin other than its creator")

// ApproveAPIKey approves a live key that awaits approval, by approver, who
// must not be its creator.
func (s *Store) ApproveAPIKey(ctx context.Context, id, approver string) (*APIKey, error) {
	var k APIKey
	err := s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.forUpdate(tx.Where("id = ? AND revoke_time IS NULL", id)).Take(&k).Error; err != nil {
			return notFound(err)
		}
		switch {
		case !k.NeedsApproval || k.ApproveTime != nil:
			return errPrecondition("API_KEY_NOT_PENDING", names.APIKey{ID: id}.String(), "the key does not await approval")
		case k.Creator == approver:
			return ErrSelfApproval
		}
		now := s.clock()
		k.Approver, k.ApproveTime = approver, &now
		if err := tx.Model(&k).Updates(map[string]any{"approver": approver, "approve_time": now}).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, names.APIKey{ID: k.ID}.String(), "", []string{"approver", "approve_time"})
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// APIKeyByID returns the credential record of a key, for authentication.
func (s *Store) APIKeyByID(ctx context.Context, id string) (*authn.APIKeyRecord, error) {
	k, err := s.GetAPIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	return k.Record(), nil
}

// APIKeyByAccount returns the live key of an account, for client
// certificates that name the account.
func (s *Store) APIKeyByAccount(ctx context.Context, account string) (*authn.APIKeyRecord, error) {
	var k APIKey
	if err := s.conn(ctx).Where("account = ? AND revoke_time IS NULL", account).Take(&k).Error; err != nil {
		return nil, notFound(err)
	}
	return k.Record(), nil
}

// Record converts a stored key to the form authn checks.
func (k *APIKey) Record() *authn.APIKeyRecord {
	r := &authn.APIKeyRecord{ID: k.ID, Name: k.Account, Roles: k.Roles, Towns: k.Towns,
		SecretHash: k.SecretHash, RevokeTime: k.RevokeTime, AwaitsApproval: k.NeedsApproval && k.ApproveTime == nil}
	exp := k.ExpireTime
	r.ExpireTime = &exp
	return r
}
