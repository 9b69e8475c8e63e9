package authn

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/fengdu-county/casework/internal/access/principal"
)

// API keys look like cwk_<id>_<secret>: the id (12 lowercase base32
// characters) names the stored record, the secret (32 random bytes,
// unpadded base64url) proves possession. The prefix lets secret scanners and
// people recognise a leaked key.
const (
	apiKeyPrefix    = "cwk_"
	apiKeyIDLen     = 12
	apiKeySecretLen = 43 // base64url length of 32 bytes, unpadded
	apiKeyLen       = len(apiKeyPrefix) + apiKeyIDLen + 1 + apiKeySecretLen
)

const base32Lower = "abcdefghijklmnopqrstuvwxyz234567"

var lowerBase32 = base32.NewEncoding(base32Lower).WithPadding(base32.NoPadding)

// IsAPIKey tells an API key from a token in a bearer credential: by its
// prefix, which a JWT (base64url of a JSON header) never has.
func IsAPIKey(cred string) bool { return strings.HasPrefix(cred, apiKeyPrefix) }

// NewAPIKey returns a fresh key: its id, its secret and the full string to
// hand out once. Store only the id and HashSecret(secret).
func NewAPIKey() (id, secret, full string, err error) {
	var idBytes [8]byte // 64 bits; the 12 characters keep 60 of them
	var secretBytes [32]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return "", "", "", err
	}
	if _, err := rand.Read(secretBytes[:]); err != nil {
		return "", "", "", err
	}
	id = lowerBase32.EncodeToString(idBytes[:])[:apiKeyIDLen]
	secret = base64.RawURLEncoding.EncodeToString(secretBytes[:])
	return id, secret, apiKeyPrefix + id + "_" + secret, nil
}

// ParseAPIKey splits a full key into id and secret. It is strict: any
// deviation from the format NewAPIKey produces is refused. The secret may
// itself contain '_', so the key is split by position, not by separator.
func ParseAPIKey(full string) (id, secret string, err error) {
	bad := unauthenticated("malformed api key")
	if len(full) != apiKeyLen || !strings.HasPrefix(full, apiKeyPrefix) {
		return "", "", bad
	}
	id = full[len(apiKeyPrefix) : len(apiKeyPrefix)+apiKeyIDLen]
	if full[len(apiKeyPrefix)+apiKeyIDLen] != '_' {
		return "", "", bad
	}
	secret = full[len(full)-apiKeySecretLen:]
	for i := range len(id) {
		if strings.IndexByte(base32Lower, id[i]) < 0 {
			return "", "", bad
		}
	}
	// Decoding alone would skip newlines and accept non-zero trailing bits;
	// re-encoding must give back the exact text.
	b, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(b) != 32 || base64.RawURLEncoding.EncodeToString(b) != secret {
		return "", "", bad
	}
	return id, secret, nil
}

// HashSecret returns the hex SHA-256 of secret, the form kept in storage.
// A fast unsalted hash is enough: secrets are 256 random bits, so there is
// nothing to brute-force or look up, unlike passwords.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches reports whether secret hashes to hash, in constant time.
func SecretMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(hash)) == 1
}

// APIKeyRecord is a stored API key. Looking it up by ID is the caller's job.
type APIKeyRecord struct {
	ID, Name   string
	Roles      []principal.Role
	Towns      []string
	SecretHash string
	// ExpireTime, if set, is when the key stops working. RevokeTime, if set,
	// means the key was revoked; it is kept for the record.
	ExpireTime, RevokeTime *time.Time
	// AwaitsApproval: the key carries a people's role and no second admin
	// has approved it yet, so it admits no one.
	AwaitsApproval bool
}

// Principal checks secret against the record and returns the service
// principal the key stands for.
func (r *APIKeyRecord) Principal(now time.Time, secret string) (*principal.Principal, error) {
	// The secret is checked first so that someone without it learns nothing
	// about the key, not even that it was revoked or has expired.
	if !SecretMatches(secret, r.SecretHash) {
		return nil, unauthenticated("bad secret")
	}
	return r.servicePrincipal(now, "api-key")
}
