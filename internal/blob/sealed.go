package blob

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Store is what Sealing wraps: any of this package's stores, or the
// database's.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
	// List answers up to limit of the store's blobs whose keys sort after
	// after ("" for the first page), in the store's order of keys: the
	// orphan sweep pages through a store with it.
	List(ctx context.Context, after string, limit int) ([]Info, error)
}

// Cipher seals and opens with the server's keyring (internal/sealed), the
// keys the database's sensitive columns are sealed under.
type Cipher interface {
	Seal(plaintext, context string) (string, error)
	Open(value, context string) (string, error)
}

// sealChunk is how much plaintext one sealed record holds: large enough
// that the cipher's overhead is small, small enough that neither side ever
// holds more than one record of a file.
const sealChunk = 64 << 10

// recordMark starts every record's plaintext, so that the record of an
// empty file is not the empty string, which the cipher leaves unsealed.
const recordMark = "r"

// ErrCorrupt answers a blob that does not open: altered, truncated, moved
// to another key or sealed under a key the keyring lacks.
var ErrCorrupt = errors.New("blob: the stored blob does not open")

// Sealing stores blobs sealed: the file is cut into records of sealChunk
// bytes, each sealed (AES-GCM, internal/sealed) under a context naming the
// key, the record's place and whether it is the last, one record a line.
// A record moved to another blob or place, a blob cut short or grown, each
// fails to open. The store under it sees only ciphertext.
type Sealing struct {
	store  Store
	cipher Cipher
}

// NewSealing wraps store.
func NewSealing(store Store, cipher Cipher) *Sealing {
	return &Sealing{store: store, cipher: cipher}
}

func recordContext(key string, i int, last bool) string {
	return "attachments.blob:" + key + ":" + strconv.Itoa(i) + ":" + strconv.FormatBool(last)
}

// Put seals r's bytes into the store under key, reading one record ahead.
func (s *Sealing) Put(ctx context.Context, key string, r io.Reader) error {
	return s.store.Put(ctx, key, &sealReader{key: key, src: r, cipher: s.cipher})
}

// Get opens the blob under key; its reader fails with ErrCorrupt at the
// first record that does not open, and at an end without the last record.
func (s *Sealing) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return &openReader{key: key, src: rc, lines: bufio.NewReaderSize(rc, sealChunk*2), cipher: s.cipher}, nil
}

// Delete removes the blob under key.
func (s *Sealing) Delete(ctx context.Context, key string) error { return s.store.Delete(ctx, key) }

// List lists the store's blobs: keys and times are not sealed.
func (s *Sealing) List(ctx context.Context, after string, limit int) ([]Info, error) {
	return s.store.List(ctx, after, limit)
}

// sealReader reads plaintext from src and answers sealed records.
type sealReader struct {
	key    string
	src    io.Reader
	cipher Cipher
	next   []byte // the plaintext read ahead, not yet sealed
	ahead  bool   // next holds a read-ahead chunk
	i      int
	out    []byte // sealed bytes not yet returned
	done   bool
}

func (r *sealReader) fill() ([]byte, bool, error) {
	buf := make([]byte, sealChunk)
	n, err := io.ReadFull(r.src, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return buf[:n], true, nil
	case err != nil:
		return nil, false, err
	}
	return buf, false, nil
}

func (r *sealReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.done {
			return 0, io.EOF
		}
		if err := r.sealNext(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// sealNext seals the next record. A chunk is the last when the source ends
// within it, or right after it (found by reading the next chunk first).
func (r *sealReader) sealNext() error {
	cur, eof := r.next, false
	if !r.ahead {
		var err error
		if cur, eof, err = r.fill(); err != nil {
			return err
		}
	}
	r.ahead = false
	if !eof {
		next, nextEOF, err := r.fill()
		if err != nil {
			return err
		}
		if len(next) == 0 && nextEOF {
			eof = true
		} else {
			r.next, r.ahead = next, true
		}
	}
	sealed, err := r.cipher.Seal(recordMark+string(cur), recordContext(r.key, r.i, eof))
	if err != nil {
		return err
	}
	r.i++
	r.done = eof
	r.out = append([]byte(sealed), '\n')
	return nil
}

// openReader reads sealed records from src and answers plaintext.
type openReader struct {
	key    string
	src    io.Closer
	lines  *bufio.Reader
	cipher Cipher
	i      int
	out    []byte
	last   bool
}

func (r *openReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.last {
			return 0, io.EOF
		}
		if err := r.openNext(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *openReader) openNext() error {
	line, err := r.lines.ReadString('\n')
	if errors.Is(err, io.EOF) {
		return ErrCorrupt // ended before the record marked last
	}
	if err != nil {
		return err
	}
	line = line[:len(line)-1]
	// Which record this is decides its context; whether it is the last is
	// part of it too, so a blob cut after any record but the last fails.
	for _, last := range []bool{false, true} {
		if plain, err := r.cipher.Open(line, recordContext(r.key, r.i, last)); err == nil && strings.HasPrefix(plain, recordMark) {
			r.out, r.last = []byte(plain[len(recordMark):]), last
			r.i++
			return r.trailing()
		}
	}
	return ErrCorrupt
}

// trailing refuses bytes after the last record: a grown blob is not ours.
func (r *openReader) trailing() error {
	if !r.last {
		return nil
	}
	if _, err := r.lines.ReadByte(); !errors.Is(err, io.EOF) {
		return ErrCorrupt
	}
	return nil
}

func (r *openReader) Close() error { return r.src.Close() }
