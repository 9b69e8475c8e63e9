package sealed

import (
	"bytes"
	"errors"
	"hash"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reloading is a Cipher backed by a keyring file that it re-reads when the
// file changes, so running servers pick up a key that `keys rotate` added
// without a restart. It is safe for concurrent use.
//
// There is no background goroutine: calls check the file at most once per
// interval, and Open checks at once when it meets an unknown key id (a row
// sealed by a process that has already rotated).
type Reloading struct {
	path     string
	interval time.Duration
	cur      atomic.Pointer[Keyring]
	due      atomic.Int64 // unix nanos of the next periodic check

	mu   sync.Mutex // serialises reloads; guards file and err
	file os.FileInfo
	err  error
}

// Watch loads the keyring at path and returns a Reloading over it that
// checks the file at most once per interval (on every call if interval <=
// 0, which is for tests). Unlike LoadOrCreate it requires the file to
// exist: a server that silently made a new keyring at a mistyped path
// would seal rows nobody else can read.
func Watch(path string, interval time.Duration) (*Reloading, error) {
	k, fi, err := readFile(path)
	if err != nil {
		return nil, err
	}
	r := &Reloading{path: path, interval: interval, file: fi}
	r.cur.Store(k)
	r.due.Store(time.Now().Add(interval).UnixNano())
	return r, nil
}

// Keyring returns the keyring currently in use.
func (r *Reloading) Keyring() *Keyring {
	r.maybeReload()
	return r.cur.Load()
}

// Err returns the error of the last reload attempt, nil if it succeeded.
// A failed reload keeps the previous keyring in service.
func (r *Reloading) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Reloading) maybeReload() {
	now, due := time.Now().UnixNano(), r.due.Load()
	// The CompareAndSwap lets one caller per interval do the check while
	// the others carry on with the current keyring.
	if now < due || !r.due.CompareAndSwap(due, now+int64(r.interval)) {
		return
	}
	r.reload()
}

// reload re-reads the file if it is not the one last read; when nothing
// changed it costs one stat. Save replaces the file by rename, so
// os.SameFile (device and inode) catches every save even where
// modification times are coarse.
func (r *Reloading) reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.due.Store(time.Now().Add(r.interval).UnixNano())
	fi, err := os.Stat(r.path)
	if err != nil {
		r.err = err
		return
	}
	if os.SameFile(fi, r.file) && fi.ModTime().Equal(r.file.ModTime()) && fi.Size() == r.file.Size() {
		return
	}
	k, fi, err := readFile(r.path)
	if err != nil {
		r.err = err
		return
	}
	// Every stored blind index depends on the index key, so a file with a
	// different one is a mistake (or a different deployment's keyring):
	// swapping it in would make every lookup silently miss.
	if !bytes.Equal(k.indexKey, r.cur.Load().indexKey) {
		r.err = errors.New("sealed: keyring file has a different index key; not reloaded")
		return
	}
	// Without an audit key the server could not append to the audit log,
	// so an older file copied back over the current one is refused.
	if k.ActiveAuditKeyID() == "" && r.cur.Load().ActiveAuditKeyID() != "" {
		r.err = errors.New("sealed: keyring file has no audit key; not reloaded")
		return
	}
	r.cur.Store(k)
	r.file, r.err = fi, nil
}

// Seal seals under the current active key.
func (r *Reloading) Seal(plaintext, context string) (string, error) {
	return r.Keyring().Seal(plaintext, context)
}

// Open opens value, re-reading the file once if value names a key id the
// current keyring lacks.
func (r *Reloading) Open(value, context string) (string, error) {
	plain, err := r.Keyring().Open(value, context)
	if errors.Is(err, ErrUnknownKey) {
		r.reload()
		plain, err = r.cur.Load().Open(value, context)
	}
	return plain, err
}

// Index returns the blind index; it is unaffected by reloads.
func (r *Reloading) Index(value, context string) string {
	return r.cur.Load().Index(value, context)
}

// ActiveKeyID returns the id Seal currently uses.
func (r *Reloading) ActiveKeyID() string {
	return r.Keyring().ActiveKeyID()
}

// NeedsReseal reports whether value is non-empty and not sealed under the
// current active key.
func (r *Reloading) NeedsReseal(value string) bool {
	return r.Keyring().NeedsReseal(value)
}

// ActiveAuditKeyID names the audit key new entries are hashed under, after
// the same periodic check of the file as Seal: a key `keys rotate` added
// reaches the audit chain as a data key reaches sealed values.
func (r *Reloading) ActiveAuditKeyID() string {
	return r.Keyring().ActiveAuditKeyID()
}

// AuditMAC returns a MAC under the audit key id names, re-reading the file
// once if the current keyring lacks it (an entry hashed by a server that
// has already rotated).
func (r *Reloading) AuditMAC(id string) (hash.Hash, error) {
	m, err := r.Keyring().AuditMAC(id)
	if errors.Is(err, ErrUnknownKey) {
		r.reload()
		m, err = r.cur.Load().AuditMAC(id)
	}
	return m, err
}

// UnkeyedAuditUntil is the current keyring's (see Keyring.UnkeyedAuditUntil).
func (r *Reloading) UnkeyedAuditUntil() int64 {
	return r.Keyring().UnkeyedAuditUntil()
}
