// Package client dials the casework gRPC API the way every caller should:
// TLS (or, for development, plaintext), a bearer token or API key sent with
// each call, a default deadline for calls that set none, and the retry
// policy the server supports, given to grpc-go as a service config. Conn's
// accessors return the generated stubs of api/casework/v1.
//
// It is hand-written but lives in the api module, beside the generated
// code, because it is what other modules import: the api module is the
// only part of casework meant to be a dependency (the server's module is
// not), so the client is versioned, tagged and released with the stubs it
// wraps, and a county system needs one `go get`.
//
//	conn, err := client.Dial("casework.county.internal:9090", client.Options{Token: key})
//	if err != nil { ... }
//	defer conn.Close()
//	h, err := conn.Households().GetHousehold(ctx, &caseworkv1.GetHouseholdRequest{Name: name})
package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	caseworkv1 "github.com/fengdu-county/casework/api/casework/v1"
)

// DefaultTimeout is the deadline of a unary call whose context has none.
// It is the server's default cap (--request-timeout, 30s): a longer one
// would be cut short by the server anyway.
const DefaultTimeout = 30 * time.Second

// Options configure Dial. The zero value dials with TLS and the system's
// roots, no credential, DefaultTimeout and DefaultRetry.
type Options struct {
	// Insecure dials without TLS: only for a server on the same machine
	// or in development. The token is then sent in the clear.
	Insecure bool
	// TLS configures TLS (nil: the system's roots and the target's host
	// name). Ignored with Insecure.
	TLS *tls.Config
	// Token is the bearer token or API key (`cwk_…`) sent with every call.
	// TokenSource, when set, is asked for it on every call instead, so a
	// token refreshed from the identity provider is used at once.
	Token       string
	TokenSource func(ctx context.Context) (string, error)
	// Timeout is the deadline given to a unary call whose context has none
	// (0: DefaultTimeout; negative: none). Streams (WatchEvents) get none:
	// they are meant to stay open.
	Timeout time.Duration
	// Retry is the retry policy (nil: DefaultRetry). NoRetry turns it off.
	Retry *RetryPolicy
	// DialOptions are passed on to grpc.NewClient after this package's own.
	DialOptions []grpc.DialOption
}

// RetryPolicy is a gRPC retry policy (gRFC A6) for every casework method.
// grpc-go resends the same request message, so a create or custom method
// that carries a request_id is replayed by the server rather than applied
// twice: set one on every change you may retry.
type RetryPolicy struct {
	MaxAttempts       int           // including the first; grpc-go caps it at 5
	InitialBackoff    time.Duration // the first pause is random in [0, InitialBackoff]
	MaxBackoff        time.Duration
	BackoffMultiplier float64
	// Codes are the status codes retried, by name ("UNAVAILABLE").
	Codes []string
}

// DefaultRetry retries what the server documents as retryable at the
// transport level: UNAVAILABLE (a server stopping, a connection lost, the
// database briefly unreachable), up to 4 attempts, pausing about 0.2s, 0.4s,
// 0.8s (exponential with jitter, at most 5s).
//
// Not retried here, on purpose: RESOURCE_EXHAUSTED, since it is both a rate
// limit (RATE_LIMITED: wait the RetryInfo's delay, longer than this
// backoff) and a request too large (REQUEST_TOO_LARGE: never succeeds);
// ABORTED, an etag conflict, which needs the resource read again and the
// change reapplied; DEADLINE_EXCEEDED and INTERNAL, which a caller retries
// itself, with the same request id, if it wants to.
var DefaultRetry = RetryPolicy{
	MaxAttempts:       4,
	InitialBackoff:    200 * time.Millisecond,
	MaxBackoff:        5 * time.Second,
	BackoffMultiplier: 2,
	Codes:             []string{"UNAVAILABLE"},
}

// NoRetry turns retries off.
var NoRetry = RetryPolicy{MaxAttempts: 1}

// Services are the services the retry policy names: every service of the
// casework API.
var Services = []string{
	"casework.v1.HouseholdService",
	"casework.v1.CaseService",
	"casework.v1.MeasureService",
	"casework.v1.EventService",
	"casework.v1.AuditService",
	"casework.v1.ApiKeyService",
	"casework.v1.WebhookService",
	"casework.v1.PolicyService",
	"casework.v1.TownService",
	"casework.v1.CampaignService",
	"casework.v1.AssigneeService",
	"casework.v1.LedgerService",
	"casework.v1.RecruitmentService",
	"casework.v1.TemplateService",
	"casework.v1.SpreadsheetService",
	"casework.v1.OperationService",
	"casework.v1.ReferralService",
	"casework.v1.AlertService",
	"casework.v1.AttachmentService",
	"casework.v1.ReportService",
}

// ServiceConfig is p as the JSON service config grpc-go reads
// (grpc.WithDefaultServiceConfig), for callers that dial by themselves.
func (p RetryPolicy) ServiceConfig() (string, error) {
	if p.MaxAttempts <= 1 {
		return `{}`, nil
	}
	if p.MaxAttempts > 5 || p.InitialBackoff <= 0 || p.MaxBackoff < p.InitialBackoff || p.BackoffMultiplier <= 0 || len(p.Codes) == 0 {
		return "", errors.New("client: a retry policy needs 2 to 5 attempts, backoffs with 0 < initial <= max, a multiplier above 0 and codes")
	}
	type name struct {
		Service string `json:"service"`
	}
	type retry struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}
	type method struct {
		Name        []name `json:"name"`
		RetryPolicy retry  `json:"retryPolicy"`
	}
	cfg := struct {
		MethodConfig []method `json:"methodConfig"`
	}{}
	m := method{RetryPolicy: retry{
		MaxAttempts: p.MaxAttempts, InitialBackoff: seconds(p.InitialBackoff), MaxBackoff: seconds(p.MaxBackoff),
		BackoffMultiplier: p.BackoffMultiplier, RetryableStatusCodes: p.Codes,
	}}
	for _, s := range Services {
		m.Name = append(m.Name, name{Service: s})
	}
	cfg.MethodConfig = []method{m}
	b, err := json.Marshal(cfg)
	return string(b), err
}

// seconds writes d as the JSON mapping of a protobuf Duration.
func seconds(d time.Duration) string { return fmt.Sprintf("%gs", d.Seconds()) }

// Conn is a connection to a casework server.
type Conn struct {
	*grpc.ClientConn
}

// Dial connects to target ("host:port") with o. Like grpc.NewClient it
// does not wait for the connection: the first call does.
func Dial(target string, o Options) (*Conn, error) {
	policy := DefaultRetry
	if o.Retry != nil {
		policy = *o.Retry
	}
	sc, err := policy.ServiceConfig()
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if !o.Insecure {
		creds = credentials.NewTLS(o.TLS)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithDefaultServiceConfig(sc)}
	if o.Token != "" || o.TokenSource != nil {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{static: o.Token, source: o.TokenSource, secure: !o.Insecure}))
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout > 0 {
		opts = append(opts, grpc.WithChainUnaryInterceptor(defaultDeadline(timeout)))
	}
	cc, err := grpc.NewClient(target, append(opts, o.DialOptions...)...)
	if err != nil {
		return nil, err
	}
	return &Conn{ClientConn: cc}, nil
}

// defaultDeadline gives a unary call without a deadline one of d.
func defaultDeadline(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// bearer sends the credential as `authorization: Bearer …`.
type bearer struct {
	static string
	source func(context.Context) (string, error)
	secure bool
}

func (b bearer) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	token := b.static
	if b.source != nil {
		var err error
		if token, err = b.source(ctx); err != nil {
			return nil, err
		}
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}

// RequireTransportSecurity keeps a credential off a plaintext connection
// unless the caller chose one with Options.Insecure.
func (b bearer) RequireTransportSecurity() bool { return b.secure }

// Households is the household register: households, members, status changes.
func (c *Conn) Households() caseworkv1.HouseholdServiceClient {
	return caseworkv1.NewHouseholdServiceClient(c.ClientConn)
}

// Cases is cases, their notes and history.
func (c *Conn) Cases() caseworkv1.CaseServiceClient {
	return caseworkv1.NewCaseServiceClient(c.ClientConn)
}

// Assignees is the assignee directory and each assignee's workload.
func (c *Conn) Assignees() caseworkv1.AssigneeServiceClient {
	return caseworkv1.NewAssigneeServiceClient(c.ClientConn)
}

// Measures is the preferential-measures ledger: organizations, measures,
// their reviews and complaints, and the households' menus.
func (c *Conn) Measures() caseworkv1.MeasureServiceClient {
	return caseworkv1.NewMeasureServiceClient(c.ClientConn)
}

// Events is the change feed.
func (c *Conn) Events() caseworkv1.EventServiceClient {
	return caseworkv1.NewEventServiceClient(c.ClientConn)
}

// AuditLogs is the audit log.
func (c *Conn) AuditLogs() caseworkv1.AuditServiceClient {
	return caseworkv1.NewAuditServiceClient(c.ClientConn)
}

// APIKeys is the API keys of systems.
func (c *Conn) APIKeys() caseworkv1.ApiKeyServiceClient {
	return caseworkv1.NewApiKeyServiceClient(c.ClientConn)
}

// Webhooks is the feed's webhooks.
func (c *Conn) Webhooks() caseworkv1.WebhookServiceClient {
	return caseworkv1.NewWebhookServiceClient(c.ClientConn)
}

// Policies is the rules of the table.
func (c *Conn) Policies() caseworkv1.PolicyServiceClient {
	return caseworkv1.NewPolicyServiceClient(c.ClientConn)
}

// Towns is the county's towns.
func (c *Conn) Towns() caseworkv1.TownServiceClient {
	return caseworkv1.NewTownServiceClient(c.ClientConn)
}

// Campaigns is the festival-visit campaigns: targets, visits, coverage.
func (c *Conn) Campaigns() caseworkv1.CampaignServiceClient {
	return caseworkv1.NewCampaignServiceClient(c.ClientConn)
}

// Ledger is the household ledger: contacts, hardship assistance, the
// contact policy and a household's whole ledger.
func (c *Conn) Ledger() caseworkv1.LedgerServiceClient {
	return caseworkv1.NewLedgerServiceClient(c.ClientConn)
}

// Referrals are the county's partner agencies and the referrals of cases
// to them.
func (c *Conn) Referrals() caseworkv1.ReferralServiceClient {
	return caseworkv1.NewReferralServiceClient(c.ClientConn)
}

// Alerts are the warnings of deadlines: cases due soon or overdue, and
// referrals without a reply.
func (c *Conn) Alerts() caseworkv1.AlertServiceClient {
	return caseworkv1.NewAlertServiceClient(c.ClientConn)
}

// Recruitment is targeted recruitment for accompanying spouses: events,
// invitations, applications and their figures.
func (c *Conn) Recruitment() caseworkv1.RecruitmentServiceClient {
	return caseworkv1.NewRecruitmentServiceClient(c.ClientConn)
}

// Spreadsheets starts imports and exports, each a long-running operation.
func (c *Conn) Spreadsheets() caseworkv1.SpreadsheetServiceClient {
	return caseworkv1.NewSpreadsheetServiceClient(c.ClientConn)
}

// Operations follows the operations Spreadsheets starts: poll, cancel,
// download.
func (c *Conn) Operations() caseworkv1.OperationServiceClient {
	return caseworkv1.NewOperationServiceClient(c.ClientConn)
}

// Reports is the statistics of the model-county evaluation.
func (c *Conn) Reports() caseworkv1.ReportServiceClient {
	return caseworkv1.NewReportServiceClient(c.ClientConn)
}

// Templates is the spreadsheet templates of the imports.
func (c *Conn) Templates() caseworkv1.TemplateServiceClient {
	return caseworkv1.NewTemplateServiceClient(c.ClientConn)
}

// Reason is the ErrorReason of an error from a casework call: its
// ErrorInfo's reason, ERROR_REASON_UNSPECIFIED for an error without one
// (one the server did not send, such as a connection that never opened),
// and UNKNOWN for a reason newer than this module.
func Reason(err error) caseworkv1.ErrorReason {
	st, ok := status.FromError(err)
	if !ok {
		return caseworkv1.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if v, known := caseworkv1.ErrorReason_value[info.GetReason()]; known {
				return caseworkv1.ErrorReason(v)
			}
			return caseworkv1.ErrorReason_UNKNOWN
		}
	}
	return caseworkv1.ErrorReason_ERROR_REASON_UNSPECIFIED
}
