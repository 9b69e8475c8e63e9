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
	Principal string `gorm:"primaryKey"`
	// RequestID is the caller's id when saving; at rest, and in a record
	// FindRequest returns, it is the id's blind index (requestIDKey).
	RequestID   string `gorm:"primaryKey"`
	Method      string
	RequestHash string
	// Response is the marshalled answer: plaintext here, sealed at rest.
	Response   []byte `gorm:"-"`
	Sealed     string `gorm:"column:response"`
	CreateTime time.Time
	ExpireTime time.Time
}

// TableName names RequestRecord's table for gorm.
func (RequestRecord) TableName() string { return "request_ids" }

const (
	sealResponse = "request_ids.response"
	// indexRequestID is the blind-index context of request ids. A request id
	// is whatever the caller chose, and callers choose business keys: an
	// 18-digit id that is someone's ID number is a valid request id. So the
	// column holds a keyed hash (HMAC with the keyring's index key, which is
	// not in the database), and every lookup hashes the same way.
	//
	// Records written before ids were hashed hold the raw id. No lookup
	// matches them, so a retry across the upgrade of a request first
	// answered before it runs again, as after its TTL; they are pruned
	// with the other expired records within the request-id TTL (24 hours
	// by default), and the plaintext with them.
	indexRequestID = "request_ids.request_id"
)

// requestIDKey is what the request_id column holds for a caller's id.
func (s *Store) requestIDKey(requestID string) string {
	return s.cipher.Index(requestID, indexRequestID)
}

// ErrRequestRecorded means: another request with the same principal and request id
// committed first.
var ErrRequestRecorded = errors.New("request id already recorded")

// FindRequest returns the unexpired record of a principal's request id, or
// ErrNotFound.
func (s *Store) FindRequest(ctx context.Context, principal, requestID string) (*RequestRecord, error) {
	var r RequestRecord
	err := s.conn(ctx).Where("principal = ? AND request_id = ? AND expire_time > ?", principal, s.requestIDKey(requestID), s.clock()).Take(&r).Error
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
	// A copy: r keeps the caller's id, so saving it again hashes the same.
	row := *r
	row.RequestID = s.requestIDKey(r.RequestID)
	row.Sealed, row.CreateTime, row.ExpireTime = sealedResp, now, now.Add(ttl)
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		// An expired record not yet pruned gives way to the new one.
		if err := tx.Where("principal = ? AND request_id = ? AND expire_time <= ?", row.Principal, row.RequestID, now).
			Delete(&RequestRecord{}).Error; err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
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
