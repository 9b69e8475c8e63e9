package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/internal/blob/blobtest"
	"github.com/fengdu-county/casework/internal/sealed"
)

func newDir(t *testing.T) (*blob.Dir, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "attachments")
	d, err := blob.NewDir(path)
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

func TestDir(t *testing.T) {
	d, _ := newDir(t)
	blobtest.Run(t, d)
}

// TestS3 runs the suite against an S3-compatible server in process.
func TestS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("casework"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	s, err := blob.NewS3(blob.S3Config{Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: "casework",
		Region: "us-east-1", AccessKey: "test", SecretKey: "test-secret", Insecure: true, Prefix: "county/"})
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Run(t, s)
}

func keyring(t *testing.T) *sealed.Keyring {
	t.Helper()
	k, err := sealed.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealing runs the suite through the sealing layer, and holds what
// lands in the store to ciphertext that opens only as it was written.
func TestSealing(t *testing.T) {
	d, path := newDir(t)
	keys := keyring(t)
	s := blob.NewSealing(d, keys)
	blobtest.Run(t, s)

	ctx := context.Background()
	plain := bytes.Repeat([]byte("张伟 病历 500230199001011237 "), 10_000) // several records
	if err := s.Put(ctx, "record", bytes.NewReader(plain)); err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(filepath.Join(path, "record"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("500230199001011237")) || bytes.Contains(stored, []byte("病历")) {
		t.Fatal("the stored blob holds plaintext")
	}
	lines := bytes.SplitAfter(stored, []byte("\n"))
	lines = lines[:len(lines)-1] // after the last newline: nothing
	if len(lines) < 3 {
		t.Fatalf("want several records, got %d", len(lines))
	}
	tampered := map[string][]byte{
		"cut short":       bytes.Join(lines[:len(lines)-1], nil),
		"records swapped": bytes.Join(append([][]byte{lines[1], lines[0]}, lines[2:]...), nil),
		"grown":           append(append([]byte{}, stored...), lines[0]...),
	}
	for name, b := range tampered {
		if err := d.Put(ctx, "record", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		if _, err := readAll(ctx, s, "record"); !errors.Is(err, blob.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	// A blob copied under another key does not open there.
	if err := d.Put(ctx, "moved", bytes.NewReader(stored)); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(ctx, s, "moved"); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("moved: %v, want ErrCorrupt", err)
	}
}

func readAll(ctx context.Context, s blob.Store, key string) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	return io.ReadAll(rc)
}
