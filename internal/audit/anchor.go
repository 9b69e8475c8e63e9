package audit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Head is the last link of the chain: what an outside system records to
// hold the database to it later.
type Head struct {
	Seq   int64
	Hash  string
	KeyID string    // "" for an unkeyed entry, or the empty chain
	Time  time.Time // the entry's time; zero for the empty chain
}

// Anchor is a head recorded outside the database, as one line of an anchor
// file. An entry's hash covers every entry before it, so one anchor holds
// the whole history up to its sequence number: a later rewrite of any of it
// changes the hash at that number, and a cut puts the number past the end.
type Anchor struct {
	Recorded  time.Time `json:"time"`
	Seq       int64     `json:"sequence"`
	Hash      string    `json:"hash"`
	KeyID     string    `json:"key_id,omitempty"`
	EntryTime time.Time `json:"entry_time,omitzero"`
}

// AnchorOf is the anchor of h recorded at now.
func AnchorOf(h Head, now time.Time) Anchor {
	return Anchor{Recorded: now.UTC(), Seq: h.Seq, Hash: h.Hash, KeyID: h.KeyID, EntryTime: h.Time.UTC()}
}

// AppendAnchor appends a as one JSON line to the file at path, creating it
// with mode 0600. The file is opened for appending on every call, so a
// rotated or moved file is followed, and the line goes out in one write, so
// servers sharing a file never interleave their lines. It is synced before
// returning: an anchor lost in a crash anchors nothing.
func AppendAnchor(path string, a Anchor) error {
	line, err := json.Marshal(a)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// ReadAnchors reads an anchor file: one JSON anchor a line, blank lines
// ignored. A line that is not an anchor is an error naming the line: a
// damaged file must be looked at, not half-checked.
func ReadAnchors(r io.Reader) ([]Anchor, error) {
	var out []Anchor
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var a Anchor
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil || dec.More() {
			return nil, fmt.Errorf("audit: anchor file line %d is not an anchor", n)
		}
		if raw, err := hex.DecodeString(a.Hash); a.Seq < 0 || err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("audit: anchor file line %d has no valid sequence number and hash", n)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit: reading anchors: %w", err)
	}
	return out, nil
}

// AnchorError is an anchor the database no longer agrees with.
type AnchorError struct {
	Anchor Anchor
	// Truncated: the chain ends (at Last) before the anchored entry.
	// Otherwise the history up to the anchor was rewritten.
	Truncated bool
	Last      int64
}

func (e *AnchorError) Error() string {
	what := fmt.Sprintf("anchor of entry %d recorded %s", e.Anchor.Seq, e.Anchor.Recorded.Format(time.RFC3339))
	if e.Truncated {
		return fmt.Sprintf("%s: history truncated: the chain ends at entry %d", what, e.Last)
	}
	return what + ": history rewritten: that entry no longer has the anchored hash"
}

// CheckAnchor holds a against the database: hash is the hash of the entry
// at a.Seq (found false when there is none) and last the chain's last
// sequence number. It returns nil when they agree.
func CheckAnchor(a Anchor, hash string, found bool, last int64) *AnchorError {
	switch {
	case a.Seq == 0:
		if a.Hash == GenesisHash {
			return nil
		}
		return &AnchorError{Anchor: a}
	case a.Seq > last:
		return &AnchorError{Anchor: a, Truncated: true, Last: last}
	case !found || hash != a.Hash:
		return &AnchorError{Anchor: a}
	}
	return nil
}
