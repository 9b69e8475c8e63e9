package sealed_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/sealed"
)

// The server seals through a Reloading keyring (sealed.Watch): each
// household it writes seals an ID number and a phone number and computes
// the blind index, and each household it reads opens both. These time one
// row's worth; the package's own benchmarks time single calls on a plain
// Keyring.

const (
	benchID    = "50023019920304124X"
	benchPhone = "13800000000"
)

func benchCipher(b *testing.B) *sealed.Reloading {
	path := filepath.Join(b.TempDir(), "keyring.json")
	if _, err := sealed.LoadOrCreate(path); err != nil {
		b.Fatal(err)
	}
	r, err := sealed.Watch(path, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkSealHouseholdRow(b *testing.B) {
	r := benchCipher(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Index(benchID, "id_number")
		if _, err := r.Seal(benchID, "households.servicemember_id_number"); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Seal(benchPhone, "households.phone"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenHouseholdRow(b *testing.B) {
	r := benchCipher(b)
	id, err := r.Seal(benchID, "households.servicemember_id_number")
	if err != nil {
		b.Fatal(err)
	}
	phone, err := r.Seal(benchPhone, "households.phone")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(id, "households.servicemember_id_number"); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Open(phone, "households.phone"); err != nil {
			b.Fatal(err)
		}
	}
}
