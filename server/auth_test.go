package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// testServer is a running server on a fresh SQLite database.
type testServer struct {
	db       testdb.DB
	store    *repository.Store
	signer   *authn.LocalSigner
	grpcAddr string
	httpBase string
}

// startServer serves a fresh database with tokens of a new local signer
// accepted; edit adjusts the configuration first.
func startServer(t *testing.T, edit func(*Config)) *testServer {
	t.Helper()
	signer, err := authn.LoadOrCreateLocalSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{db: testdb.SQLite(t), signer: signer}
	ts.store = ts.db.Store()
	cfg := Config{
		GRPCAddr:     "127.0.0.1:0",
		HTTPAddr:     "127.0.0.1:0",
		PageTokenKey: []byte("server-test-page-token-key-0123456789"),
		Tokens:       authn.Verifiers{signer.Verifier(nil)},
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := New(cfg, ts.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	ts.grpcAddr = srv.GRPCAddr()
	scheme := "http://"
	if cfg.TLSCertFile != "" {
		scheme = "https://"
	}
	ts.httpBase = scheme + srv.HTTPAddr()
	return ts
}

func (ts *testServer) token(t *testing.T, user string, roles ...principal.Role) string {
	t.Helper()
	tok, err := ts.signer.Mint(user, roles, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// conn is a plain gRPC connection sending no credentials of its own.
func (ts *testServer) conn(t *testing.T) *grpc.ClientConn {
	t.Helper()
	return dialTest(t, ts.grpcAddr, insecure.NewCredentials())
}

func dialTest(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// withToken returns a call context sending token ("" for none) and any
// extra metadata pairs.
func withToken(t *testing.T, token string, pairs ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if token != "" {
		pairs = append(pairs, "authorization", "Bearer "+token)
	}
	return metadata.AppendToOutgoingContext(ctx, pairs...)
}

// get sends a GET with token ("" for none) and returns the response, body
// read and closed.
func (ts *testServer) get(t *testing.T, client *http.Client, path, token string, headers ...string) (*http.Response, string) {
	t.Helper()
	return ts.do(t, client, "GET", path, "", token, headers...)
}

func (ts *testServer) do(t *testing.T, client *http.Client, method, path, body, token string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.httpBase+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(out)
}

// wantCode checks err as the client gets it: mapped, as the chain maps it
// on the way out.
func wantCode(t *testing.T, err error, code codes.Code, fragment string) *status.Status {
	t.Helper()
	st := status.Convert(apierr.ToStatus(err))
	if st.Code() != code || !strings.Contains(st.Message(), fragment) {
		t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), code, fragment)
	}
	return st
}

func wantHTTP(t *testing.T, resp *http.Response, body string, code int) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s %s = %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, code)
	}
}

func TestNoCredentials(t *testing.T) {
	ts := startServer(t, nil)
	conn := ts.conn(t)

	_, err := pb.NewCaseServiceClient(conn).ListCases(withToken(t, ""), &pb.ListCasesRequest{})
	wantCode(t, err, codes.Unauthenticated, "missing credentials")
	resp, body := ts.get(t, nil, "/v1/cases", "")
	wantHTTP(t, resp, body, http.StatusUnauthorized)

	// Probes, the API description and reflection stay open.
	r, err := healthpb.NewHealthClient(conn).Check(withToken(t, ""), &healthpb.HealthCheckRequest{})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health Check = %v, %v; want SERVING", r, err)
	}
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/openapi-v2.json"} {
		resp, body := ts.get(t, nil, path, "")
		wantHTTP(t, resp, body, http.StatusOK)
	}
}

func TestBadTokens(t *testing.T) {
	// The verifier's clock runs two hours ahead, so an hour-long token is
	// expired for it while a two-day-long one is still good.
	ts := startServer(t, nil)
	ahead := startServer(t, func(c *Config) {
		c.Tokens = authn.Verifiers{ts.signer.Verifier(func() time.Time { return time.Now().Add(2 * time.Hour) })}
	})
	other, err := authn.LoadOrCreateLocalSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Mint("mallory", []principal.Role{principal.Supervisor}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired := ts.token(t, "alice", principal.Supervisor)

	tests := []struct {
		name   string
		server *testServer
		token  string
		reason string
	}{
		{"forged", ts, forged, "invalid credentials: unknown signing key"},
		{"expired", ahead, expired, "invalid credentials: token expired"},
		{"garbage", ts, "not-a-token", "invalid credentials: malformed token"},
		{"malformed api key", ts, "cwk_short", "invalid credentials: malformed api key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pb.NewCaseServiceClient(tt.server.conn(t)).ListCases(withToken(t, tt.token), &pb.ListCasesRequest{})
			st := wantCode(t, err, codes.Unauthenticated, tt.reason)
			if strings.Contains(st.Message(), tt.token) {
				t.Errorf("refusal %q echoes the credential", st.Message())
			}
			resp, body := tt.server.get(t, nil, "/v1/cases", tt.token)
			wantHTTP(t, resp, body, http.StatusUnauthorized)
		})
	}
	t.Run("not bearer", func(t *testing.T) {
		resp, body := ts.get(t, nil, "/v1/cases", "", "Authorization", "Basic YWxpY2U6c2VjcmV0")
		wantHTTP(t, resp, body, http.StatusUnauthorized)
	})
	// The same token passes the server whose clock is right.
	if _, err := pb.NewCaseServiceClient(ts.conn(t)).ListCases(withToken(t, expired), &pb.ListCasesRequest{}); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
}

// deniedEntries returns the audit log's refusals.
func deniedEntries(t *testing.T, db testdb.DB) []repository.AuditRecord {
	t.Helper()
	var rows []repository.AuditRecord
	if err := db.Gorm.Where("action = ?", "denied").Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestPermissionDenied(t *testing.T) {
	ts := startServer(t, nil)
	caseworker := ts.token(t, "cw-01", principal.Caseworker)
	name := "cases/" + uuid.NewString()

	// Caseworkers may not accept cases: only supervisors decide.
	// Nor may a gRPC caller name its own address.
	ctx := withToken(t, caseworker, "x-request-id", "deny-grpc-1", "x-forwarded-for", "203.0.113.9")
	_, err := pb.NewCaseServiceClient(ts.conn(t)).AcceptCase(ctx, &pb.AcceptCaseRequest{Name: name})
	wantCode(t, err, codes.PermissionDenied, "AcceptCase")
	// A spoofed X-Forwarded-For must not become the recorded address.
	resp, body := ts.do(t, nil, "POST", "/v1/"+name+":accept", "{}", caseworker,
		"X-Request-Id", "deny-http-1", "X-Forwarded-For", "203.0.113.9")
	wantHTTP(t, resp, body, http.StatusForbidden)
	// An unvalidated name holding an ID number must not reach the audit log.
	_, err = pb.NewCaseServiceClient(ts.conn(t)).AcceptCase(withToken(t, caseworker),
		&pb.AcceptCaseRequest{Name: "cases/50023019900412001X"})
	wantCode(t, err, codes.PermissionDenied, "")

	rows := deniedEntries(t, ts.db)
	if len(rows) != 3 {
		t.Fatalf("%d denied entries, want 3: %+v", len(rows), rows)
	}
	for i, want := range []struct{ requestID, resource string }{
		{"deny-grpc-1", name}, {"deny-http-1", name}, {"", ""},
	} {
		got := rows[i]
		if got.Principal != "cw-01" || got.Roles != "caseworker" || got.Credential != "local-token" ||
			got.Method != "/casework.v1.CaseService/AcceptCase" || got.Resource != want.resource ||
			got.Outcome != "PERMISSION_DENIED" || got.ClientAddr != "127.0.0.1" ||
			(want.requestID != "" && got.RequestID != want.requestID) {
			t.Errorf("entry %d = %+v; want principal cw-01, resource %q, request id %q, client 127.0.0.1",
				i, got, want.resource, want.requestID)
		}
	}
}

func TestRateLimit(t *testing.T) {
	// Two calls at once, then one every thousand seconds: the third waits.
	ts := startServer(t, func(c *Config) { c.RateLimit, c.RateBurst = 0.001, 2 })
	busy := ts.token(t, "busy", principal.Supervisor)
	client := pb.NewCaseServiceClient(ts.conn(t))
	for i := range 2 {
		if _, err := client.ListCases(withToken(t, busy), &pb.ListCasesRequest{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	_, err := client.ListCases(withToken(t, busy), &pb.ListCasesRequest{})
	st := wantCode(t, err, codes.ResourceExhausted, "rate limit")
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay < 900*time.Second || delay > 1000*time.Second {
		t.Errorf("RetryInfo delay = %v, want about 1000s", delay)
	}

	// The limit is the principal's, whichever transport it uses.
	resp, body := ts.get(t, nil, "/v1/cases", busy)
	wantHTTP(t, resp, body, http.StatusTooManyRequests)
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 900 || secs > 1000 {
		t.Errorf("Retry-After = %q, want about 1000 seconds", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "RetryInfo") {
		t.Errorf("429 body lost the RetryInfo detail: %s", body)
	}

	// Others are not held back by it.
	calm := ts.token(t, "calm", principal.Supervisor)
	if _, err := client.ListCases(withToken(t, calm), &pb.ListCasesRequest{}); err != nil {
		t.Fatalf("another principal was limited: %v", err)
	}
}

// createKey stores an API key for account and returns the full key.
func createKey(t *testing.T, store *repository.Store, account string, role principal.Role) (id, full string) {
	t.Helper()
	id, secret, full, err := authn.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	err = store.CreateAPIKey(context.Background(), &repository.APIKey{
		ID: id, Account: account, Roles: repository.List[principal.Role]{role}, SecretHash: authn.HashSecret(secret),
		ExpireTime: time.Now().Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return id, full
}

func TestAPIKeys(t *testing.T) {
	ts := startServer(t, nil)
	id, key := createKey(t, ts.store, "nightly-import", "batch")
	households := pb.NewHouseholdServiceClient(ts.conn(t))

	if _, err := households.ListHouseholds(withToken(t, key), &pb.ListHouseholdsRequest{}); err != nil {
		t.Fatalf("batch key refused: %v", err)
	}
	resp, body := ts.get(t, nil, "/v1/households", key)
	wantHTTP(t, resp, body, http.StatusOK)

	// The audit log names the key's account as the caller.
	_, err := pb.NewCaseServiceClient(ts.conn(t)).AcceptCase(withToken(t, key), &pb.AcceptCaseRequest{Name: "cases/" + uuid.NewString()})
	wantCode(t, err, codes.PermissionDenied, "")
	if rows := deniedEntries(t, ts.db); len(rows) != 1 || rows[0].Principal != "apikey:nightly-import" || rows[0].Credential != "api-key" {
		t.Fatalf("denied entries = %+v, want one by apikey:nightly-import", rows)
	}

	// Another key's secret, and a key never stored.
	_, stranger := createKey(t, ts.store, "other", "batch")
	wrongSecret := key[:len("cwk_")+12] + stranger[len("cwk_")+12:]
	_, _, unknown, err := authn.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ key, msg string }{
		{wrongSecret, "invalid credentials: bad secret"},
		{unknown, "invalid credentials"},
	} {
		_, err := households.ListHouseholds(withToken(t, bad.key), &pb.ListHouseholdsRequest{})
		wantCode(t, err, codes.Unauthenticated, bad.msg)
	}

	if _, err := ts.store.RevokeAPIKey(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	_, err = households.ListHouseholds(withToken(t, key), &pb.ListHouseholdsRequest{})
	wantCode(t, err, codes.Unauthenticated, "invalid credentials: api key revoked")
	resp, body = ts.get(t, nil, "/v1/households", key)
	wantHTTP(t, resp, body, http.StatusUnauthorized)
}

func TestRequestID(t *testing.T) {
	ts := startServer(t, nil)
	tok := ts.token(t, "alice", principal.Supervisor)
	client := pb.NewCaseServiceClient(ts.conn(t))

	var hdr metadata.MD
	if _, err := client.ListCases(withToken(t, tok, "x-request-id", "trace-42"), &pb.ListCasesRequest{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("x-request-id"); len(got) != 1 || got[0] != "trace-42" {
		t.Errorf("x-request-id = %q, want the caller's trace-42", got)
	}
	// An unusable one is replaced by a fresh UUIDv7: one that could break a
	// log line, or be a phone or ID number that must not reach the logs.
	for _, bad := range []string{"has spaces", "13800000000", "req-50023019900412001X"} {
		if _, err := client.ListCases(withToken(t, tok, "x-request-id", bad), &pb.ListCasesRequest{}, grpc.Header(&hdr)); err != nil {
			t.Fatal(err)
		}
		if got := hdr.Get("x-request-id"); len(got) != 1 || uuid.MustParse(got[0]).Version() != 7 {
			t.Errorf("request id %q answered with %q, want a new UUIDv7", bad, got)
		}
	}

	resp, body := ts.get(t, nil, "/v1/cases", tok, "X-Request-Id", "trace-43")
	wantHTTP(t, resp, body, http.StatusOK)
	if got := resp.Header.Get("X-Request-Id"); got != "trace-43" {
		t.Errorf("HTTP X-Request-Id = %q, want trace-43", got)
	}
}

// pki is a throwaway CA and a server certificate, written to PEM files.
type pki struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	caCert                    *x509.Certificate
	caKey                     *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	srvKey, srvCert := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "casework"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}, caCert, caKey)
	p := &pki{
		caFile:   writePEM(t, dir, "ca.pem", "CERTIFICATE", caCert.Raw),
		certFile: writePEM(t, dir, "server.pem", "CERTIFICATE", srvCert.Raw),
		keyFile:  writePEM(t, dir, "server-key.pem", "PRIVATE KEY", marshalKey(t, srvKey)),
		pool:     x509.NewCertPool(),
		caCert:   caCert,
		caKey:    caKey,
	}
	p.pool.AddCert(caCert)
	return p
}

// dial connects over TLS presenting a client certificate for account, or
// none when account is "".
func (p *pki) dial(t *testing.T, addr, account string) *grpc.ClientConn {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.pool}
	if account != "" {
		key, cert := issue(t, &x509.Certificate{
			Subject:     pkix.Name{CommonName: account},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
		}, p.caCert, p.caKey)
		cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}
	}
	return dialTest(t, addr, credentials.NewTLS(cfg))
}

// issue signs tmpl with parent's key (self-signed when parent is nil).
func issue(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func marshalKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	ts := startServer(t, func(c *Config) {
		c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = p.certFile, p.keyFile, p.caFile
	})
	createKey(t, ts.store, "va-system", "integration")

	withCert := p.dial(t, ts.grpcAddr, "va-system")
	if _, err := pb.NewCaseServiceClient(withCert).ListCases(withToken(t, ""), &pb.ListCasesRequest{}); err != nil {
		t.Fatalf("client certificate refused: %v", err)
	}
	// Integration may not accept cases; the refusal shows who the
	// certificate proved.
	_, err := pb.NewCaseServiceClient(withCert).AcceptCase(withToken(t, ""), &pb.AcceptCaseRequest{Name: "cases/" + uuid.NewString()})
	wantCode(t, err, codes.PermissionDenied, "")
	if rows := deniedEntries(t, ts.db); len(rows) != 1 || rows[0].Principal != "apikey:va-system" || rows[0].Credential != "mtls" {
		t.Fatalf("denied entries = %+v, want one by apikey:va-system over mtls", rows)
	}

	// TLS without a certificate is fine, but proves nobody.
	noCert := p.dial(t, ts.grpcAddr, "")
	_, err = pb.NewCaseServiceClient(noCert).ListCases(withToken(t, ""), &pb.ListCasesRequest{})
	wantCode(t, err, codes.Unauthenticated, "missing credentials")
	// A bearer token still works over it.
	if _, err := pb.NewCaseServiceClient(noCert).ListCases(withToken(t, ts.token(t, "alice", principal.Supervisor)), &pb.ListCasesRequest{}); err != nil {
		t.Fatalf("token over TLS refused: %v", err)
	}
	// A certificate for an account without a key proves nobody either.
	_, err = pb.NewCaseServiceClient(p.dial(t, ts.grpcAddr, "nobody")).ListCases(withToken(t, ""), &pb.ListCasesRequest{})
	wantCode(t, err, codes.Unauthenticated, "invalid credentials")

	// HTTP is on TLS too.
	https := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
	resp, body := ts.get(t, https, "/healthz", "")
	wantHTTP(t, resp, body, http.StatusOK)
	resp, body = ts.get(t, https, "/v1/cases", "")
	wantHTTP(t, resp, body, http.StatusUnauthorized)
}

func TestMutualTLSExpiredKey(t *testing.T) {
	// The server's clock is two days on: the account's day-long key has
	// expired, and its certificate with it.
	p := newPKI(t)
	ts := startServer(t, func(c *Config) {
		c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = p.certFile, p.keyFile, p.caFile
		c.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	})
	createKey(t, ts.store, "va-system", "integration")
	_, err := pb.NewCaseServiceClient(p.dial(t, ts.grpcAddr, "va-system")).ListCases(withToken(t, ""), &pb.ListCasesRequest{})
	wantCode(t, err, codes.Unauthenticated, "invalid credentials: api key expired")
}

// fakeStream is a server stream that only has a context.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeStream) Context() context.Context { return s.ctx }

// No service streams yet, so the stream interceptor is driven directly.
func TestStreamAuth(t *testing.T) {
	signer, err := authn.LoadOrCreateLocalSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &authenticator{tokens: authn.Verifiers{signer.Verifier(nil)}, now: time.Now}
	tok, err := signer.Mint("alice", []principal.Role{principal.Supervisor}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var seen *principal.Principal
	handler := func(_ any, ss grpc.ServerStream) error {
		seen = principal.FromContext(ss.Context())
		return nil
	}
	intercept := a.stream(false)
	call := func(method string, md metadata.MD) error {
		seen = nil
		ctx := metadata.NewIncomingContext(context.Background(), md)
		return intercept(nil, fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: method}, handler)
	}

	wantCode(t, call("/casework.v1.CaseService/ListCases", nil), codes.Unauthenticated, "missing credentials")
	if seen != nil {
		t.Fatal("handler ran for an unauthenticated stream")
	}
	if err := call("/casework.v1.CaseService/ListCases", metadata.Pairs("authorization", "Bearer "+tok)); err != nil || seen.ID != "alice" {
		t.Fatalf("authenticated stream: err %v, principal %+v", err, seen)
	}
	if err := call("/grpc.health.v1.Health/Watch", nil); err != nil {
		t.Fatalf("public stream refused: %v", err)
	}
}
