package filter

import (
	"errors"
	"testing"
)

func TestFieldCheckRefusesValuesAtTheirPosition(t *testing.T) {
	digits := func(v string) string {
		if v != "123" {
			return "must be 123"
		}
		return ""
	}
	schema := Schema{"code": {Kind: KindString, Check: digits}, "name": {Kind: KindString}}
	if _, err := Parse(`code = "123" AND name = "x"`, schema); err != nil {
		t.Fatalf("a value the check accepts: %v", err)
	}
	_, err := Parse(`name = "x" AND code = "124"`, schema)
	var fe *Error
	if !errors.As(err, &fe) || fe.Pos != 22 || fe.Msg != `field "code": must be 123` {
		t.Fatalf("refused value = %#v, want *Error at position 22 naming the field", err)
	}
}
