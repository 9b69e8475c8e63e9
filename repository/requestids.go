package repository

import (
	"context"
	"encoding/base64"
	"errors"
	"time"

	"gorm.io/gorm"
)

// RequestRecord is the first answer to an idempotent request (AIP-155).
type RequestRecord struct {
	Principal   string `gorm:"primaryKey"`
	RequestID   string `gorm:"primaryKey"`
	Method      string
	RequestHash string
	// Response is the marshalled answer: plaintext here, sealed at rest.
	Response   []byte `gorm:"-"`
	Sealed     string `gorm:"column:response"`
	CreateTime time.Time
	ExpireTime time.Time
}

func (RequestRecord) TableName() string { return "request_ids" }

const sealResponse = "request_ids.response"

// ErrRequestRecorded: another request with the same principal and request id
// committed first.
var ErrRequestRecorded = errors.New("request id already recorded")

// FindRequest returns the unexpired record of a principal's request id, or
// ErrNotFound.
func (s *Store) FindRequest(ctx context.Context, principal, requestID string) (*RequestRecord, error) {
	var r RequestRecord
	err := s.conn(ctx).Where("principal = ? AND request_id = ? AND expire_time > ?", principal, requestID, s.clock()).Take(&r).Error
	if err != nil {
		return nil, notFound(err)
	}
	plain, err := s.cipher.Open(r.Sealed, sealResponse)
	if err != nil {
		return nil, err
	}
	if r.Response, err = base64.StdEncoding.DecodeString(plain); err != nil {
		return nil, err
	}
	return &r, nil
}

// SaveRequest records r, to be kept for ttl. Called inside the transaction
// of the change it answers (see InTx), it commits exactly when the change
// does. A record that commits first for the same key makes this fail with
// ErrRequestRecorded, and the caller's transaction roll back.
func (s *Store) SaveRequest(ctx context.Context, r *RequestRecord, ttl time.Duration) error {
	sealedResp, err := s.cipher.Seal(base64.StdEncoding.EncodeToString(r.Response), sealResponse)
	if err != nil {
		return err
	}
	now := s.clock()
	r.Sealed, r.CreateTime, r.ExpireTime = sealedResp, now, now.Add(ttl)
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		// An expired record not yet pruned gives way to the new one.
		if err := tx.Where("principal = ? AND request_id = ? AND expire_time <= ?", r.Principal, r.RequestID, now).
			Delete(&RequestRecord{}).Error; err != nil {
			return err
		}
		if err := tx.Create(r).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrRequestRecorded
			}
			return err
		}
		return nil
	})
}

// PruneRequests removes expired records and reports how many.
func (s *Store) PruneRequests(ctx context.Context) (int64, error) {
	res := s.conn(ctx).Where("expire_time <= ?", s.clock()).Delete(&RequestRecord{})
	return res.RowsAffected, res.Error
}
