package filter

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// convert checks a literal against the field's kind and normalises it. It
// returns a client-facing message instead of an error so the caller can
// attach the value's position.
func (f Field) convert(raw string, quoted bool) (Condition, string) {
	switch f.Kind {
	case KindEnum:
		return f.enum(raw)
	case KindBool:
		return boolean(raw, quoted)
	case KindInt:
		return integer(raw, quoted)
	case KindResourceName:
		return f.resourceName(raw)
	default:
		c, msg := str(raw)
		if msg == "" && f.Check != nil {
			msg = f.Check(raw)
		}
		return c, msg
	}
}

// str rejects "*" because AIP-160 gives it wildcard meaning in string
// comparisons; treating it literally would silently answer a different
// question than the client asked.
func str(raw string) (Condition, string) {
	if strings.Contains(raw, "*") {
		return Condition{}, "wildcards (*) are not supported"
	}
	return Condition{Value: raw}, ""
}

func (f Field) enum(raw string) (Condition, string) {
	if slices.Contains(f.Values, raw) {
		return Condition{Value: raw}, ""
	}
	if f.Prefix != "" {
		if short, ok := strings.CutPrefix(raw, f.Prefix); ok && slices.Contains(f.Values, short) {
			return Condition{Value: short}, ""
		}
	}
	return Condition{}, fmt.Sprintf("invalid value; allowed: %s", strings.Join(f.Values, ", "))
}

// boolean and integer refuse quoted literals: in AIP-160 "true" is a
// string, and guessing otherwise would hide client bugs.
func boolean(raw string, quoted bool) (Condition, string) {
	if !quoted && (raw == "true" || raw == "false") {
		return Condition{Value: raw, Bool: raw == "true"}, ""
	}
	if quoted {
		return Condition{}, "invalid value: a quoted literal is a string; want unquoted true or false"
	}
	return Condition{}, "invalid value; want unquoted true or false"
}

func integer(raw string, quoted bool) (Condition, string) {
	if quoted {
		return Condition{}, "invalid value; integers must not be quoted"
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return Condition{}, "value is out of range for a 64-bit integer"
	}
	if err != nil {
		return Condition{}, "invalid value; want a decimal integer"
	}
	return Condition{Value: strconv.FormatInt(n, 10), Int: n}, ""
}

func (f Field) resourceName(raw string) (Condition, string) {
	id, ok := strings.CutPrefix(raw, f.Collection)
	if !ok || id == "" || strings.Contains(id, "/") {
		return Condition{}, fmt.Sprintf("invalid value; want a resource name like %q", f.Collection+"{id}")
	}
	return Condition{Value: raw}, ""
}
