package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/internal/webhook"
	"github.com/fengdu-county/casework/internal/webhook/egress"
	"github.com/fengdu-county/casework/service"
)

// settings is every setting of the casework command. Each flag has an
// environment variable; the flag wins when both are given. This table is the
// one list of them, and `casework help serve` prints it.
type settings struct {
	GRPCAddr         string
	HTTPAddr         string
	DatabaseURL      string
	DataDir          string
	MigrateOnStart   bool
	PageTokenKey     string
	CaseNumberPrefix string
	RequestTimeout   time.Duration
	MaxRequestBytes  int
	LogLevel         string
	LogFormat        string
	Keyring          string
	// APIKeyPeopleRoles: read by `serve` and by `apikey create`.
	APIKeyPeopleRoles bool

	OIDCIssuer          string
	OIDCAudience        string
	OIDCJWKSURL         string
	OIDCUserClaim       string
	OIDCRolesClaim      string
	OIDCTownsClaim      string
	OIDCClockSkew       time.Duration
	LocalTokens         bool
	TLSCert             string
	TLSKey              string
	TLSClientCA         string
	RateLimit           float64
	RateBurst           int
	BatchRateLimit      float64
	BatchRateBurst      int
	RateLimitStore      string
	RedisURL            string
	LookupLimit         int
	BatchLookupLimit    int
	StreamsPerPrincipal int
	EventRetention      time.Duration
	RequestIDTTL        time.Duration
	JobRescueAfter      time.Duration
	OperationFileTTL    time.Duration
	AlertWindow         time.Duration
	AlertScanEvery      time.Duration

	TownsFile         string
	HolidaysDir       string
	ElderTermDays     int
	SchoolTermDays    int
	PlacementPlanEnd  string
	MeasureReviewDays int
	MaintenanceEvery  time.Duration
	DebugAddr         string
	ShutdownDrain     time.Duration
	ShutdownTimeout   time.Duration
	OTLPEndpoint      string
	TraceSampleRatio  float64
	WebhookPoll       time.Duration
	WebhookMaxBackoff time.Duration
	WebhookCA         string
	WebhookAllow      string

	AuditAnchorFile     string
	AuditAnchorInterval time.Duration

	AttachmentStore    string
	AttachmentDir      string
	AttachmentMaxBytes int
	S3Endpoint         string
	S3Bucket           string
	S3Region           string
	S3Prefix           string
	S3Insecure         bool

	RetentionHouseholdDays int
	RetentionComplaintDays int
	RetentionEvery         time.Duration
	RetentionBatch         int

	OrphanSweepEvery time.Duration
	OrphanGrace      time.Duration
}

// bindLedger binds the settings that shape what a ledger shows: serve's,
// and the exports' run from the command line.
func (s *settings) bindLedger(fs *pflag.FlagSet) {
	str(fs, &s.TownsFile, "towns-file", "CASEWORK_TOWNS_FILE", "",
		"file listing the county's towns and sub-districts (code, tab, name per line); empty: the table shipped with the server")
	integer(fs, &s.MeasureReviewDays, "measure-review-days", "CASEWORK_MEASURE_REVIEW_DAYS", 365,
		"county policy: days within which each preferential measure must be reviewed (全面清理); older ones are review_overdue")
}

func (s *settings) bind(fs *pflag.FlagSet, serve bool) {
	str(fs, &s.DatabaseURL, "database-url", "CASEWORK_DATABASE_URL", "",
		"postgres://… for PostgreSQL, or sqlite:PATH; empty uses the embedded SQLite database in --data-dir")
	str(fs, &s.DataDir, "data-dir", "CASEWORK_DATA_DIR", "data",
		"directory for the embedded database and generated keys")
	str(fs, &s.LogLevel, "log-level", "CASEWORK_LOG_LEVEL", "info", "debug, info, warn or error")
	str(fs, &s.LogFormat, "log-format", "CASEWORK_LOG_FORMAT", "json", "json or text")
	str(fs, &s.Keyring, "keyring", "CASEWORK_KEYRING", "",
		"file holding the keys that seal ID and phone numbers at rest and key the audit chain; empty: DATA_DIR/keyring.json, created on first start")
	boolean(fs, &s.APIKeyPeopleRoles, "api-key-people-roles", "CASEWORK_API_KEY_PEOPLE_ROLES", false,
		"let API keys carry people's roles (caseworker, supervisor, auditor, admin); each such key works only once a second admin approves it")
	if !serve {
		return
	}
	str(fs, &s.OIDCIssuer, "oidc-issuer", "CASEWORK_OIDC_ISSUER", "", "OpenID Connect issuer whose bearer tokens are accepted")
	str(fs, &s.OIDCAudience, "oidc-audience", "CASEWORK_OIDC_AUDIENCE", "casework", "audience the OIDC tokens must carry")
	str(fs, &s.OIDCJWKSURL, "oidc-jwks-url", "CASEWORK_OIDC_JWKS_URL", "", "the issuer's JWKS URL (required with --oidc-issuer)")
	str(fs, &s.OIDCUserClaim, "oidc-user-claim", "CASEWORK_OIDC_USER_CLAIM", "sub", "claim holding the user id")
	str(fs, &s.OIDCRolesClaim, "oidc-roles-claim", "CASEWORK_OIDC_ROLES_CLAIM", "roles", "claim holding the roles")
	str(fs, &s.OIDCTownsClaim, "oidc-towns-claim", "CASEWORK_OIDC_TOWNS_CLAIM", "towns", "claim holding the town codes")
	duration(fs, &s.OIDCClockSkew, "oidc-clock-skew", "CASEWORK_OIDC_CLOCK_SKEW", time.Minute, "clock skew allowed on exp and nbf")
	boolean(fs, &s.LocalTokens, "local-tokens", "CASEWORK_LOCAL_TOKENS", true,
		"accept tokens minted by `casework token` with the key in --data-dir; turn off in production")
	str(fs, &s.TLSCert, "tls-cert", "CASEWORK_TLS_CERT", "", "PEM certificate: serve TLS on both listeners")
	str(fs, &s.TLSKey, "tls-key", "CASEWORK_TLS_KEY", "", "PEM private key of --tls-cert")
	str(fs, &s.TLSClientCA, "tls-client-ca", "CASEWORK_TLS_CLIENT_CA", "",
		"PEM CA bundle: gRPC clients may authenticate with a certificate it signed, whose common name is an API key's account")
	float(fs, &s.RateLimit, "rate-limit", "CASEWORK_RATE_LIMIT", 50, "requests per second allowed to each principal; 0 disables")
	integer(fs, &s.RateBurst, "rate-burst", "CASEWORK_RATE_BURST", 100, "burst allowed above --rate-limit")
	float(fs, &s.BatchRateLimit, "batch-rate-limit", "CASEWORK_BATCH_RATE_LIMIT", 0,
		"requests per second allowed to each principal of the batch role alone (nightly imports); 0: as --rate-limit")
	integer(fs, &s.BatchRateBurst, "batch-rate-burst", "CASEWORK_BATCH_RATE_BURST", 0, "burst allowed above --batch-rate-limit; 0: as --rate-burst")
	str(fs, &s.RateLimitStore, "rate-limit-store", "CASEWORK_RATE_LIMIT_STORE", "auto",
		"where the rate limits, the lookup budget and the lookup slowdown are kept: memory (each server its own), postgres (the database, one budget shared by every replica), redis (--redis-url, shared) or auto (redis when --redis-url is set, else postgres on PostgreSQL, else memory)")
	str(fs, &s.RedisURL, "redis-url", "CASEWORK_REDIS_URL", "",
		"redis://[user:password@]host:port/db (rediss:// for TLS) of a Redis that keeps the shared rate limits; empty: none")
	integer(fs, &s.LookupLimit, "lookup-limit", "CASEWORK_LOOKUP_LIMIT", 30,
		"household lookups by ID number allowed to each principal per minute, each number of a batch lookup counting as one (0: no budget beyond --rate-limit); a caller whose lookups keep missing is slowed down further")
	integer(fs, &s.BatchLookupLimit, "batch-lookup-limit", "CASEWORK_BATCH_LOOKUP_LIMIT", 0,
		"lookups by ID number allowed per minute to each principal of the batch role alone, and so the largest batch lookup it may send; 0: as --lookup-limit")
	integer(fs, &s.StreamsPerPrincipal, "max-streams-per-principal", "CASEWORK_MAX_STREAMS_PER_PRINCIPAL", 8,
		"open change-feed streams each principal may hold on one server")
	duration(fs, &s.EventRetention, "event-retention", "CASEWORK_EVENT_RETENTION", 30*24*time.Hour,
		"how long change-feed events are kept; a client asking for an older position must resynchronise. 0 keeps them forever")
	duration(fs, &s.RequestIDTTL, "request-id-ttl", "CASEWORK_REQUEST_ID_TTL", 24*time.Hour,
		"how long the answer to a request id is kept for retries")
	duration(fs, &s.JobRescueAfter, "job-rescue-after", "CASEWORK_JOB_RESCUE_AFTER", 10*time.Minute,
		"how long a job (an import or export) may run before the queue takes its server for dead and runs it again; a job is also cut off after this long")
	duration(fs, &s.OperationFileTTL, "operation-file-ttl", "CASEWORK_OPERATION_FILE_TTL", 24*time.Hour,
		"how long the file an export or import produced may be downloaded before it is deleted")
	duration(fs, &s.AlertWindow, "alert-window", "CASEWORK_ALERT_WINDOW", 72*time.Hour,
		"how long before its due time a case is alerted as due soon (GET /v1/alerts)")
	duration(fs, &s.AlertScanEvery, "alert-scan-every", "CASEWORK_ALERT_SCAN_EVERY", time.Minute,
		"how often the job queue scans for deadlines to alert (one server scans at a time)")
	duration(fs, &s.WebhookPoll, "webhook-poll", "CASEWORK_WEBHOOK_POLL", time.Second,
		"how often each server looks for webhook deliveries to make")
	duration(fs, &s.WebhookMaxBackoff, "webhook-max-backoff", "CASEWORK_WEBHOOK_MAX_BACKOFF", 10*time.Minute,
		"longest wait between retries of a failing webhook (the wait starts at 1s and doubles)")
	str(fs, &s.WebhookCA, "webhook-ca", "CASEWORK_WEBHOOK_CA", "",
		"PEM CA bundle trusted, besides the system's roots, for webhook receivers with private certificates")
	str(fs, &s.WebhookAllow, "webhook-allow-networks", "CASEWORK_WEBHOOK_ALLOW_NETWORKS", "",
		"comma-separated CIDR networks, addresses and host names of the county's internal webhook receivers; "+
			"webhooks may not reach other loopback, private, link-local or cloud-metadata addresses")
	str(fs, &s.AuditAnchorFile, "audit-anchor-file", "CASEWORK_AUDIT_ANCHOR_FILE", "",
		"append-only file (created 0600) that receives the audit chain's head as a JSON line every --audit-anchor-interval, "+
			"for `casework audit verify --anchor`; keep it where whoever can write the database cannot. Empty: anchors go to the log only")
	duration(fs, &s.AuditAnchorInterval, "audit-anchor-interval", "CASEWORK_AUDIT_ANCHOR_INTERVAL", 5*time.Minute,
		"how often the audit chain's head is anchored (logged, and appended to --audit-anchor-file); 0 turns anchoring off")
	s.bindLedger(fs)
	str(fs, &s.HolidaysDir, "holidays-dir", "CASEWORK_HOLIDAYS_DIR", "",
		"directory of YYYY.json statutory holiday schedules (domain/calendar/holidays/README.md) for years after those shipped, or corrections; a year the calendar lacks is a startup warning and counted in calendar days")
	integer(fs, &s.ElderTermDays, "elder-term-days", "CASEWORK_ELDER_TERM_DAYS", 3,
		"county policy: days to serve a medical-help case (ELDER_SERVICE_TARGET), counted as the Civil Code counts days")
	integer(fs, &s.SchoolTermDays, "school-term-days", "CASEWORK_SCHOOL_TERM_DAYS", 30,
		"county policy: days to serve a school-enrolment case, never past 31 August before the school year (SCHOOL_SERVICE_TARGET)")
	str(fs, &s.PlacementPlanEnd, "placement-plan-end", "CASEWORK_PLACEMENT_PLAN_END", "12-31",
		"county policy: MM-DD the year's employment placement plan ends; a placement is due by then (PLACEMENT_PLAN_END)")
	duration(fs, &s.MaintenanceEvery, "maintenance-interval", "CASEWORK_MAINTENANCE_INTERVAL", 5*time.Minute,
		"how often the maintain job (one server at a time) prunes old events and request ids, withdraws legal-aid applications whose materials lapsed and suspends measures whose agreement expired")
	str(fs, &s.DebugAddr, "debug-addr", "CASEWORK_DEBUG_ADDR", "",
		"address serving Go's pprof profiles at /debug/pprof/ (e.g. 127.0.0.1:6060); empty: off. Keep it private")
	duration(fs, &s.ShutdownDrain, "shutdown-drain", "CASEWORK_SHUTDOWN_DRAIN", 5*time.Second,
		"on SIGTERM, how long the server keeps serving with its readiness (/readyz, gRPC health) already off, so that load balancers stop sending it calls before it stops accepting them")
	duration(fs, &s.ShutdownTimeout, "shutdown-timeout", "CASEWORK_SHUTDOWN_TIMEOUT", 25*time.Second,
		"on SIGTERM, after the drain, how long calls in flight may take to finish before they are cut; drain plus timeout must fit in the supervisor's kill deadline (Kubernetes terminationGracePeriodSeconds, systemd TimeoutStopSec)")
	str(fs, &s.OTLPEndpoint, "otlp-endpoint", "CASEWORK_OTLP_ENDPOINT", "",
		"OpenTelemetry collector's OTLP/HTTP URL (http://collector:4318) to export traces to (gateway, gRPC and database spans); empty: tracing off")
	float(fs, &s.TraceSampleRatio, "trace-sample-ratio", "CASEWORK_TRACE_SAMPLE_RATIO", 1,
		"share of the traces started here that are exported (0 to 1); a caller's sampled traceparent is always followed")
	str(fs, &s.GRPCAddr, "grpc-addr", "CASEWORK_GRPC_ADDR", ":9090", "gRPC listen address")
	str(fs, &s.HTTPAddr, "http-addr", "CASEWORK_HTTP_ADDR", ":8080", "HTTP/JSON listen address")
	boolean(fs, &s.MigrateOnStart, "migrate", "CASEWORK_MIGRATE", true,
		"apply pending database migrations before serving")
	str(fs, &s.PageTokenKey, "page-token-key", "CASEWORK_PAGE_TOKEN_KEY", "",
		"secret (32+ bytes) that signs page tokens; all servers of one deployment must share it. Empty: a key generated once in --data-dir")
	str(fs, &s.CaseNumberPrefix, "case-number-prefix", "CASEWORK_CASE_NUMBER_PREFIX", "FD", "prefix of case numbers (FD-2026-000042)")
	duration(fs, &s.RequestTimeout, "request-timeout", "CASEWORK_REQUEST_TIMEOUT", 30*time.Second, "longest time any request may run")
	integer(fs, &s.MaxRequestBytes, "max-request-bytes", "CASEWORK_MAX_REQUEST_BYTES", 4<<20, "largest request body or gRPC message accepted")
	s.bindAttachments(fs)
	s.bindRetention(fs)
	duration(fs, &s.RetentionEvery, "retention-every", "CASEWORK_RETENTION_EVERY", 24*time.Hour,
		"how often the job queue applies the retention schedule (one server at a time); 0 never, for a deployment that runs `casework retention run` from its own scheduler")
	duration(fs, &s.OrphanSweepEvery, "attachment-sweep-every", "CASEWORK_ATTACHMENT_SWEEP_EVERY", 6*time.Hour,
		"how often the job queue deletes attachment blobs no attachment names (one server at a time); 0 never")
	duration(fs, &s.OrphanGrace, "attachment-orphan-grace", "CASEWORK_ATTACHMENT_ORPHAN_GRACE", service.DefaultBlobSweepGrace,
		"how old a blob no attachment names must be before the sweep deletes it; longer than any upload takes")
}

// bindRetention binds the retention schedule's periods: serve's, and
// `casework retention run`'s, which must agree.
func (s *settings) bindRetention(fs *pflag.FlagSet) {
	integer(fs, &s.RetentionHouseholdDays, "retention-deleted-household-days", "CASEWORK_RETENTION_DELETED_HOUSEHOLD_DAYS",
		int(domain.DefaultRetention().Period(domain.RetentionDeletedHouseholds)/domain.Day),
		"county policy: days a deleted household is kept whole; after them its personal data, its members' and its cases' are erased and the rows kept as anonymous shells (docs/operations.md, Retention). 0 keeps them for ever")
	integer(fs, &s.RetentionComplaintDays, "retention-closed-complaint-days", "CASEWORK_RETENTION_CLOSED_COMPLAINT_DAYS",
		int(domain.DefaultRetention().Period(domain.RetentionClosedComplaints)/domain.Day),
		"county policy: days a complaint about a measure is kept whole once upheld or dismissed; after them the complainant's name, phone and account and the resolution are erased (docs/operations.md, Retention). 0 keeps them for ever")
	integer(fs, &s.RetentionBatch, "retention-batch", "CASEWORK_RETENTION_BATCH", 100,
		"households erased per transaction by the retention schedule")
}

// retention is the retention schedule the settings give.
func (s *settings) retention() (domain.RetentionSchedule, error) {
	if s.RetentionHouseholdDays < 0 || s.RetentionComplaintDays < 0 {
		return nil, errors.New("--retention-deleted-household-days and --retention-closed-complaint-days cannot be negative")
	}
	schedule, err := domain.DefaultRetention().With(domain.RetentionDeletedHouseholds, time.Duration(s.RetentionHouseholdDays)*domain.Day)
	if err != nil {
		return nil, err
	}
	return schedule.With(domain.RetentionClosedComplaints, time.Duration(s.RetentionComplaintDays)*domain.Day)
}

// bindAttachments binds where attachments' bytes are kept. The S3
// credentials come from the environment only (CASEWORK_S3_ACCESS_KEY,
// CASEWORK_S3_SECRET_KEY): a flag shows in the process list.
func (s *settings) bindAttachments(fs *pflag.FlagSet) {
	str(fs, &s.AttachmentStore, "attachment-store", "CASEWORK_ATTACHMENT_STORE", "local",
		"where attachments' bytes are kept, sealed: local (a directory, --attachment-dir), postgres (the database itself; one server) or s3 (an S3-compatible store; clusters)")
	str(fs, &s.AttachmentDir, "attachment-dir", "CASEWORK_ATTACHMENT_DIR", "",
		"directory of the local attachment store; empty: attachments/ in --data-dir")
	integer(fs, &s.AttachmentMaxBytes, "attachment-max-bytes", "CASEWORK_ATTACHMENT_MAX_BYTES", 20<<20,
		"largest attachment accepted, in bytes")
	str(fs, &s.S3Endpoint, "s3-endpoint", "CASEWORK_S3_ENDPOINT", "", "host:port of the S3-compatible store (--attachment-store=s3)")
	str(fs, &s.S3Bucket, "s3-bucket", "CASEWORK_S3_BUCKET", "", "bucket of the S3-compatible store; it must exist")
	str(fs, &s.S3Region, "s3-region", "CASEWORK_S3_REGION", "", "region of the S3-compatible store, if it needs one")
	str(fs, &s.S3Prefix, "s3-prefix", "CASEWORK_S3_PREFIX", "attachments/", "put before every object's name")
	boolean(fs, &s.S3Insecure, "s3-insecure", "CASEWORK_S3_INSECURE", false,
		"speak plain HTTP to the S3-compatible store (one on the same host only)")
}

// attachmentBlobs opens the configured attachment store; nil is the
// database's, which the server takes by default.
func (s *settings) attachmentBlobs() (service.BlobStore, error) {
	switch s.AttachmentStore {
	case "local", "":
		dir := s.AttachmentDir
		if dir == "" {
			dir = filepath.Join(s.DataDir, "attachments")
		}
		return blob.NewDir(dir)
	case "postgres":
		return nil, nil
	case "s3":
		access, _ := env("CASEWORK_S3_ACCESS_KEY")
		secret, _ := env("CASEWORK_S3_SECRET_KEY")
		if s.S3Endpoint == "" || s.S3Bucket == "" {
			return nil, errors.New("--attachment-store=s3 needs --s3-endpoint and --s3-bucket")
		}
		return blob.NewS3(blob.S3Config{Endpoint: s.S3Endpoint, Bucket: s.S3Bucket, Region: s.S3Region,
			AccessKey: access, SecretKey: secret, Insecure: s.S3Insecure, Prefix: s.S3Prefix})
	}
	return nil, fmt.Errorf("--attachment-store %q: use local, postgres or s3", s.AttachmentStore)
}

func env(name string) (string, bool) { return os.LookupEnv(name) }

func usage(help, envName string) string { return fmt.Sprintf("%s (env %s)", help, envName) }

func str(fs *pflag.FlagSet, p *string, name, envName, def, help string) {
	if v, ok := env(envName); ok {
		def = v
	}
	fs.StringVar(p, name, def, usage(help, envName))
}

func boolean(fs *pflag.FlagSet, p *bool, name, envName string, def bool, help string) {
	if v, ok := env(envName); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			def = b
		}
	}
	fs.BoolVar(p, name, def, usage(help, envName))
}

func duration(fs *pflag.FlagSet, p *time.Duration, name, envName string, def time.Duration, help string) {
	if v, ok := env(envName); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	fs.DurationVar(p, name, def, usage(help, envName))
}

func float(fs *pflag.FlagSet, p *float64, name, envName string, def float64, help string) {
	if v, ok := env(envName); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			def = f
		}
	}
	fs.Float64Var(p, name, def, usage(help, envName))
}

// keyringPath is where the sealing keys live.
func (s *settings) keyringPath() string {
	if s.Keyring != "" {
		return s.Keyring
	}
	return filepath.Join(s.DataDir, "keyring.json")
}

func integer(fs *pflag.FlagSet, p *int, name, envName string, def int, help string) {
	if v, ok := env(envName); ok {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		}
	}
	fs.IntVar(p, name, def, usage(help, envName))
}

// webhooks is the webhook delivery part of the server's configuration.
func (s *settings) webhooks() (webhook.Options, error) {
	allow, err := egress.Parse(s.WebhookAllow)
	if err != nil {
		return webhook.Options{}, fmt.Errorf("--webhook-allow-networks: %w", err)
	}
	return webhook.Options{PollInterval: s.WebhookPoll, MaxBackoff: s.WebhookMaxBackoff, Allow: allow}, nil
}
