// Package blobtest is the conformance suite every store of attachments'
// bytes runs: the local directory, the database and S3. A store is
// correct when Run passes against it.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/fengdu-county/casework/internal/blob"
)

// Run holds store to the interface's contract.
func Run(t *testing.T, store blob.Store) {
	t.Helper()
	ctx := context.Background()
	t.Run("round trip", func(t *testing.T) {
		for _, size := range []int{0, 1, 64 << 10, 3<<20 + 17} {
			want := random(t, size)
			key := "rt-" + strconv.Itoa(size)
			if err := store.Put(ctx, key, bytes.NewReader(want)); err != nil {
				t.Fatalf("Put %d bytes: %v", size, err)
			}
			if got := get(t, store, key); !bytes.Equal(got, want) {
				t.Fatalf("Get of %d bytes answered %d different bytes", size, len(got))
			}
		}
	})
	t.Run("replace", func(t *testing.T) {
		put(t, store, "replaced", []byte("first"))
		put(t, store, "replaced", []byte("second"))
		if got := get(t, store, "replaced"); string(got) != "second" {
			t.Fatalf("after a second Put, Get = %q", got)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := store.Get(ctx, "never-put"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
		}
		if err := store.Delete(ctx, "never-put"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Delete of a missing key: %v, want ErrNotFound", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		put(t, store, "deleted", []byte("gone soon"))
		if err := store.Delete(ctx, "deleted"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := store.Get(ctx, "deleted"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("failed put stores nothing", func(t *testing.T) {
		failing := io.MultiReader(bytes.NewReader(random(t, 100<<10)), errReader{})
		if err := store.Put(ctx, "half", failing); err == nil {
			t.Fatal("Put of a reader that fails: no error")
		}
		if _, err := store.Get(ctx, "half"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get after a failed Put: %v, want ErrNotFound", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		want := []string{"list-a", "list-b", "list-c", "list-d", "list-e"}
		for _, key := range want {
			put(t, store, key, []byte(key))
		}
		put(t, store, "list-gone", []byte("x"))
		if err := store.Delete(ctx, "list-gone"); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		after := ""
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("List does not end")
			}
			page, err := store.List(ctx, after, 2)
			if err != nil {
				t.Fatalf("List after %q: %v", after, err)
			}
			if len(page) > 2 {
				t.Fatalf("List of at most 2 answered %d", len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, b := range page {
				seen[b.Key]++
				if b.Stored.IsZero() {
					t.Errorf("%s: no time stored", b.Key)
				}
			}
			after = page[len(page)-1].Key
		}
		for _, key := range want {
			if seen[key] != 1 {
				t.Errorf("%s listed %d times, want once", key, seen[key])
			}
		}
		for key, n := range seen {
			if n > 1 {
				t.Errorf("%s listed %d times", key, n)
			}
			if blob.CheckKey(key) != nil {
				t.Errorf("listed %q, which is no key", key)
			}
		}
		if seen["list-gone"] != 0 || seen["half"] != 0 {
			t.Error("List names a deleted blob or a failed Put's")
		}
		for _, key := range want {
			if err := store.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("keys that reach outside", func(t *testing.T) {
		for _, key := range []string{"", "../x", "a/b", ".hidden", `a\b`} {
			if err := store.Put(ctx, key, bytes.NewReader([]byte("x"))); err == nil {
				t.Errorf("Put under %q: no error", key)
			}
		}
	})
}

var errBroken = errors.New("the client went away")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, store blob.Store, key string, b []byte) {
	t.Helper()
	if err := store.Put(context.Background(), key, bytes.NewReader(b)); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func get(t *testing.T, store blob.Store, key string) []byte {
	t.Helper()
	rc, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}
