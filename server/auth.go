package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// AuthStore is what authentication needs from storage: the stored API keys,
// and the audit log for refused calls.
type AuthStore interface {
	APIKeyByID(ctx context.Context, id string) (*authn.APIKeyRecord, error)
	APIKeyByAccount(ctx context.Context, account string) (*authn.APIKeyRecord, error)
	AppendAudit(ctx context.Context, e *audit.Entry) error
	// ResourceExists reports whether a resource exists in any town, so that
	// a 404 for one the caller may not reach is recorded as a refusal.
	ResourceExists(ctx context.Context, name string) (bool, error)
}

// requestIDKey is the metadata key (and, through the gateway, the HTTP
// header) that carries a call's request id both ways.
const requestIDKey = "x-request-id"

// authenticator admits calls: it proves who is calling, limits their rate,
// checks the policy table, and hands the handler a context that says who.
// One authenticator serves both gRPC servers, so a principal has one rate
// limit whichever transport it uses.
type authenticator struct {
	tokens  authn.TokenChecker
	store   AuthStore
	limits  *limits
	rate    roleLimits
	streams *streamSlots
	recheck time.Duration    // how often an open stream's API key is read again
	now     func() time.Time // for API key expiry, on the same clock as the services
	log     *slog.Logger
}

// unary admits every non-public unary call. trustForwarded is true only on
// the in-process server behind the gateway, the one caller whose
// x-forwarded-for this server wrote itself.
func (a *authenticator) unary(trustForwarded bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if policy.Public[info.FullMethod] {
			return handler(ctx, req)
		}
		ctx, err := a.admit(ctx, info.FullMethod, req, trustForwarded)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// admit returns the context the handler runs in, or the error that refuses
// the call.
func (a *authenticator) admit(ctx context.Context, method string, req any, trustForwarded bool) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	reqID := requestID(md)
	// Sent before any refusal, so a refused caller can quote it too.
	_ = grpc.SetHeader(ctx, metadata.Pairs(requestIDKey, reqID))
	if ci := callInfoFrom(ctx); ci != nil {
		ci.requestID = reqID
	}

	p, err := a.authenticate(ctx, md)
	if err != nil {
		return nil, err
	}
	if ci := callInfoFrom(ctx); ci != nil {
		ci.principal = p.ID
	}
	rec := &audit.Record{
		Principal:  p.ID,
		Roles:      joinRoles(p.Roles),
		Credential: p.Credential,
		Method:     method,
		RequestID:  reqID,
		ClientAddr: clientAddr(ctx, md, trustForwarded),
	}
	ctx = audit.NewContext(principal.NewContext(ctx, p), rec)

	// The limit comes before the policy check: a refused call costs an audit
	// write, so a caller hammering a method it may not use must be slowed too.
	key, limit := a.rate.of(p)
	if d := a.limits.take(ctx, key, limit, 1, time.Now()); d > 0 {
		return nil, rateLimited(d)
	}
	if !policy.Allowed(p, method) {
		a.auditRefusal(ctx, auditResource(req), audit.OutcomeDenied)
		return nil, apierr.About(fmt.Errorf("%w: none of the caller's roles may call %s", policy.ErrDenied, method),
			"method", method)
	}
	scope, err := policy.Admit(p, method)
	if err != nil {
		a.auditRefusal(ctx, auditResource(req), audit.OutcomeDenied)
		return nil, err
	}
	return principal.WithScope(ctx, scope), nil
}

// auditRefusal records a refused call. The call is refused either way; a
// failure to record it must not go unseen.
func (a *authenticator) auditRefusal(ctx context.Context, resource, outcome string) {
	entry := audit.FromContext(ctx).Entry(audit.ActionDenied, resource, outcome, nil)
	if err := a.store.AppendAudit(ctx, entry); err != nil {
		a.log.ErrorContext(ctx, "audit of a refused call failed", "outcome", outcome, "error_type", fmt.Sprintf("%T", err))
	}
}

// authenticate finds the call's credential and proves it: a bearer token or
// API key in the authorization metadata, else a verified client certificate.
func (a *authenticator) authenticate(ctx context.Context, md metadata.MD) (*principal.Principal, error) {
	// The gateway puts the HTTP Authorization header first; any later value
	// came from a client's Grpc-Metadata- header and is ignored.
	if vals := md.Get("authorization"); len(vals) > 0 {
		return a.bearer(ctx, vals[0])
	}
	if account, ok := certificateAccount(ctx); ok {
		return a.certificate(ctx, account)
	}
	return nil, authn.ErrMissingCredentials
}

func (a *authenticator) bearer(ctx context.Context, header string) (*principal.Principal, error) {
	cred, err := bearerCredential(header)
	if err != nil {
		return nil, err
	}
	if !authn.IsAPIKey(cred) {
		p, err := a.tokens.Verify(ctx, cred)
		return p, refusal(err)
	}
	id, secret, err := authn.ParseAPIKey(cred)
	if err != nil {
		return nil, refusal(err)
	}
	rec, err := a.store.APIKeyByID(ctx, id)
	if err != nil {
		return nil, refusal(err)
	}
	p, err := rec.Principal(a.now(), secret)
	return p, refusal(err)
}

// bearerCredential is the credential of an Authorization header, or why
// the header holds none.
func bearerCredential(header string) (string, error) {
	if header == "" {
		return "", authn.ErrMissingCredentials
	}
	scheme, cred, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "bearer") || cred == "" {
		return "", authn.Refused("authorization must be \"Bearer <token>\"")
	}
	return cred, nil
}

func (a *authenticator) certificate(ctx context.Context, account string) (*principal.Principal, error) {
	if account == "" {
		return nil, authn.Refused("the client certificate names no account")
	}
	rec, err := a.store.APIKeyByAccount(ctx, account)
	if err != nil {
		return nil, refusal(err)
	}
	p, err := rec.CertificatePrincipal(a.now())
	return p, refusal(err)
}

// refusal keeps a failed credential check's reason (authn's, which never
// holds the credential); an unknown key or account is an unknown
// credential. Anything else (the database failing) is the server's fault.
func refusal(err error) error {
	if errors.Is(err, repository.ErrNotFound) {
		return authn.Refused("unknown credential")
	}
	return err
}

// authnReason is authn's reason for a refusal.
func authnReason(err error) string {
	return strings.TrimPrefix(err.Error(), authn.ErrUnauthenticated.Error()+": ")
}

// certificateAccount returns the account named by the client certificate,
// if the TLS handshake verified one against the configured client CA.
func certificateAccount(ctx context.Context) (string, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return "", false
	}
	return info.State.VerifiedChains[0][0].Subject.CommonName, true
}

// rateLimited refuses a call for now, saying when to come back.
func rateLimited(d time.Duration) error {
	return apierr.New(codes.ResourceExhausted, pb.ErrorReason_RATE_LIMITED, "rate limit exceeded: slow down and retry after the given delay",
		&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
}

var (
	// saneRequestID is what a caller's own request id must look like to be
	// kept: short, and nothing that could break a log line.
	saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	// longDigits could be a phone number (11 digits) or an ID number (17
	// and a check character), which must never reach the logs.
	longDigits = regexp.MustCompile(`[0-9]{11}`)
)

// requestID returns the caller's request id if it is sane, else a new one.
func requestID(md metadata.MD) string {
	if vals := md.Get(requestIDKey); len(vals) > 0 && saneRequestID.MatchString(vals[0]) && !longDigits.MatchString(vals[0]) {
		return vals[0]
	}
	return uuid.Must(uuid.NewV7()).String()
}

// clientAddr is the caller's IP address. Behind the gateway the peer is the
// gateway itself, so the address comes from x-forwarded-for instead; only
// its last entry, which the gateway appends from the HTTP connection, is
// trusted: entries before it were copied from the client's own header.
func clientAddr(ctx context.Context, md metadata.MD, trustForwarded bool) string {
	if trustForwarded {
		if vals := md.Get("x-forwarded-for"); len(vals) > 0 {
			entries := strings.Split(vals[0], ",")
			return strings.TrimSpace(entries[len(entries)-1])
		}
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
		return host
	}
	return p.Addr.String()
}

func joinRoles(roles []principal.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}

// auditResource is the resource a request names, for the audit entry of a
// refusal: its name or parent, if made of server-issued ids (issuedName).
func auditResource(req any) string {
	var name string
	switch r := req.(type) {
	case interface{ GetName() string }:
		name = r.GetName()
	case interface{ GetParent() string }:
		name = r.GetParent()
	}
	if !issuedName(name) {
		return ""
	}
	return name
}

// issuedName reports whether name is a resource name this server issues.
// The request is not validated yet, so only such a name may go into the
// audit log: a client cannot slip an ID number or phone number into it this
// way.
func issuedName(name string) bool { return names.Issued(name) }
