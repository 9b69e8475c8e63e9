package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/internal/sheet/sheettest"
)

// TestImportCommand imports a filled-in template into the embedded
// database: a dry run lists the bad row and writes nothing, exiting
// non-zero; the file without it is imported, audited as the user.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	run(t, "migrate", "--data-dir", dir)
	run(t, "token", "--data-dir", dir, "--new-key", "--user", "u1", "--roles", "caseworker") // makes the keyring

	row := func(n int, town string) []string {
		return sheettest.Row(sheet.HouseholdColumns, map[string]string{
			"servicemember.idNumber": idnumber.Make("500230", time.Date(1990, 1, 1+n, 0, 0, 0, 0, time.UTC), n),
			"servicemember.name":     "张伟", "servicemember.postType": "一般岗位", "servicemember.status": "现役军士",
			"townCode": town,
		})
	}
	good := [][]string{row(1, "三合街道"), row(2, "虎威镇")}
	write := func(name string, rows [][]string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, sheettest.Workbook(t, rows, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.xlsx", append(good, row(3, "北京")))
	report := filepath.Join(t.TempDir(), "report.xlsx")
	out, err := runErr(t, "import", bad, "--data-dir", dir, "--dry-run", "--report", report)
	if err == nil || !strings.Contains(out, "户 row 5, 乡镇（街道）: UNKNOWN_TOWN") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run of a bad file: %v\n%s", err, out)
	}
	if _, err := os.Stat(report); err != nil {
		t.Errorf("no report written: %v", err)
	}
	out, err = runErr(t, "import", bad, "--data-dir", dir)
	if err == nil || !strings.Contains(out, "households: 0 created") {
		t.Fatalf("a bad file: %v\n%s", err, out)
	}
	var n int64
	if err := sqliteIn(t, dir).Raw("SELECT count(*) FROM households").Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("%d households after refused runs (%v)", n, err)
	}

	out = run(t, "import", write("good.xlsx", good), "--data-dir", dir)
	if !strings.Contains(out, "households: 2 created, 0 updated, 0 unchanged") {
		t.Fatalf("import printed %q", out)
	}
	var principals []string
	if err := sqliteIn(t, dir).Raw("SELECT DISTINCT principal FROM audit_log").Scan(&principals).Error; err != nil {
		t.Fatal(err)
	}
	if len(principals) != 1 || !strings.HasPrefix(principals[0], "cli:") {
		t.Errorf("audited as %v, want the cli user", principals)
	}
	out, err = runErr(t, "import", bad, "--data-dir", dir, "--import-valid-rows")
	if err == nil || !strings.Contains(out, "households: 0 created, 0 updated, 2 unchanged") {
		t.Errorf("the good rows again with a bad one: %v\n%s", err, out)
	}
}
