package blob

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Dir keeps each blob as a file of a directory, written to a temporary
// file and renamed into place, so a reader never sees half a blob and a
// failed write leaves nothing under the key.
type Dir struct{ path string }

// NewDir opens (creating, 0700) the directory at path.
func NewDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	return &Dir{path: path}, nil
}

func (d *Dir) file(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.path, key), nil
}

// Put stores r's bytes under key, replacing any blob it held.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := d.file(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.path, ".put-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // fails harmlessly after the rename
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// Get opens the blob under key.
func (d *Dir) Get(_ context.Context, key string) (io.ReadCloser, error) {
	name, err := d.file(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete removes the blob under key.
func (d *Dir) Delete(_ context.Context, key string) error {
	name, err := d.file(key)
	if err != nil {
		return err
	}
	err = os.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

// List lists the directory's blobs by name, their times the files'
// modification times. Each page reads the directory's names afresh (they
// come sorted), which is a few milliseconds for a county's files; the
// temporary files of puts in flight are not blobs and are not listed.
func (d *Dir) List(ctx context.Context, after string, limit int) ([]Info, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(entries), func(i int) bool { return entries[i].Name() > after })
	var out []Info
	for _, e := range entries[i:] {
		if len(out) == limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !e.Type().IsRegular() || CheckKey(e.Name()) != nil {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the directory was read
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Info{Key: e.Name(), Stored: fi.ModTime()})
	}
	return out, nil
}

// ctxReader stops a copy once ctx ends: a client that went away does not
// keep a half-written blob growing.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
