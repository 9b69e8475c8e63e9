package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestSetupExportsOverOTLP points Setup at a collector and checks that a
// span reaches it over OTLP/HTTP, with the service's name.
func TestSetupExportsOverOTLP(t *testing.T) {
	var mu sync.Mutex
	var got []*coltracepb.ExportTraceServiceRequest
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			http.Error(w, "not a trace export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	defer collector.Close()

	tp, shutdown, err := Setup(context.Background(), Config{Endpoint: collector.URL, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "GET /v1/cases")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("the collector received no export")
	}
	rs := got[0].GetResourceSpans()[0]
	name := ""
	for _, a := range rs.GetResource().GetAttributes() {
		if a.GetKey() == "service.name" {
			name = a.GetValue().GetStringValue()
		}
	}
	if span := rs.GetScopeSpans()[0].GetSpans()[0]; span.GetName() != "GET /v1/cases" || name != "casework" {
		t.Errorf("exported span %q of service %q", span.GetName(), name)
	}
}

// TestSetupOff records nothing and needs no collector.
func TestSetupOff(t *testing.T) {
	tp, shutdown, err := Setup(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "x")
	if span.SpanContext().IsValid() {
		t.Error("tracing off still makes real spans")
	}
	span.End()
	_ = shutdown(context.Background())
	if _, _, err := Setup(context.Background(), Config{Endpoint: "http://127.0.0.1:1", SampleRatio: 2}); err == nil {
		t.Error("a sample ratio of 2 was accepted")
	}
}
