// Package server wires the casework services into a running process: a gRPC
// listener with the interceptors every call passes through, and an HTTP
// listener whose JSON gateway reaches the services through a gRPC client
// connection, so both transports share one path of auth, validation and
// error mapping.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/api/openapi"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/service"
)

// Config is what a server needs beyond its store. cmd/casework fills it from
// flags and environment variables.
type Config struct {
	GRPCAddr        string        // e.g. ":9090"; ":0" picks a free port
	HTTPAddr        string        // e.g. ":8080"
	PageTokenKey    []byte        // signs page tokens
	RequestTimeout  time.Duration // the longest any call may run
	MaxRequestBytes int           // the largest request body or message accepted
	Now             func() time.Time
}

// Store is the storage a server runs on.
type Store interface {
	service.HouseholdStore
	service.CaseStore
	Ping(ctx context.Context) error
}

// Server is a configured, listening casework server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    Store
	grpc     *grpc.Server
	health   *health.Server
	http     *http.Server
	grpcLis  net.Listener
	httpLis  net.Listener
	gwClient *grpc.ClientConn
}

// New builds a server and opens its listeners, so that the addresses are
// known (and the ports taken) before Run.
func New(cfg Config, store Store, log *slog.Logger) (*Server, error) {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 4 << 20
	}
	if len(cfg.PageTokenKey) == 0 {
		return nil, errors.New("server: a page token key is required")
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("server: validator: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: store}
	opts := service.Options{PageTokenKey: cfg.PageTokenKey, Now: cfg.Now}

	s.grpc = grpc.NewServer(
		unaryChain(log, validator, cfg.RequestTimeout),
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes),
	)
	pb.RegisterHouseholdServiceServer(s.grpc, service.NewHouseholds(store, validator, opts))
	pb.RegisterCaseServiceServer(s.grpc, service.NewCases(store, validator, opts))
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)

	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("server: listen gRPC: %w", err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		_ = s.grpcLis.Close()
		return nil, fmt.Errorf("server: listen HTTP: %w", err)
	}
	handler, err := s.httpHandler()
	if err != nil {
		_ = s.grpcLis.Close()
		_ = s.httpLis.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 10*time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// GRPCAddr is the address the gRPC listener is bound to.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the address the HTTP listener is bound to.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// loopback rewrites a listener address to one a local client can dial.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func (s *Server) httpHandler() (http.Handler, error) {
	conn, err := grpc.NewClient("passthrough:///"+loopback(s.GRPCAddr()),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(s.cfg.MaxRequestBytes)),
	)
	if err != nil {
		return nil, fmt.Errorf("server: gateway client: %w", err)
	}
	s.gwClient = conn
	gw := runtime.NewServeMux(
		// The default marshaler, but strict: a JSON field the API does not
		// have is a 400, not silently dropped.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			},
		}),
	)
	ctx := context.Background()
	if err := pb.RegisterHouseholdServiceHandler(ctx, gw, conn); err != nil {
		return nil, err
	}
	if err := pb.RegisterCaseServiceHandler(ctx, gw, conn); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.JSON)
	})
	mux.Handle("/v1/", gw)
	return s.accessLog(limitBody(mux, int64(s.cfg.MaxRequestBytes))), nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := s.store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"database unreachable"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready"}`))
}

// limitBody caps request bodies before anything decodes them.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeJSONError(w, http.StatusRequestEntityTooLarge, 8, "request body too large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// writeJSONError writes an error in the gateway's google.rpc.Status shape,
// for the few errors raised before the gateway sees the request.
func writeJSONError(w http.ResponseWriter, httpCode, grpcCode int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	_, _ = fmt.Fprintf(w, `{"code":%d,"message":%q,"details":[]}`, grpcCode, msg)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// accessLog logs method, path and status. The query string is left out: it
// holds filters, and the path holds only resource ids.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.InfoContext(r.Context(), "http", "method", r.Method, "path", r.URL.Path, "status", rec.code, "duration", time.Since(start))
	})
}

// Run serves until ctx ends, then drains both listeners.
func (s *Server) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	g.Go(func() error {
		if err := s.grpc.Serve(s.grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("gRPC: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := s.http.Serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("HTTP: %w", err)
		}
		return nil
	})
	s.log.Info("serving", "grpc", s.GRPCAddr(), "http", s.HTTPAddr())
	g.Go(func() error {
		<-ctx.Done()
		s.health.Shutdown()
		shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = s.http.Shutdown(shutdown)
		stopped := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-shutdown.Done():
			s.grpc.Stop()
		}
		_ = s.gwClient.Close()
		return nil
	})
	return g.Wait()
}

var _ Store = (*repository.Store)(nil)
