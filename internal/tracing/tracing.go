// Package tracing sets up OpenTelemetry tracing: off unless an OTLP
// endpoint is configured, then spans of HTTP requests, gRPC calls (the
// gateway's included, so one trace runs gateway → gRPC → database) and
// database statements, exported over OTLP/HTTP in batches. Spans carry
// methods, route templates, status codes and SQL with its placeholders,
// never the values a caller sent.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's URL: its base
	// (http://collector:4318, to which /v1/traces is added) or the full
	// traces URL. Empty turns tracing off.
	Endpoint string
	// SampleRatio is the share of traces started here that are kept (0:
	// all); a caller's sampled traceparent is always followed.
	SampleRatio float64
	// Version is the server's, recorded on every span.
	Version string
}

// Setup returns the tracer provider to give the server, and a function that
// flushes and stops it. With no endpoint the provider records nothing.
func Setup(ctx context.Context, cfg Config) (trace.TracerProvider, func(context.Context) error, error) {
	if cfg.Endpoint == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, nil, errors.New("tracing: the sample ratio must be between 0 and 1")
	}
	endpoint, err := url.Parse(cfg.Endpoint)
	if err != nil || endpoint.Host == "" {
		return nil, nil, fmt.Errorf("tracing: the OTLP endpoint must be a URL such as http://collector:4318")
	}
	if endpoint.Path == "" || endpoint.Path == "/" {
		// A collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it.
		endpoint.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint.String()))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	ratio := cfg.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("casework"), semconv.ServiceVersion(cfg.Version))),
	)
	return tp, tp.Shutdown, nil
}

// Propagator reads and writes W3C trace context, so that a caller's trace
// continues here and the gateway's continues in the gRPC server.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}
