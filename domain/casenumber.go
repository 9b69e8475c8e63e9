package domain

import "fmt"

// CaseNumber formats the human-facing case number, e.g. "FD-2026-000042".
// Zero padding keeps numbers the same width so they sort as text.
func CaseNumber(prefix string, year, seq int) string {
	return fmt.Sprintf("%s-%04d-%06d", prefix, year, seq)
}
