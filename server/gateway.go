package server

// What the JSON gateway logs and answers about a request it cannot pass on,
// without repeating anything the client sent. A path can hold an ID number
// (GET /v1/households/500230199001011237), and so can a body or a query
// parameter of the wrong type: protojson, strconv and the gateway quote the
// offending value in their errors. So the access log writes the route's
// template, and every error the gateway raises itself is rewritten into a
// google.rpc.Status that names the field in the API's words. Errors from the
// services are left exactly as ToStatus made them.

import (
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// --- the route, for the access log -------------------------------------------

// unmatchedRoute is what the access log writes for a request no route took
// (an unknown path, or one refused before routing): the path itself is
// whatever the client typed.
const unmatchedRoute = "unmatched"

type routeKey struct{}

// route is filled in while a request is routed. accessLog puts it in the
// request's context before anything else sees the request.
type route struct{ template string }

func withRoute(r *http.Request) (*http.Request, *route) {
	rt := &route{}
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)), rt
}

// setRoute records the template of the route that took the request.
func setRoute(ctx context.Context, template string) {
	if rt, ok := ctx.Value(routeKey{}).(*route); ok {
		rt.template = template
	}
}

// routeTemplate is gateway middleware: it runs once the mux has matched a
// pattern such as /v1/{name=households/*}, and records it.
func routeTemplate(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			setRoute(r.Context(), p.String())
		}
		next(w, r, params)
	}
}

// credentialFirst refuses a call that brings no bearer credential before
// the gateway decodes its body, so a caller without one is answered 401
// whatever it sent, never a 400 about the body. HTTP callers come only
// with bearer credentials (client certificates are gRPC's); proving the
// credential is left to the interceptors, which do it once for both
// transports.
func credentialFirst(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if _, err := bearerCredential(r.Header.Get("Authorization")); err != nil {
			// One of two fixed answers, so nothing the caller sent is
			// written back.
			refused := errNotBearer
			if errors.Is(err, authn.ErrMissingCredentials) {
				refused = authn.ErrMissingCredentials
			}
			writeStatus(wwwAuthenticate(w, status.Convert(apierr.ToStatus(refused))), http.StatusUnauthorized, refused)
			return
		}
		next(w, r, params)
	}
}

// errNotBearer refuses an Authorization header of another scheme.
var errNotBearer = authn.Refused("authorization must be \"Bearer <token>\"")

// --- telling the services' errors from the gateway's ------------------------

// serverStatus is an error that came back over the gateway's connection to
// the services: the status ToStatus made (or one grpc-go made in transport,
// in fixed words), to be answered unchanged. Anything else the error handler
// sees the gateway raised itself, from what the client sent. Marking at the
// connection tells them apart whatever a status holds, rather than trusting
// that every status of the server carries some detail.
type serverStatus struct{ st *status.Status }

func (e *serverStatus) Error() string              { return e.st.Message() }
func (e *serverStatus) GRPCStatus() *status.Status { return e.st }

// markServerErrors is the gateway connection's client interceptor.
func markServerErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := invoker(ctx, method, req, reply, cc, opts...); err != nil {
		// A status grpc-go made in transport (a message over the size
		// limit, a connection lost) has no ErrorInfo: it is given the one
		// of its code, as every answer carries one.
		return &serverStatus{st: status.Convert(apierr.ToStatus(err))}
	}
	return nil
}

// --- the error handler ---------------------------------------------------------

// gatewayErrors is the gateway's error handler. A status from the services
// is answered as it is (with a Retry-After header for a rate-limit refusal,
// from its RetryInfo). An error the gateway raised itself is rewritten: a
// request it could not read becomes INVALID_ARGUMENT with a BadRequest
// naming the field or parameter and an ErrorInfo of our domain, and the
// message says what is wrong in fixed words; routing errors keep their
// code with a fixed message.
func gatewayErrors(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var fromServer *serverStatus
	if errors.As(err, &fromServer) {
		retryAfter(w, fromServer.st)
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, wwwAuthenticate(w, fromServer.st), r, fromServer.st.Err())
		return
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, gatewayStatus(ctx, err).Err())
}

// wwwAuthenticate gives a 401 the challenge RFC 6750 asks of a bearer
// credential: the scheme alone when none came, and error="invalid_token"
// when one came and was refused. The reason stays in the body: a header is
// read by proxies and logged more often than a body. The gateway's own
// handler sets the header to the status message, so the challenge is put
// in as the status line is written, over it.
func wwwAuthenticate(w http.ResponseWriter, st *status.Status) http.ResponseWriter {
	if st.Code() != codes.Unauthenticated {
		return w
	}
	challenge := `Bearer realm="casework"`
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() != pb.ErrorReason_MISSING_CREDENTIALS.String() {
			challenge += `, error="invalid_token"`
		}
	}
	return &challengeWriter{ResponseWriter: w, challenge: challenge}
}

type challengeWriter struct {
	http.ResponseWriter
	challenge string
}

func (w *challengeWriter) WriteHeader(code int) {
	w.Header().Set("WWW-Authenticate", w.challenge)
	w.ResponseWriter.WriteHeader(code)
}

// retryAfter adds a Retry-After header to a rate-limit refusal from the
// RetryInfo its status carries.
func retryAfter(w http.ResponseWriter, st *status.Status) {
	if st.Code() != codes.ResourceExhausted {
		return
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok {
			// Whole seconds, rounded up: retrying early is refused again.
			secs := int64(math.Ceil(info.GetRetryDelay().AsDuration().Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}
	}
}

// gatewayStatus rewrites an error the gateway raised. Its own text is never
// used: it may quote the request.
func gatewayStatus(ctx context.Context, err error) *status.Status {
	var routing *runtime.HTTPStatusError
	if errors.As(err, &routing) {
		// The only one the mux raises: a malformed %-escape in the path.
		return invalidRequest("path", "is not validly percent-encoded")
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		return invalidRequest(describeInvalid(ctx, st.Message()))
	case codes.NotFound:
		return apierr.Status(codes.NotFound, pb.ErrorReason_ROUTE_NOT_FOUND, "no API route matches this path")
	case codes.Unimplemented:
		return apierr.Status(codes.Unimplemented, pb.ErrorReason_METHOD_NOT_ALLOWED, "this path does not take this HTTP method")
	case codes.Internal, codes.Unknown:
		return apierr.Status(codes.Internal, pb.ErrorReason_GATEWAY_ERROR, "internal error")
	default:
		return apierr.Status(st.Code(), pb.ErrorReason_GATEWAY_ERROR, "the request could not be handled")
	}
}

// invalidRequest is the answer to a request the gateway could not read.
func invalidRequest(field, problem string) *status.Status {
	return apierr.Status(codes.InvalidArgument, pb.ErrorReason_MALFORMED_REQUEST, field+": "+problem,
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: problem,
			Reason: pb.ErrorReason_INVALID_FIELD.String()}}})
}

// The generated handlers' own messages for path parameters; they name the
// parameter (from the proto) and quote the value, which is dropped.
var (
	pathTypeMismatch = regexp.MustCompile(`^type mismatch, parameter: ([A-Za-z0-9_.]+), error: `)
	pathMissing      = regexp.MustCompile(`^missing parameter ([A-Za-z0-9_.]+)$`)
)

// describeInvalid names the field an INVALID_ARGUMENT from the gateway is
// about, and what is wrong with it, from the error's text: our decoder's and
// query parser's (fieldError) or the generated handlers' fixed forms.
// Anything else is described without detail.
func describeInvalid(ctx context.Context, msg string) (field, problem string) {
	if fe, ok := parseFieldError(msg); ok {
		field = fe.path
		if fe.where == "body" {
			// Paths in the body start at the field the body fills, when
			// it fills one ("household") rather than the whole request.
			if b := bodyField(ctx); b != "" && b != "*" {
				field = joinPath(b, field)
			}
		}
		if field == "" {
			field = fe.where // the body or the query string as a whole
		}
		return field, fe.problem
	}
	if m := pathTypeMismatch.FindStringSubmatch(msg); m != nil {
		return m[1], "is not a valid value for this path"
	}
	if m := pathMissing.FindStringSubmatch(msg); m != nil {
		return m[1], "is missing from the path"
	}
	switch {
	case msg == "http: request body too large":
		return "body", "is larger than the server accepts"
	case strings.HasPrefix(msg, "invalid URL escape"), strings.HasPrefix(msg, "invalid semicolon separator"):
		return "query", "is not a validly encoded query string"
	case strings.HasPrefix(msg, "invalid grpc-timeout"):
		return "Grpc-Timeout", "is not a valid timeout"
	}
	return "request", "could not be read"
}

// bodyField is the request field the matched route's body fills ("*" for
// the whole request), from the method's google.api.http rule.
func bodyField(ctx context.Context) string {
	method, ok := runtime.RPCMethod(ctx)
	if !ok {
		return ""
	}
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return ""
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return ""
	}
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		return ""
	}
	body := rule.GetBody()
	pattern, _ := runtime.HTTPPathPattern(ctx)
	for _, b := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
		if rulePath(b) == pattern {
			body = b.GetBody()
			break
		}
	}
	// Paths in the body are JSON names (the decoder's), so is the field
	// the body fills.
	if fd := md.Input().Fields().ByName(protoreflect.Name(body)); fd != nil {
		return fd.JSONName()
	}
	return body
}

func rulePath(r *annotations.HttpRule) string {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return p.Get
	case *annotations.HttpRule_Post:
		return p.Post
	case *annotations.HttpRule_Put:
		return p.Put
	case *annotations.HttpRule_Patch:
		return p.Patch
	case *annotations.HttpRule_Delete:
		return p.Delete
	case *annotations.HttpRule_Custom:
		return p.Custom.GetPath()
	}
	return ""
}

func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

// --- the decoder's and query parser's errors -------------------------------

// fieldError is what the gateway's JSON decoder and query parser return in
// place of protojson's and strconv's errors. The generated handlers wrap it
// as status.Errorf(codes.InvalidArgument, "%v", err), so its text is all
// the error handler receives: Error writes where (body or query), the field
// path and the problem in a form parseFieldError reads back. Paths come
// from descriptors and problems from this package, never from the request,
// and neither holds ": ".
type fieldError struct {
	where   string // "body" or "query"
	path    string // from the body's or request's root: JSON names in the body, proto names in the query; "" for the whole
	problem string
}

const fieldErrorPrefix = "casework gateway: "

func (e *fieldError) Error() string {
	return fieldErrorPrefix + e.where + " " + e.path + ": " + e.problem
}

func parseFieldError(msg string) (*fieldError, bool) {
	rest, ok := strings.CutPrefix(msg, fieldErrorPrefix)
	if !ok {
		return nil, false
	}
	where, rest, ok := strings.Cut(rest, " ")
	if !ok || where != "body" && where != "query" {
		return nil, false
	}
	path, problem, ok := strings.Cut(rest, ": ")
	if !ok {
		return nil, false
	}
	return &fieldError{where: where, path: path, problem: problem}, true
}
