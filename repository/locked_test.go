package repository

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditInsertColumns holds the audit insert written out for the locked
// statement to the one gorm builds from AuditRecord: a field added to the
// record and not to auditInsert and values() would otherwise be dropped
// silently on PostgreSQL's single-change path.
func TestAuditInsertColumns(t *testing.T) {
	db, _, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "c.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	r := AuditRecord{Seq: 1, Principal: "p", Roles: "r", Credential: "c", Method: "m", Resource: "res", Action: "a",
		RequestID: "q", ClientAddr: "ip", Outcome: "o", Fields: "f", PrevHash: "ph", KeyID: "k", Hash: "h"}
	sql, vars, err := insertValues(db, &r, nil)
	if err != nil {
		t.Fatal(err)
	}
	// SQLite's gorm quotes names with backticks, PostgreSQL's with quotes.
	if sql = strings.ReplaceAll(sql, "`", `"`); sql != auditInsert {
		t.Fatalf("gorm inserts an AuditRecord as\n  %s\nauditInsert is\n  %s", sql, auditInsert)
	}
	values := r.values()
	if len(vars) != len(values) {
		t.Fatalf("gorm sends %d values, values() %d", len(vars), len(values))
	}
	for i := range vars {
		if vars[i] != values[i] {
			t.Errorf("value %d: gorm sends %v, values() %v", i+1, vars[i], values[i])
		}
	}
}
