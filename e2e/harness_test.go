// Package e2e drives the real casework server, started in-process on random
// ports, over both of its transports: gRPC and the JSON gateway. Every
// scenario runs on SQLite and on PostgreSQL, each on a fresh database and a
// server of its own.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/testclock"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

// scenario is one end-to-end test; TestE2E runs each on every dialect, on
// a server of its own.
type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

var scenarios = []scenario{
	{"lifecycle", testLifecycle},
	{"errors", testErrors},
	{"json", testJSON},
	{"priority_and_due", testPriorityAndDue},
	{"pagination", testPagination},
	{"batch_assign", testBatchAssign},
	{"workload", testWorkload},
	{"one_open_case_per_kind", testOneOpenCasePerKind},
	{"filters", testFilters},
	{"case_numbers", testCaseNumbers},
	{"health", testHealth},
	{"security_matrix", testRoleMatrix},
	{"security_authn", testAuthentication},
	{"security_scoping", testTownScoping},
	{"security_sensitive", testSensitiveFields},
	{"security_audit", testAudit},
	{"security_audit_anchors", testAuditAnchors},
	{"security_abuse", testAbuse},
	{"security_leaks", testLeakInputs},
	{"text_characters", testTextCharacters},
	{"feed", testFeed},
	{"feed_resume", testFeedResume},
	{"idempotency", testIdempotency},
	{"batch", testBatch},
	{"batch_rerun", testBatchRerun},
	{"example_feedfollower", testExampleFeedFollower},
	{"example_batch_import", testExampleBatchImport},
	{"example_from_release", testExampleFromRelease},
	{"error_reasons", testErrorReasons},
	{"webhooks", testWebhooks},
	{"webhooks_two_servers", testWebhooksTwoServers},
	{"security_masked_view", testMaskedViewRebuildsNothing},
	{"security_api_key_roles", testAPIKeyRoles},
	{"security_lookup_oracle", testLookupOracle},
	{"security_mixed_roles", testMixedRoleScope},
	{"security_stream_lifetime", testStreamsEndWithCredential},
	{"security_batch_oracle", testBatchCreateOracle},
	{"security_household_move", testHouseholdMoveMovesCases},
	{"security_refusals_audited", testRefusalsAudited},
	{"recruitment", testRecruitment},
	{"recruitment_places", testRecruitmentPlaces},
	{"reference", testReference},
	{"templates", testTemplates},
	{"rules_each", testEachRule},
	{"newcomer_trips", testNewcomerTrips},
	{"rules_legal_aid_clocks", testLegalAidClocks},
	{"rules_objection_termination", testObjectionAndTermination},
	{"rules_placement", testPlacementRules},
	{"rules_reopen_keeps_outcome", testReopenKeepsOutcome},
	{"rules_materials_lapse", testMaterialsLapse},
	{"household_rules", testHouseholdRules},
	{"campaigns", testCampaigns},
	{"ledger", testLedger},
	{"measures", testMeasures},
	{"metrics", testMetrics},
	{"referrals", testReferrals},
	{"household_transfers", testHouseholdTransfers},
	{"household_duplicates", testPossibleDuplicates},
	{"household_batch_duplicates", testBatchDuplicates},
	{"member_batch_duplicates", testMemberBatchDuplicates},
	{"household_transfer_cancel", testCancelTransfer},
	{"household_merges", testMergeHouseholds},
	{"attachments", testAttachments},
	{"statistics", testStatistics},
}

// bareScenarios start their own servers (startBare): the operations' need
// servers whose job queues are configured for the scenario.
var bareScenarios = []scenario{
	{"operations", testOperations},
	{"operations_queued", testOperationsQueued},
	{"operations_two_servers", testOperationsTwoServers},
	{"operations_restart", testOperationsRestart},
	{"holds", testHolds},
	{"imports", testImports},
	{"import_duplicates", testImportDuplicates},
	{"exports", testExports},
	{"shutdown", testShutdown},
	{"alerts", testAlerts},
	{"retention", testRetention},
}

var dialects = []struct {
	name string
	open func(testing.TB) testdb.DB
}{
	{"sqlite", testdb.SQLite},
	{"postgres", testdb.Postgres},
}

// TestE2E runs every scenario against a real server on each dialect.
func TestE2E(t *testing.T) {
	// After every scenario of every dialect: each rule of the table was
	// seen at work (rulewatch_test.go).
	t.Cleanup(func() { checkRulesSeen(t) })
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					defer scenariosRun.Add(1)
					s.run(t, start(t, d.open))
				})
			}
			for _, s := range bareScenarios {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					defer scenariosRun.Add(1)
					s.run(t, startBare(t, d.open))
				})
			}
		})
	}
}

// clockBase is the server's "now" when a test starts: a fixed day, so birth
// dates, school ages and case-number years are the same on every run.
var clockBase = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC) // 10:00 in China

// env is one running server on a fresh database, and the clients that reach
// it. conn and http authenticate as supervisorUser, who may make every
// household and case call in every town.
type env struct {
	db       testdb.DB
	clock    *testclock.Clock   // runs from clockBase at the speed of real time
	signer   *authn.LocalSigner // mints the tokens the servers accept
	keyDir   string             // holds the signer's key file
	httpBase string             // "http://127.0.0.1:port"
	grpcAddr string
	conn     *grpc.ClientConn
	http     *http.Client
	seq      atomic.Int64 // makes ID numbers unique within the env
	// logs holds everything every server of the env logged; leaks collects
	// ID and phone numbers seen where they must never be (see leaks_test.go).
	logs  *logBuffer
	leaks *leakWatch
}

// supervisorUser is who the default clients are.
const supervisorUser = "e2e-supervisor"

// start opens a fresh database and serves it. Everything stops when t ends.
func start(t *testing.T, open func(testing.TB) testdb.DB) *env {
	t.Helper()
	e := startBare(t, open)
	e.httpBase, e.conn = e.serve(t, e.db.Store(repository.WithClock(e.clock.Now)))
	return e
}

// startBare opens a fresh database with no server yet: the scenario starts
// the servers it needs, configured as it needs them, and sets httpBase and
// conn to the first. Everything stops when t ends.
func startBare(t *testing.T, open func(testing.TB) testdb.DB) *env {
	t.Helper()
	keyDir := t.TempDir()
	signer, err := authn.LoadOrCreateLocalSigner(keyDir)
	if err != nil {
		t.Fatalf("local signer: %v", err)
	}
	e := &env{clock: testclock.Running(clockBase), signer: signer, keyDir: keyDir, logs: &logBuffer{}, leaks: newLeakWatch()}
	// Registered first, so it runs last: after every server of the env has
	// stopped and written its last log line.
	t.Cleanup(func() { e.checkLeaks(t) })
	e.db = open(t)
	e.leaks.track("13800000000") // newHousehold's phone
	// After the servers stop, before the database closes: whatever the
	// scenario did, nothing is stored in plaintext and the audit chain holds.
	t.Cleanup(func() {
		e.checkAtRest(t)
		if _, err := e.db.Store().VerifyAudit(context.Background()); err != nil {
			t.Errorf("audit chain broken after the scenario: %v", err)
		}
	})
	supervisor := e.token(t, supervisorUser, []principal.Role{principal.Supervisor})
	e.http = e.httpAs(supervisor)
	return e
}

// token mints a local token for user with roles and, for town-scoped roles,
// towns (nine-digit town codes). It is valid for an hour of real time: token
// expiry is judged by the wall clock, not the env's clock.
func (e *env) token(t *testing.T, user string, roles []principal.Role, towns ...string) string {
	t.Helper()
	tok, err := e.signer.Mint(user, roles, towns, time.Hour)
	if err != nil {
		t.Fatalf("mint token for %s: %v", user, err)
	}
	return tok
}

// dial opens a gRPC connection to the env's first server that sends token
// ("" for none) on every call.
func (e *env) dial(t *testing.T, token string) *grpc.ClientConn {
	t.Helper()
	return e.dialAddr(t, e.grpcAddr, token)
}

// dialAddr opens a gRPC connection to addr sending token; every error it
// returns is checked for leaked ID and phone numbers.
func (e *env) dialAddr(t *testing.T, addr, token string) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(e.leaks.unaryInterceptor, rulesSeen.unaryInterceptor),
		grpc.WithChainStreamInterceptor(e.leaks.streamInterceptor),
	}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// httpAs returns an HTTP client that sends token ("" for none) as a bearer
// credential on every request that does not set Authorization itself.
func (e *env) httpAs(token string) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &bearerTransport{token: token, leaks: e.leaks}}
}

// bearer sends a token as gRPC call credentials.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity is false: the tests talk plain gRPC over loopback.
func (bearer) RequireTransportSecurity() bool { return false }

// bearerTransport adds the Authorization header to HTTP requests, and
// checks URLs and error answers for leaked ID and phone numbers.
type bearerTransport struct {
	token string
	leaks *leakWatch
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token != "" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	if b.leaks != nil {
		b.leaks.check("URL "+r.Method+" "+r.URL.Path, r.URL.String())
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if b.leaks != nil && resp.StatusCode >= 300 {
		if resp, err = b.leaks.checkResponse(r, resp); err != nil {
			return resp, err
		}
	}
	return rulesSeen.fromHTTP(resp)
}

// serve starts a server for store on random ports, in-process, and waits
// until both transports answer. It returns the HTTP base URL and a gRPC
// connection authenticated as the env's supervisor; the server stops when t
// ends. Every server of the env accepts the env's tokens.
func (e *env) serve(t *testing.T, store *repository.Store) (string, *grpc.ClientConn) {
	t.Helper()
	return e.serveWith(t, store, nil)
}

// secondServer starts another server on its own connection pool to the
// env's database, as a second replica behind a load balancer would be, and
// returns its HTTP base and a supervisor connection to it.
func (e *env) secondServer(t *testing.T) (string, *grpc.ClientConn) {
	t.Helper()
	return e.serve(t, e.secondStore(t))
}

// secondStore is a store on a connection pool of its own to the env's
// database, as another server's would be.
func (e *env) secondStore(t *testing.T) *repository.Store {
	t.Helper()
	db, dialect, err := repository.Open(context.Background(), e.db.URL, "")
	if err != nil {
		t.Fatalf("open a second pool: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return repository.New(db, dialect, e.db.Keyring, repository.WithClock(e.clock.Now))
}

// serveWith is serve with the server's configuration changed by mod (nil:
// unchanged). Its log goes to the env's log buffer too.
func (e *env) serveWith(t *testing.T, store *repository.Store, mod func(*server.Config)) (string, *grpc.ClientConn) {
	t.Helper()
	srv, stop := e.runServer(t, store, mod)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	if e.grpcAddr == "" {
		e.grpcAddr = srv.GRPCAddr()
	}
	conn := e.dialAddr(t, srv.GRPCAddr(), e.token(t, supervisorUser, []principal.Role{principal.Supervisor}))
	base := "http://" + srv.HTTPAddr()
	e.waitReady(t, base, conn)
	return base, conn
}

// runServer starts a server for store, configured as every server of the
// env and then changed by mod, and returns it with stop, which asks it to
// stop as SIGTERM does and returns what Run returned (or an error if it has
// not within 20 seconds). stop may be called more than once.
func (e *env) runServer(t *testing.T, store *repository.Store, mod func(*server.Config)) (*server.Server, func() error) {
	t.Helper()
	cfg := server.Config{
		GRPCAddr:     "127.0.0.1:0",
		HTTPAddr:     "127.0.0.1:0",
		PageTokenKey: []byte("e2e-page-token-key-0123456789abcdef"),
		Now:          e.clock.Now,
		Tokens:       authn.Verifiers{e.signer.Verifier(nil)},
		Webhooks:     webhookOptions(), // fast, trusting the receivers (webhooks_test.go)
	}
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(cfg, store, log)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	var result error
	return srv, func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(20 * time.Second):
				result = errors.New("server did not stop within 20s")
			}
		})
		return result
	}
}

// waitReady polls /readyz and the gRPC health service until both say so.
func (e *env) waitReady(t *testing.T, base string, conn *grpc.ClientConn) {
	t.Helper()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		httpOK, grpcOK := false, false
		if resp, err := e.http.Get(base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			httpOK = resp.StatusCode == http.StatusOK
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if r, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
			grpcOK = r.GetStatus() == healthpb.HealthCheckResponse_SERVING
		}
		cancel()
		if httpOK && grpcOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 10s (readyz ok=%v, gRPC SERVING=%v)", httpOK, grpcOK)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawHTTP sends body (nil for none) and returns the status and response body.
func (e *env) rawHTTP(t *testing.T, method, path string, body io.Reader, contentLength int64) (int, []byte) {
	t.Helper()
	code, out, err := e.tryHTTP(t, method, path, body, contentLength)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, out
}

// tryHTTP is rawHTTP that returns transport errors instead of failing.
func (e *env) tryHTTP(t *testing.T, method, path string, body io.Reader, contentLength int64) (int, []byte, error) {
	t.Helper()
	code, _, out, err := e.doHTTP(t, e.http, e.httpBase+path, method, body, contentLength, nil)
	return code, out, err
}

// doHTTP sends a request to url with hc (nil: the env's supervisor client)
// and the extra headers, and returns the status, headers and body.
func (e *env) doHTTP(t *testing.T, hc *http.Client, url, method string, body io.Reader, contentLength int64, hdr http.Header) (int, http.Header, []byte, error) {
	t.Helper()
	if hc == nil {
		hc = e.http
	}
	req, err := http.NewRequestWithContext(ctxFor(t), method, url, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = contentLength
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

// jsonHTTP sends a JSON text and returns the status and response body.
func (e *env) jsonHTTP(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	if body == "" {
		return e.rawHTTP(t, method, path, nil, 0)
	}
	return e.rawHTTP(t, method, path, strings.NewReader(body), int64(len(body)))
}

// --- results and errors -----------------------------------------------------

// result holds what a call returned, for must(...).ok(t) and .fails(t, ...).
type result[T any] struct {
	v   T
	err error
}

func must[T any](v T, err error) result[T] { return result[T]{v, err} }

// ok fails the test unless the call succeeded.
func (r result[T]) ok(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

// fails checks that the call failed with code (and, over HTTP, the HTTP
// status the gateway must map it to, with the same numeric code in the JSON
// body), and that the message contains every fragment.
func (r result[T]) fails(t *testing.T, code codes.Code, fragments ...string) *status.Status {
	t.Helper()
	return wantStatus(t, r.err, code, fragments...)
}

// httpStatusOf is the HTTP status each gRPC code the API uses must map to.
var httpStatusOf = map[codes.Code]int{
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.Aborted:            http.StatusConflict,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
}

func wantStatus(t *testing.T, err error, code codes.Code, fragments ...string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %v", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v carries no status, want %v", err, code)
	}
	if st.Code() != code {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), code)
	}
	var he *httpError
	if errors.As(err, &he) {
		if want, known := httpStatusOf[code]; known && he.httpStatus != want {
			t.Fatalf("HTTP status = %d, want %d for %v", he.httpStatus, want, code)
		}
	}
	for _, f := range fragments {
		if !strings.Contains(st.Message(), f) {
			t.Errorf("message %q does not contain %q", st.Message(), f)
		}
	}
	wantReasons(t, st)
	return st
}

// wantReasons fails unless st carries an ErrorInfo of the casework domain
// whose reason, and every field violation's reason, is a value of the
// contract's ErrorReason: every error the suite meets holds the enum to
// what the server sends.
func wantReasons(t *testing.T, st *status.Status) {
	t.Helper()
	known := func(r string) bool {
		v, ok := pb.ErrorReason_value[r]
		return ok && v != 0
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				if !known(v.GetReason()) {
					t.Errorf("field violation %s has reason %q, not a value of ErrorReason", v.GetField(), v.GetReason())
				}
			}
		}
	}
	if info == nil {
		// The one answer no code of ours makes: grpc-go refuses a gRPC
		// message over --max-request-bytes before any interceptor sees
		// it (README, "Deadlines and retries"). Over HTTP it has one.
		if st.Code() == codes.ResourceExhausted && strings.HasPrefix(st.Message(), "grpc: received message larger than max") {
			return
		}
		t.Errorf("%v %q carries no ErrorInfo", st.Code(), st.Message())
		return
	}
	if info.GetDomain() != "casework.fengdu.gov.cn" || !known(info.GetReason()) {
		t.Errorf("ErrorInfo %v: the reason is not a value of ErrorReason, or the domain is not ours", info)
	}
}

// fieldViolations lists the fields of the status's BadRequest detail.
func fieldViolations(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func wantViolation(t *testing.T, st *status.Status, field string) {
	t.Helper()
	got := fieldViolations(st)
	for _, f := range got {
		if f == field {
			return
		}
	}
	t.Errorf("field violations %q do not name %q (message %q)", got, field, st.Message())
}

// wantRuleInfo fails unless the status's ErrorInfo names rule in its
// metadata: a refusal by a rule of the table says which.
func wantRuleInfo(t *testing.T, st *status.Status, rule string) {
	t.Helper()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if info.GetMetadata()["rule"] != rule {
				t.Errorf("ErrorInfo %v does not name rule %s", info, rule)
			}
			return
		}
	}
	t.Errorf("no ErrorInfo in %v", st.Details())
}

// --- fixtures ----------------------------------------------------------------

const region = "500230" // 丰都县

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Birth dates of the fixture family (the clock says March 2026).
var (
	servicememberBirth = day(1990, 4, 12)
	spouseBirth        = day(1992, 7, 3)
	childBirth         = day(2016, 9, 1) // 9: school age
	fatherBirth        = day(1962, 1, 20)
)

// idNumber returns a valid ID number for birth, unique within the env.
func (e *env) idNumber(birth time.Time) string {
	n := idnumber.Make(region, birth, int(e.seq.Add(1)))
	e.leaks.track(n)
	return n
}

// phone returns a mobile number unique within the env, tracked like ID
// numbers: it must never show in a log, URL or error.
func (e *env) phone() string {
	p := fmt.Sprintf("139%08d", e.seq.Add(1))
	e.leaks.track(p)
	return p
}

func dateOf(t time.Time) *date.Date {
	return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

// newHousehold is a valid regular active-duty household of an NCO; mods
// change it. It sends the status and, as older clients did, the category:
// the status decides, and the category is derived from it.
func (e *env) newHousehold(mods ...func(*pb.Household)) *pb.Household {
	h := &pb.Household{
		Servicemember: &pb.Servicemember{
			// Each fixture is another servicemember: a name of its own, or
			// every household would be a possible duplicate of the last.
			Name:          fmt.Sprintf("张伟%d", e.seq.Add(1)),
			IdNumber:      e.idNumber(servicememberBirth),
			ServiceBranch: pb.ServiceBranch_SERVICE_BRANCH_ARMY,
			RankCategory:  pb.RankCategory_RANK_CATEGORY_NCO,
			PostType:      pb.PostType_POST_TYPE_REGULAR,
			Status:        pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_NCO,
		},
		Category: pb.HouseholdCategory_HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY,
		TownCode: "500230101",
		Address:  "名山街道 1 号",
		Phone:    "13800000000",
	}
	for _, m := range mods {
		m(h)
	}
	return h
}

func (e *env) newMember(rel pb.Relation, name string, birth time.Time) *pb.Member {
	return &pb.Member{
		Relation: rel, DisplayName: name, IdNumber: e.idNumber(birth), BirthDate: dateOf(birth),
		Accompanying: rel == pb.Relation_RELATION_SPOUSE,
	}
}

// family is a household with a spouse, a child and a father.
type family struct {
	household             *pb.Household
	spouse, child, father *pb.Member
}

func (e *env) family(t *testing.T, c *client, mods ...func(*pb.Household)) family {
	t.Helper()
	req := e.newHousehold(mods...)
	h := must(c.CreateHousehold(req)).ok(t)
	// Answers mask ID and phone numbers and birth dates; the fixture keeps
	// what it sent, so tests can look the family up by them.
	h.Servicemember.IdNumber, h.Phone = req.GetServicemember().GetIdNumber(), req.GetPhone()
	f := family{household: h}
	member := func(rel pb.Relation, name string, birth time.Time) *pb.Member {
		m := e.newMember(rel, name, birth)
		got := must(c.CreateMember(h.GetName(), m)).ok(t)
		got.IdNumber, got.Phone, got.BirthDate = m.GetIdNumber(), m.GetPhone(), m.GetBirthDate()
		return got
	}
	f.spouse = member(pb.Relation_RELATION_SPOUSE, "李娜", spouseBirth)
	f.child = member(pb.Relation_RELATION_CHILD, "张小明", childBirth)
	f.father = member(pb.Relation_RELATION_FATHER, "张建国", fatherBirth)
	return f
}

// another adds a child to the family's household, for a test that opens
// several cases of one kind in one household: a member has one open case
// of a kind (OPEN_CASE_PER_KIND).
func (e *env) another(t *testing.T, c *client, f family) *pb.Member {
	t.Helper()
	return must(c.CreateMember(f.household.GetName(), e.newMember(pb.Relation_RELATION_CHILD, "张小华", childBirth))).ok(t)
}

// Case builders: a draft of each kind for a subject of the family.

func employmentCase(f family) *pb.Case {
	return &pb.Case{Household: f.household.GetName(), Subject: f.spouse.GetName(),
		Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: &pb.EmploymentPlacement{
			PlacementYear: 2026, Eligible: true, Channel: pb.PlacementChannel_PLACEMENT_CHANNEL_TARGETED_RECRUITMENT}}}
}

func schoolCase(f family) *pb.Case {
	return &pb.Case{Household: f.household.GetName(), Subject: f.child.GetName(),
		Details: &pb.Case_SchoolEnrollment{SchoolEnrollment: &pb.SchoolEnrollment{
			SchoolStage: pb.SchoolStage_SCHOOL_STAGE_PRIMARY, RequestedSchool: "丰都县实验小学",
			PriorityBasis: pb.EnrollmentPriorityBasis_ENROLLMENT_PRIORITY_BASIS_ACTIVE_DUTY}}}
}

func elderCase(f family) *pb.Case {
	return &pb.Case{Household: f.household.GetName(), Subject: f.father.GetName(),
		Details: &pb.Case_ElderMedicalHelp{ElderMedicalHelp: &pb.ElderMedicalHelp{
			Need: pb.ElderNeed_ELDER_NEED_GREEN_CHANNEL, NeedDescription: "心脏复查"}}}
}

func legalAidCase(f family, subject *pb.Member) *pb.Case {
	return &pb.Case{Household: f.household.GetName(), Subject: subject.GetName(),
		Details: &pb.Case_LegalAid{LegalAid: &pb.LegalAid{
			MatterCategory: pb.LegalMatterCategory_LEGAL_MATTER_CATEGORY_LABOUR, Counterparty: "某公司",
			Stage: pb.LegalStage_LEGAL_STAGE_APPLICATION}}}
}

// names lists resource names, for comparing sets of cases.
func names(cases []*pb.Case) []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.GetName()
	}
	return out
}
