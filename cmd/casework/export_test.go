package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// TestExportCommand exports a one-household ledger from the command line,
// masked and then in full, and checks that only the full one is audited.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CASEWORK_LOG_LEVEL", "error")
	run(t, "migrate", "--data-dir", dir)
	keys, err := sealed.Load(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	db := sqliteIn(t, dir)
	store := repository.New(db, repository.SQLite, keys)
	id := idnumber.Make("500230", time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC), 1)
	ctx := repository.WithScope(context.Background(), principal.Scope{All: true})
	if err := store.CreateHousehold(ctx, &repository.Household{ID: "01a2259e-edc6-7ca1-9eb3-f3132da6bfe2", ServicememberName: "张伟",
		ServicememberIDNumber: id, TownCode: "500230101", PostType: domain.PostRegular, Category: domain.CategoryActiveDutyFamily,
		ServicememberStatus: domain.ServiceStatus("ACTIVE_NCO")}); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "ledger.xlsx")
	if got := run(t, "export", "households", "--data-dir", dir, "-o", out); !strings.HasPrefix(got, "1 rows written to "+out) {
		t.Fatalf("export households printed %q", got)
	}
	cellAt := func(file, sheet, axis string) string {
		t.Helper()
		wb, err := excelize.OpenFile(file)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = wb.Close() }()
		v, err := wb.GetCellValue(sheet, axis)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := cellAt(out, "户台账", "H2"); got != idnumber.Mask(id) {
		t.Errorf("masked export's ID number %q, want %q", got, idnumber.Mask(id))
	}
	fullViews := func() []string {
		t.Helper()
		var principals []string
		if err := db.Raw("SELECT principal FROM audit_log WHERE action = 'full-view'").Scan(&principals).Error; err != nil {
			t.Fatal(err)
		}
		return principals
	}
	if got := fullViews(); len(got) != 0 {
		t.Errorf("a masked export audited as a full view: %v", got)
	}
	run(t, "export", "households", "--data-dir", dir, "--view", "full", "--filter", `town_code = "500230101"`, "-o", out)
	if got := cellAt(out, "户台账", "H2"); got != id {
		t.Errorf("full export's ID number %q", got)
	}
	if principals := fullViews(); len(principals) != 1 || !strings.HasPrefix(principals[0], "cli:") {
		t.Errorf("full export audited as %v", principals)
	}
	if got := run(t, "audit", "verify", "--data-dir", dir); !strings.Contains(got, "audit chain intact") {
		t.Errorf("audit verify after a full export: %q", got)
	}

	if got := run(t, "export", "measures", "--data-dir", dir, "-o", filepath.Join(dir, "m.xlsx")); !strings.HasPrefix(got, "0 rows") {
		t.Errorf("export measures printed %q", got)
	}
	if _, err := runErr(t, "export", "campaign", "01a2259e-edc6-7ca1-9eb3-f3132da6bfe2", "--data-dir", dir, "-o", filepath.Join(dir, "c.xlsx")); err == nil {
		t.Error("an unknown campaign exported")
	}
	if _, err := runErr(t, "export", "households", "--data-dir", dir, "--filter", "nonsense", "-o", out); err == nil {
		t.Error("a bad filter exported")
	}
}
