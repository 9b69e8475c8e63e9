package repository

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
)

// JSON is a value kept as JSON text in one column: a case's clocks, its
// outcome history, eligibility decision and objection. The zero value is
// stored as "" and "" (or NULL) reads back as the zero value, so a row
// written before the column existed reads as "none". The JSON names are
// the domain types' tags.
type JSON[T any] struct {
	V T
}

// Value marshals V; the zero value is "".
func (j JSON[T]) Value() (driver.Value, error) {
	if reflect.ValueOf(&j.V).Elem().IsZero() {
		return "", nil
	}
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, fmt.Errorf("repository: JSON column: %w", err)
	}
	return string(b), nil
}

// Scan unmarshals a stored value.
func (j *JSON[T]) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case nil:
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		return fmt.Errorf("repository: cannot read JSON from a %T", src)
	}
	var zero T
	j.V = zero
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, &j.V); err != nil {
		return fmt.Errorf("repository: JSON column: %w", err)
	}
	return nil
}
