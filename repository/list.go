package repository

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
)

// MaxPageSize caps every list, whatever the caller asks for.
const MaxPageSize = 500

// DefaultPageSize is used when the caller asks for 0.
const DefaultPageSize = 50

// Cursor is the keyset position of the last row of the previous page: its
// sort key (nil where the key is NULL) and its id.
type Cursor struct {
	Time *time.Time
	ID   string
}

// Page asks for one page of a list.
type Page struct {
	Size  int
	After *Cursor
}

func (p Page) limit() int {
	switch {
	case p.Size <= 0:
		return DefaultPageSize
	case p.Size > MaxPageSize:
		return MaxPageSize
	}
	return p.Size
}

// Order is a list's sort: a time column, then id in the same direction, so
// that every row has one place and keyset pages never skip or repeat a row
// even while rows are inserted.
type Order struct {
	Column string // "create_time", "due_time" or a textDates column
	Desc   bool
}

// keyset orders q and starts it after the cursor. Nullable columns sort their
// NULLs last in both directions.
func keyset(q *gorm.DB, table string, o Order, nullable bool, after *Cursor) *gorm.DB {
	col := table + "." + o.Column
	id := table + ".id"
	dir, cmp := "ASC", ">"
	if o.Desc {
		dir, cmp = "DESC", "<"
	}
	if after != nil {
		// A calendar date kept as text is compared as its text; the
		// cursor holds it as midnight UTC.
		var key any
		if after.Time != nil {
			key = *after.Time
			if textDates[o.Column] {
				key = after.Time.Format(domain.DateLayout)
			}
		}
		switch {
		case after.Time == nil && nullable:
			q = q.Where(fmt.Sprintf("%s IS NULL AND %s %s ?", col, id, cmp), after.ID)
		case nullable:
			q = q.Where(fmt.Sprintf("((%s, %s) %s (?, ?) OR %s IS NULL)", col, id, cmp, col), key, after.ID)
		default:
			// A row-value comparison, not the equivalent ORs: the index
			// (…, column, id) then starts the scan at the cursor, so the
			// 200th page costs what the first does.
			q = q.Where(fmt.Sprintf("(%s, %s) %s (?, ?)", col, id, cmp), key, after.ID)
		}
	}
	if nullable {
		return q.Order(fmt.Sprintf("%s %s NULLS LAST, %s %s", col, dir, id, dir))
	}
	return q.Order(fmt.Sprintf("%s %s, %s %s", col, dir, id, dir))
}

// textDates are the sort columns that hold YYYY-MM-DD text (ledger.go).
var textDates = map[string]bool{"next_contact_due": true}

// sqlOps maps the filter package's operators to SQL. Only these fixed strings
// ever reach a query; values are always bound as parameters.
var sqlOps = map[filter.Op]string{
	filter.OpEq: "=", filter.OpNe: "<>", filter.OpLt: "<", filter.OpLe: "<=", filter.OpGt: ">", filter.OpGe: ">=",
}

// column translates one filter condition on a field to a WHERE clause.
type column func(c filter.Condition, now time.Time) (string, []any)

// plain compares a column with the condition's value.
func plain(col string, value func(filter.Condition) any) column {
	return func(c filter.Condition, _ time.Time) (string, []any) {
		return fmt.Sprintf("%s %s ?", col, sqlOps[c.Op]), []any{value(c)}
	}
}

func stringValue(c filter.Condition) any { return c.Value }
func intValue(c filter.Condition) any    { return c.Int }
func boolValue(c filter.Condition) any   { return c.Bool }

// applyFilter adds a WHERE clause per condition. The schema that parsed f
// guarantees every field has a column here; a missing one is a programming
// error and refuses the query rather than ignoring the condition. A value
// the schema's Check refuses is refused here too, for a filter built
// without parsing: a time that does not parse would otherwise compare as
// year 1 and quietly return all or nothing.
func applyFilter(q *gorm.DB, f filter.Filter, schema filter.Schema, columns map[string]column, now time.Time) (*gorm.DB, error) {
	for _, c := range f.Conditions {
		col, ok := columns[c.Field]
		if !ok {
			return nil, fmt.Errorf("repository: filter field %q has no column", c.Field)
		}
		if check := schema[c.Field].Check; check != nil {
			if msg := check(c.Value); msg != "" {
				return nil, &filter.Error{Msg: c.Field + " " + msg}
			}
		}
		where, args := col(c, now)
		q = q.Where(where, args...)
	}
	return q, nil
}

// lastCursor returns the cursor after rows, or nil when there are no more.
func lastCursor[T any](rows []T, limit int, key func(T) Cursor) ([]T, *Cursor) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	c := key(rows[len(rows)-1])
	return rows, &c
}

// townCode accepts only the nine digits of a town code, so a filter value
// that cannot be a town is refused instead of silently matching nothing.
func townCode(v string) string {
	if !domain.IsTownCode(v) {
		return "must be a nine-digit town code"
	}
	return ""
}

// rfc3339 accepts timestamps such as "2026-11-01T00:00:00Z".
func rfc3339(v string) string {
	if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
		return `must be an RFC 3339 timestamp, e.g. "2026-11-01T00:00:00Z"`
	}
	return ""
}
