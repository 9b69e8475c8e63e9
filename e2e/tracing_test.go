package e2e

import (
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/internal/tracing"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

// TestTracing follows one HTTP call carrying a caller's traceparent
// through the server: an HTTP span named by its route, the gateway's gRPC
// client span, the gRPC server span and the database statements' spans,
// all in the caller's trace, each the child of the one before; and no span
// holds the personal data the call carried.
func TestTracing(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			spans := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
			e := startBare(t, func(t testing.TB) testdb.DB {
				db := d.open(t)
				if err := tracing.Database(db.Gorm, tp, string(db.Dialect)); err != nil {
					t.Fatal(err)
				}
				return db
			})
			e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) {
				c.TracerProvider = tp
			})
			spans.Reset() // the start-up's own statements
			h := e.newHousehold()
			body := mustJSON(t, h)
			const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
			code, _, out, err := e.doHTTP(t, nil, e.httpBase+"/v1/households", http.MethodPost, strings.NewReader(body), int64(len(body)),
				http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}})
			if err != nil || code != http.StatusOK {
				t.Fatalf("POST /v1/households = %d %s (%v)", code, out, err)
			}
			var inTrace []sdktrace.ReadOnlySpan
			for _, s := range spans.GetSpans().Snapshots() {
				if s.SpanContext().TraceID().String() == traceID {
					inTrace = append(inTrace, s)
				}
			}
			byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
			var httpSpan, client, srv sdktrace.ReadOnlySpan
			var db []sdktrace.ReadOnlySpan
			for _, s := range inTrace {
				byID[s.SpanContext().SpanID()] = s
				switch {
				case s.Name() == "POST /v1/households":
					httpSpan = s
				case s.Name() == "casework.v1.HouseholdService/CreateHousehold" && s.SpanKind() == trace.SpanKindClient:
					client = s
				case s.Name() == "casework.v1.HouseholdService/CreateHousehold" && s.SpanKind() == trace.SpanKindServer:
					srv = s
				case strings.HasPrefix(s.Name(), "db "):
					db = append(db, s)
				}
			}
			if httpSpan == nil || client == nil || srv == nil || len(db) == 0 {
				names := []string{}
				for _, s := range inTrace {
					names = append(names, s.Name())
				}
				t.Fatalf("spans in the caller's trace: %q; want the HTTP route's, the gateway's gRPC client, the gRPC server's and the database's", names)
			}
			if httpSpan.Parent().SpanID().String() != "00f067aa0ba902b7" || client.Parent().SpanID() != httpSpan.SpanContext().SpanID() ||
				srv.Parent().SpanID() != client.SpanContext().SpanID() {
				t.Error("the spans do not chain caller → HTTP → gRPC client → gRPC server")
			}
			for _, s := range db {
				// A statement's span descends from the gRPC server's.
				p := s
				for p != nil && p.SpanContext().SpanID() != srv.SpanContext().SpanID() {
					p = byID[p.Parent().SpanID()]
				}
				if p == nil {
					t.Errorf("database span %s is not under the gRPC server's span", s.Name())
				}
			}
			for _, s := range inTrace {
				text := s.Name()
				for _, a := range s.Attributes() {
					text += " " + a.Value.String()
				}
				e.leaks.check("span "+s.Name(), text)
				if strings.Contains(text, h.GetServicemember().GetName()) {
					t.Errorf("span %s holds the servicemember's name", s.Name())
				}
			}
		})
	}
}
