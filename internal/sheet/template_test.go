package sheet

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fengdu-county/casework/domain/towns"
)

func TestLabelsCoverEveryEnumValueOnce(t *testing.T) {
	for _, l := range append(append(AllLabels(), CaseLabels()...), LedgerLabels()...) {
		values := l.Enum.Values()
		seen := map[string]bool{}
		for i := 0; i < values.Len(); i++ {
			v := values.Get(i)
			label, ok := l.Label(v.Number())
			if v.Number() == 0 {
				if ok {
					t.Errorf("%s: UNSPECIFIED has label %q", l.Enum.Name(), label)
				}
				continue
			}
			if !ok || label == "" {
				t.Errorf("%s: %s has no label", l.Enum.Name(), v.Name())
				continue
			}
			if seen[label] {
				t.Errorf("%s: label %q used twice", l.Enum.Name(), label)
			}
			seen[label] = true
			if back, ok := l.Value(label); !ok || back != v.Number() {
				t.Errorf("%s: %q reads back as %v", l.Enum.Name(), label, back)
			}
		}
		if len(l.Entries()) != values.Len()-1 {
			t.Errorf("%s: %d labels for %d values", l.Enum.Name(), len(l.Entries()), values.Len()-1)
		}
		for _, e := range l.Entries() {
			if values.ByNumber(e.Value) == nil {
				t.Errorf("%s: label %q for unknown value %d", l.Enum.Name(), e.Label, e.Value)
			}
		}
	}
}

func TestColumnsHaveUniqueHeadersAndFields(t *testing.T) {
	for name, cols := range map[string][]Column{HouseholdSheet: HouseholdColumns, MemberSheet: MemberColumns} {
		headers, fields := map[string]bool{}, map[string]bool{}
		for _, c := range cols {
			if headers[c.Header] || fields[c.Field] {
				t.Errorf("%s: %s/%s repeated", name, c.Header, c.Field)
			}
			headers[c.Header], fields[c.Field] = true, true
			if (c.Kind == Enum) != (c.Labels != nil) {
				t.Errorf("%s: %s: an enumerated column needs labels", name, c.Header)
			}
		}
		if cols[0].Field != KeyField {
			t.Errorf("%s: first column is %s, want the key %s", name, cols[0].Field, KeyField)
		}
	}
}

// TestHouseholdTemplate opens the template and checks its sheets, headers,
// drop-down lists and notes (shared with the e2e tests through Check).
func TestHouseholdTemplate(t *testing.T) {
	data, err := HouseholdTemplate(towns.Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(data, towns.Default()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckCatchesAMissingList(t *testing.T) {
	data, err := HouseholdTemplate(towns.Default())
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteDataValidation(HouseholdSheet); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := Check(buf.Bytes(), towns.Default()); err == nil || !strings.Contains(err.Error(), "drop-down") {
		t.Fatalf("Check = %v, want a missing drop-down", err)
	}
}
