package names

import (
	"errors"
	"testing"
)

const (
	u1 = "01a2259e-edc6-7ca1-9eb3-f3132da6bfe2"
	u2 = "01a2259e-edc6-7ca1-9eb3-f3132da6bfe3"
)

// TestRoundTrip formats each kind of name and parses it back to the same
// typed value: one place builds and reads every name.
func TestRoundTrip(t *testing.T) {
	for _, n := range []Name{
		Household{u1}, Member{u1, u2}, Case{u1}, Note{u1, u2}, APIKey{"abcdefghijk2"},
		Webhook{u1}, Delivery{u1, u2}, AuditLog{42}, StatusChange{u1, u2}, Policy{"LEGAL_AID_DECISION_7D"}, Town{"500230101"},
		Organization{u1}, Measure{u1, u2}, MeasureReview{u1, u2, u1}, Complaint{u1, u2, u2},
	} {
		got, err := Parse(n.String())
		if err != nil || got != n {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", n.String(), got, err, n)
		}
	}
	if got := (Member{u1, u2}).String(); got != "households/"+u1+"/members/"+u2 {
		t.Errorf("member name %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{
		"", "households", "households/", "households/42", "households/" + u1 + "/", "cases/../" + u1,
		"cases/" + u1 + "/notes", "apiKeys/ABCDEFGHIJKL", "apiKeys/" + u1, "auditLogs/0", "auditLogs/-1",
		"households/500230199001011237", "households/" + u1 + "/members/13800000000",
		"Households/" + u1, "households/" + u1 + "/cases/" + u2, "/households/" + u1,
		"policies/legal_aid", "policies/", "towns/50023010", "towns/500230199001011237",
	} {
		if n, err := Parse(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %#v, %v; want ErrMalformed", s, n, err)
		}
	}
}

func TestAsChecksTheKind(t *testing.T) {
	if _, err := As[Case](Household{u1}.String()); !errors.Is(err, ErrMalformed) {
		t.Errorf("a household's name read as a case: %v", err)
	}
	m, err := As[Member](Member{u1, u2}.String())
	if err != nil || m.Household() != (Household{u1}) {
		t.Errorf("As[Member] = %#v, %v", m, err)
	}
}
