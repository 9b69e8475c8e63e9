package sealed

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Load reads the keyring file at path.
func Load(path string) (*Keyring, error) {
	k, _, err := readFile(path)
	return k, err
}

// readFile also returns the FileInfo of the very file it read (not of
// whatever the path names a moment later), for Reloading's change check.
func readFile(path string) (*Keyring, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	k, err := Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, fi, nil
}

// LoadOrCreate reads the keyring at path, or generates one and writes it
// there (mode 0600, parent directories 0700) if the file does not exist.
// If two processes race to create it, both end up with the one written
// first: losing a keyring after sealing under it would lose data.
func LoadOrCreate(path string) (*Keyring, error) {
	k, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = Generate(); err != nil {
		return nil, err
	}
	data, err := k.Marshal()
	if err != nil {
		return nil, err
	}
	err = writeAtomic(path, data, false)
	if errors.Is(err, fs.ErrExist) {
		return Load(path)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// UpgradeAuditFile makes sure the keyring file at path holds an audit key:
// one from before audit keys gets its first (Keyring.UpgradeAudit) and is
// saved, so an existing deployment upgrades itself on its first start.
// chainLength, the audit chain's length now, is asked only then. It
// returns the keyring as the file now holds it, and whether it added the
// key.
func UpgradeAuditFile(path string, chainLength func() (int64, error)) (*Keyring, bool, error) {
	k, err := Load(path)
	if err != nil || k.ActiveAuditKeyID() != "" {
		return k, false, err
	}
	n, err := chainLength()
	if err != nil {
		return nil, false, err
	}
	// Read again just before saving: saving what was read before the query
	// would throw away a key another process saved meanwhile.
	if k, err = Load(path); err != nil || k.ActiveAuditKeyID() != "" {
		return k, false, err
	}
	if _, err := k.UpgradeAudit(n); err != nil {
		return nil, false, err
	}
	if err := k.Save(path); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// Save writes the keyring to path atomically, replacing any existing file:
// readers see the old or the new keyring, never half of one.
func (k *Keyring) Save(path string) error {
	data, err := k.Marshal()
	if err != nil {
		return err
	}
	return writeAtomic(path, data, true)
}

// writeAtomic writes data to a temporary file in path's directory, syncs
// it, and moves it into place: by rename when replacing, by hard link when
// the file must not already exist (link fails with fs.ErrExist instead of
// overwriting). CreateTemp makes the file 0600.
func writeAtomic(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".keyring-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		// After a successful rename this fails harmlessly; otherwise it
		// keeps key material from lingering in stray temp files.
		_ = os.Remove(tmp.Name())
	}()
	if _, err := tmp.Write(data); err != nil {
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
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the new directory entry durable; without it a crash right
// after rotation could bring back the old file, and with it lose the key
// that new rows were sealed under.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
