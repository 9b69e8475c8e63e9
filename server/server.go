// Package server wires the casework services into a running process: a gRPC
// listener with the interceptors every call passes through, and an HTTP
// listener whose JSON gateway reaches the services through an in-process
// gRPC connection to a twin server built the same way, so both transports
// share one path of authentication, authorization, validation and error
// mapping.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"buf.build/go/protovalidate"
	longrunningpb "cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/api/openapi"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/internal/jobs"
	"github.com/fengdu-county/casework/internal/metrics"
	"github.com/fengdu-county/casework/internal/tracing"
	"github.com/fengdu-county/casework/internal/webhook"
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

	// Tokens verifies bearer tokens (OIDC and local). API keys and client
	// certificates are checked against the store.
	Tokens authn.Verifiers
	// TLSCertFile and TLSKeyFile (PEM), when set, put both listeners on TLS.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile (PEM), when set, lets gRPC clients present a
	// certificate from this CA whose CommonName names their API key account.
	TLSClientCAFile string
	// RateLimit is the calls per second each principal may make (0: no
	// limit), with bursts of up to RateBurst (0: one second's worth).
	RateLimit float64
	RateBurst int
	// BatchRateLimit and BatchRateBurst are the same for principals that
	// hold the batch role alone (nightly imports); 0 takes RateLimit's and
	// RateBurst's value. Each principal still has a bucket of its own.
	BatchRateLimit float64
	BatchRateBurst int
	// LimitStore is where the rate limit, the lookup budget and the
	// streaks of missed lookups are kept: LimitStoreMemory (this process
	// alone), LimitStorePostgres (the database, shared by every replica),
	// LimitStoreRedis (RedisURL, shared) or LimitStoreAuto ("" too): Redis
	// when RedisURL is set, else the database on PostgreSQL, else memory.
	LimitStore string
	RedisURL   string

	// EventRetention is how long change-feed events are kept (0: forever).
	EventRetention time.Duration
	// RequestIDTTL is how long an AIP-155 request id's answer is kept
	// (0: 24 hours).
	RequestIDTTL time.Duration
	// WatchPoll is how often a caught-up WatchEvents looks for new events.
	WatchPoll time.Duration
	// StreamsPerPrincipal caps the streams one principal may hold open on
	// this server (0: 8). StreamRecheck is how often an open stream's API
	// key is read again, so that revoking it ends the stream (0: 5s).
	StreamsPerPrincipal int
	StreamRecheck       time.Duration
	// LookupsPerMinute is each principal's budget of lookups by ID number
	// (0: 30), each number of a BatchLookupHouseholds counting as one.
	// Negative turns the budget off (tests only). BatchLookupsPerMinute is
	// the batch role's (0: LookupsPerMinute's).
	LookupsPerMinute      int
	BatchLookupsPerMinute int
	// Towns is the county's table of towns (nil: the one shipped with the
	// server).
	Towns *towns.Table

	// APIKeyPeopleRoles lets admins create API keys carrying people's roles
	// (caseworker, supervisor, auditor, admin), each of which works only
	// once a second admin approves it.
	APIKeyPeopleRoles bool

	// Webhooks configures the delivery of the change feed to webhooks
	// (zero values: the webhook package's defaults; Now: the server's).
	// Its Allow list also decides which addresses a webhook's URL may name
	// when it is registered.
	Webhooks webhook.Options
	// WebhookCAFile (PEM), when set and Webhooks.RootCAs is not, is trusted
	// besides the system's roots for receivers with private certificates.
	WebhookCAFile string

	// Deadlines counts the cases' periods: the holiday calendar and the
	// county's terms (zero: the defaults on the shipped calendar).
	Deadlines domain.Deadlines
	// MeasureReviewPeriod is how often each preferential measure must be
	// reviewed (0: a year).
	MeasureReviewPeriod time.Duration
	// MaintenanceInterval is how often the job queue's maintain job
	// prunes old events and request ids, withdraws the legal-aid
	// applications whose materials lapsed and suspends the measures whose
	// agreement expired (0: 5 minutes); one server runs each round.
	MaintenanceInterval time.Duration

	// AuditAnchorInterval is how often the audit chain's head is anchored:
	// logged, and appended to AuditAnchorFile when that is set (0: never).
	AuditAnchorInterval time.Duration
	AuditAnchorFile     string

	// JobRescueAfter is how long a job may run before the queue takes its
	// server for dead and runs it again (0: 10 minutes). JobPoll is how
	// often an idle server looks for jobs (0: 500ms); JobSweepEvery how
	// often expired files are deleted and orphaned operations ended, and
	// the holds past their end time resumed (0: a minute).
	JobRescueAfter time.Duration
	JobPoll        time.Duration
	JobSweepEvery  time.Duration
	// JobWorkers is how many jobs the server runs at once (0: 2); negative
	// runs none, leaving its operations to the other servers.
	JobWorkers int
	// OperationFileTTL is how long an operation's file may be downloaded
	// (0: 24 hours); OperationRetention how long an ended operation is
	// kept (0: 30 days).
	OperationFileTTL   time.Duration
	OperationRetention time.Duration
	// OperationProgressEvery is how often a running operation's progress
	// is stored (0: 300ms).
	OperationProgressEvery time.Duration

	// ShutdownDrain is how long, once asked to stop, the server keeps
	// serving while its readiness (/readyz and gRPC health) already says
	// it is going, so that load balancers stop sending it calls before its
	// listeners close (0: no wait). ShutdownTimeout is how long calls in
	// flight may then take to finish before they are cut (0: 15 seconds).
	ShutdownDrain   time.Duration
	ShutdownTimeout time.Duration
	// HealthInterval is how often the database is pinged to keep gRPC
	// health true to it (0: 2 seconds); /readyz pings on each request.
	HealthInterval time.Duration
	// TracerProvider receives the spans of HTTP requests and gRPC calls
	// (nil: none are recorded). The store's statements are traced by
	// whoever opened its database (tracing.Database).
	TracerProvider trace.TracerProvider

	// AlertWindow is how long before its due time a case is alerted as
	// due soon (0: three days); AlertScanEvery how often the alert scan
	// runs (0: a minute).
	AlertWindow    time.Duration
	AlertScanEvery time.Duration
	// AttachmentBlobs keeps attachments' bytes (nil: the database, through
	// the store); the server seals what it puts there with the store's
	// keyring. AttachmentMaxBytes is the largest attachment taken (0: 20
	// MB).
	AttachmentBlobs    service.BlobStore
	AttachmentMaxBytes int64

	// Retention is the retention schedule (nil: the defaults), applied by
	// the job queue every RetentionEvery (0: a day; negative: never) in
	// transactions of RetentionBatch households (0: 100).
	Retention      domain.RetentionSchedule
	RetentionEvery time.Duration
	RetentionBatch int
	// OrphanSweepEvery is how often the job queue deletes the attachment
	// store's blobs that no attachment names (0: six hours; negative:
	// never), once they are older than OrphanGrace (0: a day).
	OrphanSweepEvery time.Duration
	OrphanGrace      time.Duration
}

// Store is the storage a server runs on.
type Store interface {
	service.HouseholdStore
	service.CaseStore
	service.LedgerStore
	service.RecruitmentStore
	service.APIKeyStore
	service.AuditStore
	service.EventStore
	RequestStore
	service.WebhookStore
	service.CampaignStore
	service.AssigneeStore
	webhook.Store
	AuthStore
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
	PruneRequests(ctx context.Context) (int64, error)
	WithdrawLapsedMaterials(ctx context.Context, now time.Time) (int, error)
	service.MeasureStore
	SuspendExpiredMeasures(ctx context.Context, now time.Time) (int, error)
	service.OperationStore
	FeedLag(ctx context.Context) (repository.FeedLag, error)
	service.ExportStore
	service.ReferralStore
	service.AlertStore
	service.AttachmentStore
	service.RetentionStore
	service.BlobSweepStore
	// Blobs is the attachment store in the database, and BlobCipher the
	// keyring attachments are sealed with.
	Blobs() *repository.Blobs
	BlobCipher() blob.Cipher
	service.ReportStore
	// SQLDB and Dialect give the job queue the database it shares.
	SQLDB() (*sql.DB, error)
	Dialect() repository.Dialect
	Ping(ctx context.Context) error
}

// Server is a configured, listening casework server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  Store
	grpc   *grpc.Server // the public listener's
	health *health.Server
	http   *http.Server
	// internal serves the gateway alone, in process: the only server that
	// trusts x-forwarded-for, since only the gateway can reach it.
	internal    *grpc.Server
	internalLis *bufconn.Listener
	grpcLis     net.Listener
	httpLis     net.Listener
	gwClient    *grpc.ClientConn
	events      *service.Events
	dispatcher  *webhook.Dispatcher
	queue       *jobs.Queue
	// draining is set once the server is asked to stop: readiness says
	// no from then on, while calls are still served.
	draining atomic.Bool
	metrics  *metrics.Metrics
	// limits keeps the rate limit's and the lookup budget's buckets.
	limits *limits
}

// internalBufferBytes is the in-process connection's buffer each way.
const internalBufferBytes = 1 << 20

const (
	// maxHeaderBytes bounds a gRPC call's metadata as MaxHeaderBytes bounds
	// HTTP headers. grpc-go's own default is 16 MB a call: ten such calls
	// took a server from 55 to 213 MB.
	maxHeaderBytes = 64 << 10
	// maxStreamsPerConn bounds the calls in flight on one connection, watch
	// streams included; a client wanting more opens another connection.
	maxStreamsPerConn = 100
)

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
	grpcTLS, httpTLS, err := tlsConfigs(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := checkAnchorFile(cfg.AuditAnchorFile); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: store, health: health.NewServer(), metrics: metrics.New()}
	dial, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.limits, err = newLimits(dial, cfg.LimitStore, cfg.RedisURL, store, log)
	cancel()
	if err != nil {
		return nil, err
	}
	s.limits.countFailure = s.metrics.LimitStoreFailed
	auth := &authenticator{
		// A client sends the same token with every call until it expires;
		// its signature is checked once a minute, not every call.
		tokens: authn.NewTokenCache(cfg.Tokens, 10_000, time.Minute, nil),
		store:  store,
		limits: s.limits,
		rate: roleLimits{
			name:   "rate",
			people: newLimit(cfg.RateLimit, cfg.RateBurst),
			batch:  newLimit(cmp.Or(cfg.BatchRateLimit, cfg.RateLimit), cmp.Or(cfg.BatchRateBurst, cfg.RateBurst)),
		},
		streams: newStreamSlots(cfg.StreamsPerPrincipal),
		recheck: cfg.StreamRecheck,
		now:     cfg.Now,
		log:     log,
	}
	lookupsPerMinute := cfg.LookupsPerMinute
	if lookupsPerMinute == 0 {
		lookupsPerMinute = 30
	}
	lookups := newLookupGuard(lookupsPerMinute, cmp.Or(cfg.BatchLookupsPerMinute, lookupsPerMinute), s.limits, log, store.AppendAudit)
	opts := service.Options{PageTokenKey: cfg.PageTokenKey, Now: cfg.Now, Actor: actor, APIKeyPeopleRoles: cfg.APIKeyPeopleRoles,
		Deadlines: cfg.Deadlines, MeasureReviewPeriod: cfg.MeasureReviewPeriod}
	households := service.NewHouseholds(store, cfg.Towns, validator, opts)
	cases := service.NewCases(store, cfg.Towns, validator, opts)
	ledger := service.NewLedger(store, cases, cfg.Towns, validator, opts)
	measures := service.NewMeasures(store, cfg.Towns, validator, opts)
	recruitment := service.NewRecruitment(store, cases, cfg.Towns, validator, opts)
	apiKeys := service.NewAPIKeys(store, validator, opts)
	auditLogs := service.NewAuditLogs(store, validator, opts)
	s.events = service.NewEvents(store, validator, cfg.WatchPoll, opts)
	reference := service.NewReference(cfg.Towns, validator, opts)
	templates := service.NewTemplates(cfg.Towns, validator, opts)
	webhooks := service.NewWebhooks(store, validator, opts, cfg.Webhooks.Allow)
	campaigns := service.NewCampaigns(store, cfg.Towns, validator, opts)
	assignees := service.NewAssignees(store, cfg.Towns, validator, opts)
	reports := service.NewReports(store, cfg.Towns, validator, opts)
	operations := service.NewOperations(store, service.NewWorks(store, households, cfg.Towns, opts), validator, opts, service.OperationOptions{
		FileTTL: cfg.OperationFileTTL, Retention: cfg.OperationRetention, ProgressEvery: cfg.OperationProgressEvery, Log: log})
	spreadsheets := service.NewSpreadsheets(operations)
	if cfg.AttachmentMaxBytes <= 0 {
		cfg.AttachmentMaxBytes = service.DefaultAttachmentMaxBytes
	}
	s.cfg.AttachmentMaxBytes = cfg.AttachmentMaxBytes
	blobs := cmp.Or[service.BlobStore](cfg.AttachmentBlobs, store.Blobs())
	attachments := service.NewAttachments(store, validator, opts, service.AttachmentOptions{
		Blobs:    blob.NewSealing(blobs, store.BlobCipher()),
		MaxBytes: cfg.AttachmentMaxBytes, RequestIDTTL: cfg.RequestIDTTL, Log: log})
	longRunning := service.NewLongRunning(operations)
	referrals := service.NewReferrals(store, validator, opts)
	alerts := service.NewAlerts(store, cfg.AlertWindow, validator, opts, log)
	sqlDB, err := store.SQLDB()
	if err != nil {
		return nil, err
	}
	retention := service.NewRetention(store, service.RetentionOptions{Schedule: cfg.Retention, Batch: cfg.RetentionBatch,
		Blobs: cfg.AttachmentBlobs, Now: cfg.Now, Log: log})
	orphans := service.NewBlobSweep(store, service.BlobSweepOptions{Blobs: blobs, Grace: cfg.OrphanGrace,
		Swept: s.metrics.OrphansDeleted, Now: cfg.Now, Log: log})
	if s.queue, err = jobs.New(sqlDB, store.Dialect(), jobs.Handlers{Operation: operations.Run, Sweep: operations.Sweep,
		AlertScan: alerts.Scan, EndHolds: cases.EndHolds, Maintain: s.maintain, Retention: retention.Job, BlobSweep: orphans.Job},
		jobs.Config{RescueAfter: cfg.JobRescueAfter, Poll: cfg.JobPoll, SweepEvery: cfg.JobSweepEvery, Workers: cfg.JobWorkers,
			AlertScanEvery: cfg.AlertScanEvery, MaintainEvery: cfg.MaintenanceInterval, RetentionEvery: cfg.RetentionEvery,
			BlobSweepEvery: cfg.OrphanSweepEvery}, log); err != nil {
		return nil, err
	}
	operations.SetQueue(s.queue)
	s.metrics.DB(sqlDB)
	s.metrics.Feed(func(ctx context.Context) (metrics.Lag, error) {
		l, err := store.FeedLag(ctx)
		lag := metrics.Lag{FeedHead: l.Head, WebhookBacklog: l.Backlog}
		if l.Oldest != nil {
			lag.OldestUndelivered = cfg.Now().Sub(*l.Oldest)
		}
		return lag, err
	})
	s.queue.Observe(s.metrics.Job)
	if s.dispatcher, err = newDispatcher(cfg, store, log); err != nil {
		return nil, err
	}
	// Both gRPC servers come from here, so the gateway's path cannot drift
	// from the public one; they differ only in transport and in trusting
	// x-forwarded-for.
	newServer := func(trustForwarded bool, extra ...grpc.ServerOption) *grpc.Server {
		o := append(serverOptions(steps(log, s.metrics, validator, cfg.RequestTimeout, auth, lookups, store, cfg.RequestIDTTL, trustForwarded)),
			grpc.MaxRecvMsgSize(cfg.MaxRequestBytes),
			// A watch of the change feed may sit idle for hours: pings keep
			// proxies and NAT from dropping it, and clients may ping too.
			grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second}),
			grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 20 * time.Second, PermitWithoutStream: true}),
			grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(s.tracerProvider()),
				otelgrpc.WithPropagators(tracing.Propagator))))
		g := grpc.NewServer(append(o, extra...)...)
		pb.RegisterHouseholdServiceServer(g, households)
		pb.RegisterCaseServiceServer(g, cases)
		pb.RegisterLedgerServiceServer(g, ledger)
		pb.RegisterMeasureServiceServer(g, measures)
		pb.RegisterRecruitmentServiceServer(g, recruitment)
		pb.RegisterApiKeyServiceServer(g, apiKeys)
		pb.RegisterAuditServiceServer(g, auditLogs)
		pb.RegisterEventServiceServer(g, s.events)
		pb.RegisterWebhookServiceServer(g, webhooks)
		pb.RegisterPolicyServiceServer(g, reference)
		pb.RegisterTownServiceServer(g, reference)
		pb.RegisterTemplateServiceServer(g, templates)
		pb.RegisterCampaignServiceServer(g, campaigns)
		pb.RegisterAssigneeServiceServer(g, assignees)
		pb.RegisterReportServiceServer(g, reports)
		pb.RegisterSpreadsheetServiceServer(g, spreadsheets)
		pb.RegisterOperationServiceServer(g, operations)
		pb.RegisterReferralServiceServer(g, referrals)
		pb.RegisterAlertServiceServer(g, alerts)
		pb.RegisterAttachmentServiceServer(g, attachments)
		longrunningpb.RegisterOperationsServer(g, longRunning)
		healthpb.RegisterHealthServer(g, s.health)
		reflection.Register(g)
		return g
	}
	// The limits are the public listener's. The gateway's twin goes
	// without: its one client is the gateway, whose input the HTTP server
	// already bounds to 64 KiB of headers, and a stream cap there would
	// queue every JSON call behind the first hundred on its one connection.
	public := []grpc.ServerOption{grpc.MaxHeaderListSize(maxHeaderBytes), grpc.MaxConcurrentStreams(maxStreamsPerConn)}
	if grpcTLS != nil {
		public = append(public, grpc.Creds(credentials.NewTLS(grpcTLS)))
	}
	s.grpc = newServer(false, public...)
	s.internal = newServer(true)
	s.internalLis = bufconn.Listen(internalBufferBytes)

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
		TLSConfig:         httpTLS,
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

// actor names the caller for the services' history and notes: the
// authenticated principal, never anything from the request body.
func actor(ctx context.Context) string {
	if p := principal.FromContext(ctx); p != nil {
		return p.ID
	}
	return "anonymous"
}

// tlsConfigs returns the TLS configurations of the gRPC and HTTP listeners,
// or nils when no certificate is configured.
func tlsConfigs(cfg Config) (grpcTLS, httpTLS *tls.Config, err error) {
	if cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" {
		if cfg.TLSClientCAFile != "" {
			return nil, nil, errors.New("server: a client CA needs a server certificate and key")
		}
		return nil, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("server: TLS certificate: %w", err)
	}
	base := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	grpcTLS, httpTLS = base.Clone(), base.Clone()
	if cfg.TLSClientCAFile != "" {
		pemCAs, err := os.ReadFile(cfg.TLSClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("server: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemCAs) {
			return nil, nil, fmt.Errorf("server: client CA %s holds no PEM certificate", cfg.TLSClientCAFile)
		}
		grpcTLS.ClientCAs = pool
		// Optional: people still come with bearer tokens. A certificate
		// that is given must verify, or the handshake fails.
		grpcTLS.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return grpcTLS, httpTLS, nil
}

func (s *Server) httpHandler() (http.Handler, error) {
	conn, err := grpc.NewClient("passthrough:///internal",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return s.internalLis.DialContext(ctx)
		}),
		// In process: there is no wire to protect.
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(s.cfg.MaxRequestBytes)),
		// The HTTP request's trace continues into the gRPC call.
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(s.tracerProvider()),
			otelgrpc.WithPropagators(tracing.Propagator))),
		// So the error handler knows which errors are the services'.
		grpc.WithUnaryInterceptor(markServerErrors),
	)
	if err != nil {
		return nil, fmt.Errorf("server: gateway client: %w", err)
	}
	s.gwClient = conn
	gw := runtime.NewServeMux(
		// The default marshaler, but strict: a JSON field the API does not
		// have is a 400, not silently dropped. Its decoder's errors name
		// the field, not the value.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: quietJSON{&runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			}},
		}),
		runtime.SetQueryParameterParser(&quietQuery{}),
		runtime.WithErrorHandler(gatewayErrors),
		runtime.WithMiddlewares(routeTemplate, credentialFirst),
		runtime.WithIncomingHeaderMatcher(requestIDIn),
		runtime.WithOutgoingHeaderMatcher(requestIDOut),
		runtime.WithForwardResponseOption(replayHeader),
	)
	ctx := context.Background()
	// Every service's HTTP routes, on the one gateway.
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		pb.RegisterHouseholdServiceHandler, pb.RegisterCaseServiceHandler, pb.RegisterAssigneeServiceHandler,
		pb.RegisterLedgerServiceHandler, pb.RegisterReferralServiceHandler, pb.RegisterAlertServiceHandler,
		pb.RegisterMeasureServiceHandler, pb.RegisterRecruitmentServiceHandler, pb.RegisterApiKeyServiceHandler,
		pb.RegisterAuditServiceHandler, pb.RegisterEventServiceHandler, pb.RegisterWebhookServiceHandler,
		pb.RegisterPolicyServiceHandler, pb.RegisterTemplateServiceHandler, pb.RegisterTownServiceHandler,
		pb.RegisterCampaignServiceHandler, pb.RegisterReportServiceHandler, pb.RegisterSpreadsheetServiceHandler,
		pb.RegisterOperationServiceHandler, pb.RegisterAttachmentServiceHandler,
	} {
		if err := register(ctx, gw, conn); err != nil {
			return nil, err
		}
	}
	if err := s.registerFileRoutes(gw); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	// A fixed path is its own route template.
	fixed := func(path string, h http.HandlerFunc) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			setRoute(r.Context(), path)
			h(w, r)
		})
	}
	fixed("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	fixed("/readyz", s.ready)
	// Prometheus' scrape. Like the probes it needs no credential: it holds
	// counts by method and route, nothing about a person. Keep it off the
	// public ingress all the same (docs/operations.md).
	metricsHandler := s.metrics.Handler()
	fixed("/metrics", metricsHandler.ServeHTTP)
	// The OpenAPI documents: 3.1 at the usual name, and v2 for tools
	// that read only v2.
	for path, doc := range map[string][]byte{"/openapi.json": openapi.V3, "/openapi-v2.json": openapi.V2} {
		fixed(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		})
	}
	mux.Handle("/v1/", gw)
	return s.accessLog(limitBody(mux, int64(s.cfg.MaxRequestBytes), s.cfg.AttachmentMaxBytes+uploadOverhead)), nil
}

// requestIDIn passes an HTTP client's X-Request-Id to the services, besides
// the gateway's default forwarding.
func requestIDIn(key string) (string, bool) {
	if strings.EqualFold(key, requestIDKey) {
		return requestIDKey, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// requestIDOut answers with X-Request-Id under its usual name, a
// download's file name as Content-Disposition, and a merged household's
// survivor as Location; other response metadata
// keeps the gateway's default Grpc-Metadata- prefix.
func requestIDOut(key string) (string, bool) {
	switch key {
	case requestIDKey:
		return "X-Request-Id", true
	case service.ContentDispositionKey:
		return "Content-Disposition", true
	case service.LocationKey:
		return "Location", true
	}
	return runtime.MetadataHeaderPrefix + key, true
}

// replayHeader answers a replayed call with Idempotent-Replay: true, the
// name the contract documents, besides the gateway's
// Grpc-Metadata-Idempotent-Replay that earlier clients read.
func replayHeader(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok && len(md.HeaderMD.Get(ReplayHeader)) > 0 {
		w.Header().Set("Idempotent-Replay", md.HeaderMD.Get(ReplayHeader)[0])
	}
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"shutting down"}`))
		return
	}
	if err := s.store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"database unreachable"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready"}`))
}

// limitBody caps request bodies before anything decodes them: an upload
// of an attachment at the attachment limit (plus its form), any other at
// max.
func limitBody(next http.Handler, max, upload int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, refusal := max, error(errBodyTooLarge)
		if r.Method == http.MethodPost && uploadPath.MatchString(r.URL.Path) {
			limit, refusal = upload, domain.ErrAttachmentTooLarge
		}
		if r.ContentLength > limit {
			writeStatus(w, http.StatusRequestEntityTooLarge, refusal)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// errBodyTooLarge refuses a body declared larger than the limit before
// anything reads it.
var errBodyTooLarge = apierr.New(codes.ResourceExhausted, pb.ErrorReason_REQUEST_TOO_LARGE, "request body too large")

// writeStatus writes err as the gateway writes errors, a google.rpc.Status
// in JSON, for the few refused before the gateway sees the request.
func writeStatus(w http.ResponseWriter, httpCode int, err error) {
	body, mErr := protojson.Marshal(status.Convert(apierr.ToStatus(err)).Proto())
	if mErr != nil {
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	_, _ = w.Write(body)
}

type statusRecorder struct {
	http.ResponseWriter
	code      int
	requestID string
	wrote     bool
}

// WriteHeader answers with the call's X-Request-Id unless the services
// already did: answers the gateway makes itself (a body it cannot decode,
// an unknown path) carry one too.
func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote && r.Header().Get("X-Request-Id") == "" {
		r.Header().Set("X-Request-Id", r.requestID)
	}
	r.code, r.wrote = code, true
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// accessLog logs method, route, status and duration. The route is the
// template the request matched (/v1/{name=households/*}), never the path:
// a path holds whatever id the client put there, and a client may put an
// ID number there. A request no route took logs unmatchedRoute. The query
// string is left out too: it holds filters.
func (s *Server) accessLog(next http.Handler) http.Handler {
	tracer := s.tracerProvider().Tracer("github.com/fengdu-county/casework/server")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The span is named once the route is known: never by the path.
		ctx, span := tracer.Start(tracing.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)),
			"HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		r, rt := withRoute(r.WithContext(ctx))
		// One id for the whole call: the caller's when it is sane, which
		// the gateway then passes on to the services.
		id := requestID(metadata.Pairs(requestIDKey, r.Header.Get("X-Request-Id")))
		r.Header.Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK, requestID: id}
		next.ServeHTTP(rec, r)
		template := rt.template
		if template == "" {
			template = unmatchedRoute
		}
		took := time.Since(start)
		span.SetName(r.Method + " " + template)
		span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", template),
			attribute.Int("http.response.status_code", rec.code))
		if rec.code >= http.StatusInternalServerError {
			span.SetStatus(otelcodes.Error, http.StatusText(rec.code))
		}
		s.log.InfoContext(r.Context(), "http", "method", r.Method, "route", template, "status", rec.code, "duration", took)
		s.metrics.HTTP(r.Method, template, rec.code, took)
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
		if err := s.internal.Serve(s.internalLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("gateway gRPC: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		serve := s.http.Serve
		if s.http.TLSConfig != nil {
			// The certificate is already in TLSConfig.
			serve = func(l net.Listener) error { return s.http.ServeTLS(l, "", "") }
		}
		if err := serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("HTTP: %w", err)
		}
		return nil
	})
	g.Go(func() error { s.anchorAudit(ctx); return nil })
	g.Go(func() error { s.watchDatabase(ctx); return nil })
	// Every server delivers webhooks; leases in the database keep each
	// webhook to one server at a time. It stops when ctx ends.
	g.Go(func() error { return s.dispatcher.Run(ctx) })
	// The job queue runs imports and exports; river keeps each job to one
	// server at a time. Its own context is not ctx: a stop is asked for
	// below, so running jobs get their time to finish.
	if err := s.queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	s.log.Info("serving", "grpc", s.GRPCAddr(), "http", s.HTTPAddr())
	g.Go(func() error { <-ctx.Done(); s.shutdown(); return nil })
	return g.Wait()
}

func (s *Server) tracerProvider() trace.TracerProvider {
	if s.cfg.TracerProvider == nil {
		return noop.NewTracerProvider()
	}
	return s.cfg.TracerProvider
}

// watchDatabase keeps gRPC health true to the database: NOT_SERVING while
// it cannot be reached, SERVING again once it can, with no restart. Calls
// meanwhile fail at once with UNAVAILABLE (apierr), and /readyz asks the
// database itself each time.
func (s *Server) watchDatabase(ctx context.Context) {
	every := cmp.Or(s.cfg.HealthInterval, 2*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	serving := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ping, cancel := context.WithTimeout(ctx, every)
		err := s.store.Ping(ping)
		cancel()
		if ctx.Err() != nil || s.draining.Load() {
			return // shutting down: health is already NOT_SERVING for good
		}
		if up := err == nil; up != serving {
			serving = up
			if up {
				s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
				s.log.Info("database reachable again: serving")
			} else {
				s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
				s.log.Error("database unreachable: not serving until it is back", "error_type", fmt.Sprintf("%T", err))
			}
		}
	}
}

// shutdown stops the server in the order that loses no call: readiness
// turns false on both transports while the listeners still serve, for
// ShutdownDrain, so that load balancers move away; then the listeners stop
// accepting and calls in flight get until ShutdownTimeout to finish
// (watch streams end at once: a follower resumes from its position); then
// the rest are cut. Running jobs get part of that time and are otherwise
// cancelled, which leaves their operations for another server.
func (s *Server) shutdown() {
	s.draining.Store(true)
	s.health.Shutdown()
	s.log.Info("shutting down: readiness off", "drain", s.cfg.ShutdownDrain)
	time.Sleep(s.cfg.ShutdownDrain)
	s.events.Stop()
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	deadline, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stopJobs, cancelJobs := context.WithTimeout(deadline, timeout/3)
	if err := s.queue.Stop(stopJobs); err != nil {
		s.log.Warn("stopping the job queue", "error_type", fmt.Sprintf("%T", err))
	}
	cancelJobs()
	httpDone := make(chan struct{})
	go func() { _ = s.http.Shutdown(deadline); close(httpDone) }()
	grpcDone := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(grpcDone) }()
	for _, done := range []chan struct{}{httpDone, grpcDone} {
		select {
		case <-done:
		case <-deadline.Done():
		}
	}
	if deadline.Err() != nil {
		s.log.Warn("shutting down: calls still in flight at the deadline were cut", "timeout", timeout)
		s.grpc.Stop()
		_ = s.http.Close()
	}
	// The gateway's own connection last: HTTP calls in flight use it.
	s.internal.Stop()
	_ = s.gwClient.Close()
	s.limits.close()
	s.log.Info("stopped")
}

// maintain prunes change-feed events older than the retention and
// request ids past their time, withdraws the legal-aid applications whose
// missing materials did not come by their last day
// (LEGAL_AID_MATERIALS_WITHDRAWN), and suspends the preferential measures
// whose organization's agreement expired (reads already answer them as
// SUSPENDED; this stores it, with history and a feed event). It is the
// job queue's periodic "maintain" job, run by one server at a time every
// MaintenanceInterval; each step is idempotent besides, so a run that
// overlaps a rescued one withdraws a case, or suspends a measure, once.
// A failed step does not keep the others from running; the job fails
// (and the metrics count it) when any did.
func (s *Server) maintain(ctx context.Context) error {
	var errs []error
	step := func(what string, n int64, err error) {
		switch {
		case err != nil:
			s.log.Error(what, "error_type", fmt.Sprintf("%T", err))
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		case n > 0:
			s.log.Info(what, "count", n)
		}
	}
	withdrawn, err := s.store.WithdrawLapsedMaterials(ctx, s.cfg.Now())
	step("withdrawing applications whose materials lapsed", int64(withdrawn), err)
	suspended, err := s.store.SuspendExpiredMeasures(ctx, s.cfg.Now())
	step("suspending measures whose agreement expired", int64(suspended), err)
	if s.cfg.EventRetention > 0 {
		pruned, err := s.store.PruneEvents(ctx, s.cfg.Now().Add(-s.cfg.EventRetention))
		step("pruning events", int64(pruned), err)
	}
	expired, err := s.store.PruneRequests(ctx)
	step("pruning request ids", expired, err)
	// The shared rate limit's full buckets and idle streaks (a shared
	// store's rows; the memory store sweeps itself).
	swept, err := s.limits.sweep(ctx, time.Now())
	step("sweeping idle rate limit buckets", swept, err)
	return errors.Join(errs...)
}

// newDispatcher builds the webhook dispatcher, on the server's clock,
// trusting cfg.WebhookCAFile too when one is given.
func newDispatcher(cfg Config, store Store, log *slog.Logger) (*webhook.Dispatcher, error) {
	o := cfg.Webhooks
	if o.Now == nil {
		o.Now = cfg.Now
	}
	if cfg.WebhookCAFile != "" && o.RootCAs == nil {
		pemCAs, err := os.ReadFile(cfg.WebhookCAFile)
		if err != nil {
			return nil, fmt.Errorf("server: webhook CA: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemCAs) {
			return nil, fmt.Errorf("server: webhook CA %s holds no PEM certificate", cfg.WebhookCAFile)
		}
		o.RootCAs = pool
	}
	return webhook.New(store, o, log), nil
}

var _ Store = (*repository.Store)(nil)
