package tracing

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

const spanKey = "casework:span"

// Database traces every statement db runs as a client span, a child of the
// call's span: its operation and its SQL with placeholders (the values are
// never recorded), and whether it failed (not the error's text, which a
// driver may fill with a value).
func Database(db *gorm.DB, tp trace.TracerProvider, system string) error {
	tracer := tp.Tracer("github.com/fengdu-county/casework/repository")
	cb := db.Callback()
	// gorm's processors are unexported types, so each is named in full.
	type hooks struct {
		name          string
		before, after func(name string, fn func(*gorm.DB)) error
	}
	for _, op := range []hooks{
		{"create", func(n string, f func(*gorm.DB)) error { return cb.Create().Before("gorm:create").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Create().After("gorm:create").Register(n, f) }},
		{"query", func(n string, f func(*gorm.DB)) error { return cb.Query().Before("gorm:query").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Query().After("gorm:query").Register(n, f) }},
		{"update", func(n string, f func(*gorm.DB)) error { return cb.Update().Before("gorm:update").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Update().After("gorm:update").Register(n, f) }},
		{"delete", func(n string, f func(*gorm.DB)) error { return cb.Delete().Before("gorm:delete").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Delete().After("gorm:delete").Register(n, f) }},
		{"row", func(n string, f func(*gorm.DB)) error { return cb.Row().Before("gorm:row").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Row().After("gorm:row").Register(n, f) }},
		{"raw", func(n string, f func(*gorm.DB)) error { return cb.Raw().Before("gorm:raw").Register(n, f) },
			func(n string, f func(*gorm.DB)) error { return cb.Raw().After("gorm:raw").Register(n, f) }},
	} {
		start := func(tx *gorm.DB) {
			if tx.DryRun {
				// Built, not sent: gorm builds subqueries this way, and the
				// repository the statements it sends under the heads' locks.
				return
			}
			ctx, span := tracer.Start(tx.Statement.Context, "db "+op.name, trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(attribute.String("db.system.name", system), attribute.String("db.operation.name", op.name)))
			tx.Statement.Context = ctx
			tx.InstanceSet(spanKey, span)
		}
		end := func(tx *gorm.DB) {
			v, ok := tx.InstanceGet(spanKey)
			if !ok {
				return
			}
			span := v.(trace.Span)
			span.SetAttributes(attribute.String("db.query.text", tx.Statement.SQL.String()),
				attribute.Int64("db.response.returned_rows", tx.RowsAffected))
			if tx.Error != nil && !errors.Is(tx.Error, gorm.ErrRecordNotFound) {
				span.SetStatus(codes.Error, "statement failed")
			}
			span.End()
		}
		if err := op.before("casework:trace_start_"+op.name, start); err != nil {
			return err
		}
		if err := op.after("casework:trace_end_"+op.name, end); err != nil {
			return err
		}
	}
	return nil
}
