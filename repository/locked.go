package repository

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// The audit head, the change-feed head and a year's case-number row are
// county-wide: every write of the county queues on them, and holds them
// from the statement that takes the first until COMMIT. Writes therefore
// happen at most 1 / (time the heads are held) per second, however many
// clients wait. On PostgreSQL a write first does all the work that needs
// none of them, then takes the audit head (the one value Go has to read,
// to link the next audit entry to it), and sends everything that moves a
// head in one statement of data-modifying CTEs, then commits: two round
// trips under the locks, whatever the write.
//
// Lock order: the audit head always comes first. The other head rows are
// only ever taken while it is held (PruneEvents takes the feed head alone
// and nothing after it), so the order among them inside one statement,
// which PostgreSQL leaves unspecified, cannot deadlock.

// lockedWrite collects the CTEs of the one statement a PostgreSQL write
// sends under the county-wide locks.
type lockedWrite struct {
	ctes []string
	vars []any
}

// with adds a CTE; its SQL uses ? for vars, and may name earlier CTEs.
func (w *lockedWrite) with(name, sql string, vars ...any) {
	w.ctes = append(w.ctes, name+" AS ("+sql+")")
	w.vars = append(w.vars, vars...)
}

// statement is the whole statement, ending in final (which takes no vars).
func (w *lockedWrite) statement(final string) string {
	return "WITH " + strings.Join(w.ctes, ", ") + " " + final
}

// insertValues is the INSERT gorm would send for one row, with ?
// placeholders, and with the columns named in exprs set to those SQL
// expressions (which take no vars) instead of the row's values. gorm
// builds it, so the columns and the serialised values are exactly what
// tx.Create(row) writes; nothing is sent.
func insertValues(tx *gorm.DB, row any, exprs map[string]string) (string, []any, error) {
	stmt := tx.Session(&gorm.Session{DryRun: true}).Create(row).Statement
	if stmt.Error != nil {
		return "", nil, stmt.Error
	}
	sql := stmt.SQL.String()
	open := strings.Index(sql, " (")
	values := strings.Index(sql, ") VALUES (")
	if open < 0 || values < open {
		return "", nil, fmt.Errorf("repository: unexpected insert %q", sql)
	}
	cols := strings.Split(sql[open+2:values], ",")
	if len(cols) != len(stmt.Vars) {
		return "", nil, fmt.Errorf("repository: insert into %s: %d columns, %d values", stmt.Table, len(cols), len(stmt.Vars))
	}
	placeholders := make([]string, len(cols))
	var vars []any
	for i, col := range cols {
		if e, ok := exprs[strings.Trim(col, "`\"")]; ok {
			placeholders[i] = e
			continue
		}
		placeholders[i] = "?"
		vars = append(vars, stmt.Vars[i])
	}
	return sql[:values] + ") VALUES (" + strings.Join(placeholders, ",") + ")", vars, nil
}
