package sealed

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"sync"
)

// Keyring holds the data-encryption keys by id, which of them is active
// (used by Seal), the blind-index key, and the audit keys that the audit
// chain's hashes are MACs under. It is safe for concurrent use.
//
// Obtain one from Generate, Parse, Load or LoadOrCreate; the zero value
// has no keys. Rotate, RotateAuditKey and UpgradeAudit change only memory:
// Save the keyring afterwards.
type Keyring struct {
	mu       sync.RWMutex
	active   string
	keys     map[string]dataKey
	indexKey []byte // never changes after construction

	auditActive string
	auditKeys   map[string][]byte
	// auditUnkeyedUntil is the last audit entry that may be unkeyed: the
	// chain's length when an older keyring got its first audit key.
	auditUnkeyedUntil int64
}

type dataKey struct {
	raw  []byte
	aead cipher.AEAD // the stdlib GCM is stateless after setup, so shared
}

func newDataKey(raw []byte) (dataKey, error) {
	if len(raw) != keySize {
		return dataKey{}, fmt.Errorf("sealed: data key must be %d bytes, got %d", keySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return dataKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return dataKey{}, err
	}
	return dataKey{raw: bytes.Clone(raw), aead: aead}, nil
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Generate returns a keyring with one fresh data key and a fresh index key.
func Generate() (*Keyring, error) {
	idx, err := randomBytes(keySize)
	if err != nil {
		return nil, err
	}
	k := &Keyring{keys: map[string]dataKey{}, indexKey: idx, auditKeys: map[string][]byte{}}
	if _, err := k.Rotate(); err != nil {
		return nil, err
	}
	// A new keyring starts a new chain: every entry is keyed (unkeyed
	// until 0).
	if _, err := k.RotateAuditKey(); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate adds a fresh data key and makes it active. Older keys stay so
// existing values still open; the index key is deliberately untouched
// (see the package comment).
func (k *Keyring) Rotate() (newID string, err error) {
	raw, err := randomBytes(keySize)
	if err != nil {
		return "", err
	}
	dk, err := newDataKey(raw)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		if newID, err = newKeyID("k"); err != nil {
			return "", err
		}
		if _, clash := k.keys[newID]; !clash {
			break
		}
	}
	k.keys[newID] = dk
	k.active = newID
	return newID, nil
}

// RotateAuditKey adds a fresh audit key and makes it active. Older audit
// keys stay: the entries hashed under them are verified with them.
func (k *Keyring) RotateAuditKey() (newID string, err error) {
	raw, err := randomBytes(keySize)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		if newID, err = newKeyID("a"); err != nil {
			return "", err
		}
		if _, clash := k.auditKeys[newID]; !clash {
			break
		}
	}
	if k.auditKeys == nil {
		k.auditKeys = map[string][]byte{}
	}
	k.auditKeys[newID] = raw
	k.auditActive = newID
	return newID, nil
}

// UpgradeAudit gives a keyring from before audit keys (version 1) its first
// audit key, and records unkeyedUntil, the audit chain's length now: the
// entries up to it were hashed without a key, every later one must be
// keyed. It reports whether it added a key; a keyring that has one is left
// alone.
//
// The key is derived from the index key rather than drawn at random, so
// that servers upgrading the same file at once all arrive at the same key
// and id, and none of them seals entries under a key another's save threw
// away. It is no weaker: whoever reads the index key reads the file.
func (k *Keyring) UpgradeAudit(unkeyedUntil int64) (bool, error) {
	if unkeyedUntil < 0 {
		return false, errors.New("sealed: negative audit sequence number")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.auditActive != "" {
		return false, nil
	}
	if len(k.indexKey) != keySize {
		return false, errors.New("sealed: keyring has no index key to derive an audit key from")
	}
	raw, err := hkdf.Key(sha256.New, k.indexKey, nil, "casework audit key 1", keySize)
	if err != nil {
		return false, err
	}
	idBytes, err := hkdf.Key(sha256.New, k.indexKey, nil, "casework audit key id 1", 4)
	if err != nil {
		return false, err
	}
	id := "a" + hex.EncodeToString(idBytes)
	k.auditKeys = map[string][]byte{id: raw}
	k.auditActive = id
	k.auditUnkeyedUntil = unkeyedUntil
	return true, nil
}

// ActiveAuditKeyID names the audit key new entries are hashed under, ""
// if the keyring has none yet.
func (k *Keyring) ActiveAuditKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.auditActive
}

// AuditMAC returns a fresh HMAC-SHA256 under the audit key id names, or
// ErrUnknownKey. The key itself never leaves the keyring.
func (k *Keyring) AuditMAC(id string) (hash.Hash, error) {
	k.mu.RLock()
	key, ok := k.auditKeys[id]
	k.mu.RUnlock()
	if !ok {
		return nil, ErrUnknownKey
	}
	return hmac.New(sha256.New, key), nil
}

// UnkeyedAuditUntil is the last audit sequence number that may be unkeyed
// (see UpgradeAudit); math.MaxInt64 when the keyring has no audit key, and
// so cannot say.
func (k *Keyring) UnkeyedAuditUntil() int64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.auditActive == "" {
		return math.MaxInt64
	}
	return k.auditUnkeyedUntil
}

// ActiveKeyID returns the id Seal currently uses.
func (k *Keyring) ActiveKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// NeedsReseal reports whether value should be rewritten: it is non-empty
// and not sealed under the active key (legacy plaintext, or an old key).
func (k *Keyring) NeedsReseal(value string) bool {
	if value == "" {
		return false
	}
	id, ok := KeyID(value)
	return !ok || id != k.ActiveKeyID()
}

// Seal encrypts plaintext under the active key, bound to context. Empty
// plaintext seals to "" so optional fields stay empty.
func (k *Keyring) Seal(plaintext, context string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	k.mu.RLock()
	id, dk := k.active, k.keys[k.active]
	k.mu.RUnlock()
	if dk.aead == nil {
		return "", errors.New("sealed: keyring has no active key")
	}
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	buf = dk.aead.Seal(buf, buf[:nonceSize], []byte(plaintext), []byte(context))
	return prefixV1 + id + ":" + b64.EncodeToString(buf), nil
}

// Open decrypts a value Seal produced for the same context. "" opens to
// "". It fails with ErrNotSealed, ErrUnknownKey or ErrCorrupt.
func (k *Keyring) Open(value, context string) (string, error) {
	if value == "" {
		return "", nil
	}
	if !IsSealed(value) {
		return "", ErrNotSealed
	}
	id, enc, ok := splitV1(value)
	if !ok {
		return "", ErrCorrupt
	}
	blob, err := b64.DecodeString(enc)
	// The length check rejects CR and LF, which even the strict decoder
	// skips; without it one blob would have many spellings.
	if err != nil || b64.EncodedLen(len(blob)) != len(enc) || len(blob) < nonceSize+tagSize {
		return "", ErrCorrupt
	}
	k.mu.RLock()
	dk, ok := k.keys[id]
	k.mu.RUnlock()
	if !ok {
		return "", ErrUnknownKey
	}
	plain, err := dk.aead.Open(nil, blob[:nonceSize], blob[nonceSize:], []byte(context))
	if err != nil {
		return "", ErrCorrupt
	}
	return string(plain), nil
}

// Index returns the blind index of value for context (64 hex digits, ""
// for ""). It is deterministic, so a unique index and equality lookups
// work on it, and it survives Rotate.
func (k *Keyring) Index(value, context string) string {
	if len(k.indexKey) != keySize {
		// An HMAC under an empty key is an unkeyed hash: anyone could
		// recompute the index of every ID number. Refuse loudly.
		panic("sealed: Index on a keyring without an index key")
	}
	return blindIndex(k.indexKey, value, context)
}

// String keeps key material out of logs: fmt would otherwise print the
// unexported fields of a *Keyring passed to %v.
func (k *Keyring) String() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return fmt.Sprintf("sealed.Keyring{active: %q, keys: %d, audit active: %q, audit keys: %d}",
		k.active, len(k.keys), k.auditActive, len(k.auditKeys))
}

// GoString covers %#v for the same reason as String.
func (k *Keyring) GoString() string { return k.String() }

// document is the versioned on-disk form. Version 1 has no audit keys;
// version 2 has at least one. Both are read; a keyring is written as
// version 2 once it has an audit key.
type document struct {
	Version  int               `json:"version"`
	Active   string            `json:"active"`
	Keys     map[string]string `json:"keys"`
	IndexKey string            `json:"index_key"`

	AuditActive       string            `json:"audit_active,omitempty"`
	AuditKeys         map[string]string `json:"audit_keys,omitempty"`
	AuditUnkeyedUntil int64             `json:"audit_unkeyed_until,omitempty"`
}

const (
	docVersionDataKeys  = 1
	docVersionAuditKeys = 2
)

// Marshal returns the keyring as a JSON document. It is an explicit method
// rather than MarshalJSON so that a Keyring embedded in some other struct
// is never serialised (and leaked) by accident.
func (k *Keyring) Marshal() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	doc := document{
		Version:  docVersionDataKeys,
		Active:   k.active,
		Keys:     make(map[string]string, len(k.keys)),
		IndexKey: base64.StdEncoding.EncodeToString(k.indexKey),
	}
	for id, dk := range k.keys {
		doc.Keys[id] = base64.StdEncoding.EncodeToString(dk.raw)
	}
	if k.auditActive != "" {
		doc.Version = docVersionAuditKeys
		doc.AuditActive = k.auditActive
		doc.AuditUnkeyedUntil = k.auditUnkeyedUntil
		doc.AuditKeys = make(map[string]string, len(k.auditKeys))
		for id, raw := range k.auditKeys {
			doc.AuditKeys[id] = base64.StdEncoding.EncodeToString(raw)
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Parse reads a document written by Marshal and validates it.
func Parse(data []byte) (*Keyring, error) {
	var doc document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		// json errors can quote a character of the input, which here is
		// key material, so only the position is passed on.
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, fmt.Errorf("sealed: keyring is not valid JSON (offset %d)", syn.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("sealed: keyring is not valid JSON (truncated)")
		}
		return nil, errors.New("sealed: keyring does not match the expected JSON structure")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("sealed: keyring has data after the JSON document")
	}
	switch doc.Version {
	case docVersionDataKeys:
		if doc.AuditActive != "" || doc.AuditKeys != nil || doc.AuditUnkeyedUntil != 0 {
			return nil, errors.New("sealed: a version 1 keyring cannot hold audit keys")
		}
	case docVersionAuditKeys:
	default:
		return nil, fmt.Errorf("sealed: unsupported keyring version %d", doc.Version)
	}
	idx, err := decodeKey(doc.IndexKey)
	if err != nil {
		return nil, fmt.Errorf("sealed: index_key: %w", err)
	}
	k := &Keyring{active: doc.Active, keys: make(map[string]dataKey, len(doc.Keys)), indexKey: idx}
	for id, enc := range doc.Keys {
		if !validKeyID(id) {
			return nil, fmt.Errorf("sealed: invalid key id %q", id)
		}
		raw, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("sealed: key %q: %w", id, err)
		}
		// A shared key would tie the index to the encryption keys, so a
		// copy-paste mistake is caught here rather than never.
		if bytes.Equal(raw, idx) {
			return nil, fmt.Errorf("sealed: key %q equals the index key", id)
		}
		if k.keys[id], err = newDataKey(raw); err != nil {
			return nil, err
		}
	}
	if _, ok := k.keys[doc.Active]; !ok {
		return nil, errors.New("sealed: active key id is missing from keys")
	}
	if doc.Version == docVersionAuditKeys {
		if err := k.parseAudit(doc); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// parseAudit reads the audit keys of a version 2 document.
func (k *Keyring) parseAudit(doc document) error {
	if doc.AuditUnkeyedUntil < 0 {
		return errors.New("sealed: audit_unkeyed_until is negative")
	}
	k.auditKeys = make(map[string][]byte, len(doc.AuditKeys))
	for id, enc := range doc.AuditKeys {
		if !validKeyID(id) {
			return fmt.Errorf("sealed: invalid audit key id %q", id)
		}
		raw, err := decodeKey(enc)
		if err != nil {
			return fmt.Errorf("sealed: audit key %q: %w", id, err)
		}
		// As for data keys: a key pasted twice ties two purposes together.
		if bytes.Equal(raw, k.indexKey) {
			return fmt.Errorf("sealed: audit key %q equals the index key", id)
		}
		for did, dk := range k.keys {
			if bytes.Equal(raw, dk.raw) {
				return fmt.Errorf("sealed: audit key %q equals data key %q", id, did)
			}
		}
		k.auditKeys[id] = raw
	}
	if _, ok := k.auditKeys[doc.AuditActive]; !ok {
		return errors.New("sealed: active audit key id is missing from audit_keys")
	}
	k.auditActive = doc.AuditActive
	k.auditUnkeyedUntil = doc.AuditUnkeyedUntil
	return nil
}

// decodeKey's errors name the problem, never the bytes.
func decodeKey(enc string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("not valid base64")
	}
	if len(raw) != keySize {
		return nil, fmt.Errorf("must be %d bytes, got %d", keySize, len(raw))
	}
	return raw, nil
}
