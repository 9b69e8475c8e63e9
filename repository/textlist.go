package repository

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

// List is a list of names kept in one text column, comma-joined: priority
// reasons, changed fields, roles, towns, a webhook's filters. Rows have
// always been stored this way, so the type changes nothing on disk; it
// keeps the joining and splitting here, where the format is decided, and
// gives callers typed elements instead of a string to split.
//
// Elements are names that never hold a comma (enum names, field paths,
// town codes, method names); one that did would come back as two, so
// writing it is refused instead.
type List[T ~string] []T

var errCommaInList = errors.New("repository: a list element holds a comma")

// Value joins the elements; an empty or nil list is "".
func (l List[T]) Value() (driver.Value, error) {
	for _, v := range l {
		if strings.Contains(string(v), ",") {
			return nil, errCommaInList
		}
	}
	return l.String(), nil
}

// Scan splits a stored value; "" (or NULL) reads as a nil list, as the
// handlers' splitting always did.
func (l *List[T]) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("repository: cannot read a list from a %T", src)
	}
	*l = nil
	if s == "" {
		return nil
	}
	for part := range strings.SplitSeq(s, ",") {
		*l = append(*l, T(part))
	}
	return nil
}

// String is the stored form, which is also how the command-line tools print
// a list.
func (l List[T]) String() string {
	var b strings.Builder
	for i, v := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(v))
	}
	return b.String()
}
