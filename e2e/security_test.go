package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// The towns of the scoping tests: the fixtures' town, and another.
const (
	townA = "500230101"
	townB = "500230102"
)

// Users of the security scenarios, one per role.
var roleUsers = map[principal.Role]string{
	principal.Caseworker:  "e2e-caseworker-a",
	principal.Supervisor:  supervisorUser,
	principal.Auditor:     "e2e-auditor",
	principal.Admin:       "e2e-admin",
	principal.Integration: "e2e-integration",
	principal.Batch:       "e2e-batch",
}

// roleToken mints a token for the role's user; the caseworker's towns are
// [townA], every other role is county-wide by role.
func (e *env) roleToken(t *testing.T, r principal.Role) string {
	t.Helper()
	if r == principal.Caseworker {
		return e.token(t, roleUsers[r], []principal.Role{r}, townA)
	}
	return e.token(t, roleUsers[r], []principal.Role{r})
}

// asRole returns a gRPC and an HTTP client acting as the role's user.
func (e *env) asRole(t *testing.T, r principal.Role) []*client {
	return e.clientsAs(t, e.roleToken(t, r))
}

// --- 1. the role × method matrix -------------------------------------------

// caseworkMethods lists every RPC of every casework.v1 service, from the
// compiled descriptors.
func caseworkMethods(t *testing.T) []protoreflect.MethodDescriptor {
	t.Helper()
	var out []protoreflect.MethodDescriptor
	// google.longrunning.Operations serves the operations too.
	for _, pkg := range []protoreflect.FullName{"casework.v1", "google.longrunning"} {
		protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
			for i := 0; i < fd.Services().Len(); i++ {
				svc := fd.Services().Get(i)
				for j := 0; j < svc.Methods().Len(); j++ {
					out = append(out, svc.Methods().Get(j))
				}
			}
			return true
		})
	}
	if len(out) < 30 {
		t.Fatalf("found only %d casework.v1 RPCs; are the generated packages linked?", len(out))
	}
	return out
}

func fullMethod(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// mayCall is the roles table of SECURITY.md and the issue, written out
// here method by method, independently of policy.Table.
func mayCall(r principal.Role, method string) bool {
	name := method[strings.LastIndex(method, "/")+1:]
	svc := strings.TrimPrefix(method[:strings.LastIndex(method, "/")], "/casework.v1.")
	householdReads := []string{"GetHousehold", "ListHouseholds", "GetMember", "ListMembers", "BatchGetHouseholds", "ListStatusChanges",
		"ListHouseholdHistory"}
	householdTransfers := []string{"TransferHousehold", "AcceptHouseholdTransfer", "DeclineHouseholdTransfer", "CancelHouseholdTransfer"}
	householdWrites := []string{"CreateHousehold", "UpdateHousehold", "CreateMember", "UpdateMember", "BatchCreateHouseholds", "ChangeServicememberStatus", "BatchCreateMembers"}
	householdRemovals := []string{"DeleteHousehold", "UndeleteHousehold", "DeleteMember"}
	caseReads := []string{"GetCase", "ListCases", "ListNotes", "ListCaseHistory", "BatchGetCases"}
	caseWork := []string{"UpdateCase", "SubmitCase", "AssignCase", "StartCase", "ResolveCase", "WithdrawCase", "HoldCase", "ResumeCase", "CreateNote",
		"RequestMaterials", "SupplyMaterials", "FileObjection"}
	caseDecisions := []string{"AcceptCase", "RejectCase", "CloseCase", "ReopenCase", "DecideEligibility", "TerminateCase", "DecideObjection",
		"BatchAssignCases"}
	in := slices.Contains[[]string]
	isLookup := name == "LookupHousehold" || name == "BatchLookupHouseholds"
	switch svc {
	case "HouseholdService":
		// Lookups by ID number are for roles with a working need to find a
		// family; nightly imports correct records but never remove them.
		switch r {
		case principal.Supervisor:
			return in(householdReads, name) || in(householdWrites, name) || in(householdRemovals, name) || isLookup ||
				in(householdTransfers, name) || name == "MergeHouseholds"
		case principal.Caseworker:
			return in(householdReads, name) || in(householdWrites, name) || in(householdRemovals, name) || isLookup ||
				in(householdTransfers, name)
		case principal.Batch:
			return in(householdReads, name) || in(householdWrites, name) || isLookup
		case principal.Integration:
			return in(householdReads, name) || isLookup
		case principal.Auditor:
			return in(householdReads, name)
		}
	case "CaseService":
		switch r {
		case principal.Supervisor:
			return in(caseReads, name) || in(caseWork, name) || in(caseDecisions, name) || name == "CreateCase" || name == "BatchCreateCases"
		case principal.Caseworker:
			return in(caseReads, name) || in(caseWork, name) || name == "CreateCase" || name == "BatchCreateCases"
		case principal.Integration, principal.Batch:
			return in(caseReads, name) || name == "CreateCase" || name == "BatchCreateCases"
		case principal.Auditor:
			return in(caseReads, name)
		}
	case "AssigneeService":
		// Supervisors keep the directory; whoever reads cases reads it.
		switch r {
		case principal.Supervisor:
			return true
		case principal.Caseworker, principal.Auditor, principal.Integration, principal.Batch:
			return strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
		}
	case "ReportService":
		// The statistics, each over the caller's towns: not for the
		// veterans-affairs system, nor for admins.
		switch r {
		case principal.Caseworker, principal.Supervisor, principal.Auditor, principal.Batch:
			return true
		}
	case "CampaignService":
		// Supervisors plan, open and close; caseworkers record visits.
		campaignReads := []string{"GetCampaign", "ListCampaigns", "ListCampaignTargets", "GetCampaignCoverage", "GetVisit", "ListVisits"}
		switch r {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return in(campaignReads, name) || name == "CreateVisit"
		case principal.Auditor, principal.Integration, principal.Batch:
			return in(campaignReads, name)
		}
	case "LedgerService":
		// Contacts and help are recorded by people; the county-wide
		// contact policy is a supervisor's.
		isRead := strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
		switch r {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return name != "UpdateContactPolicy"
		case principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
	case "MeasureService":
		// The preferential-measures ledger is the county's published
		// record: every reader reads it; caseworkers keep it; supervisors
		// decide what enters and exits it.
		isRead := strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
		switch r {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return name != "ApproveMeasure" && name != "ExitMeasure"
		case principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
	case "RecruitmentService":
		// Caseworkers and supervisors run targeted recruitment; the other
		// readers follow it.
		reads := strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
		switch r {
		case principal.Caseworker, principal.Supervisor:
			return true
		case principal.Auditor, principal.Integration, principal.Batch:
			return reads
		}
	case "ReferralService":
		// The agencies' table is every role's to read, an admin's or a
		// supervisor's to keep; referrals are read and written as notes.
		isRead := strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
		if strings.HasSuffix(name, "Agency") || name == "ListAgencies" {
			return isRead || r == principal.Admin || r == principal.Supervisor
		}
		switch r {
		case principal.Caseworker, principal.Supervisor:
			return true
		case principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
	case "AlertService":
		// Alerts are for the people who answer for a deadline.
		return r == principal.Caseworker || r == principal.Supervisor
	case "ApiKeyService", "WebhookService":
		return r == principal.Admin
	case "PolicyService", "TownService":
		// The rules and the towns are the county's published reference.
		return true
	case "SpreadsheetService":
		// Imports write households as the register's keepers do; exports
		// read as the lists do.
		if name == "ImportHouseholds" {
			return r == principal.Caseworker || r == principal.Supervisor || r == principal.Batch
		}
		return r == principal.Caseworker || r == principal.Supervisor || r == principal.Auditor || r == principal.Batch
	case "OperationService", "/google.longrunning.Operations":
		// Whoever may start an operation follows it (their own only).
		return r == principal.Caseworker || r == principal.Supervisor || r == principal.Auditor || r == principal.Batch
	case "AttachmentService":
		// The people who work a case keep its documents and open them; an
		// auditor sees that they are there; systems have no part in them.
		switch r {
		case principal.Caseworker, principal.Supervisor:
			return true
		case principal.Auditor:
			return name == "GetAttachment" || name == "ListAttachments"
		}
	case "TemplateService":
		// The import template: for those who register households.
		return r == principal.Caseworker || r == principal.Supervisor || r == principal.Batch
	case "EventService":
		// The feed names changes county-wide; caseworkers work in towns.
		// Nightly jobs poll it; they hold no stream open.
		if name == "WatchEvents" {
			return r == principal.Supervisor || r == principal.Auditor || r == principal.Integration
		}
		return r == principal.Supervisor || r == principal.Auditor || r == principal.Integration || r == principal.Batch
	case "AuditService":
		if name == "GetAuditLogHead" {
			return r == principal.Auditor || r == principal.Admin || r == principal.Integration
		}
		return r == principal.Auditor || r == principal.Admin
	}
	return false
}

// invokeEmpty calls method with an empty request of its input type and
// returns the status code.
func invokeEmpty(t *testing.T, conn *grpc.ClientConn, md protoreflect.MethodDescriptor) codes.Code {
	t.Helper()
	newMsg := func(name protoreflect.FullName) protoreflect.ProtoMessage {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
		if err != nil {
			t.Fatalf("message type %s: %v", name, err)
		}
		return mt.New().Interface()
	}
	req, resp := newMsg(md.Input().FullName()), newMsg(md.Output().FullName())
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		return status.Code(conn.Invoke(ctxFor(t), fullMethod(md), req, resp))
	}
	// A stream the caller may follow may wait for events: its refusal, if
	// any, comes at once, so a short deadline tells the two apart.
	ctx, cancel := context.WithTimeout(ctxFor(t), time.Second)
	defer cancel()
	desc := &grpc.StreamDesc{ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient()}
	s, err := conn.NewStream(ctx, desc, fullMethod(md))
	if err != nil {
		return status.Code(err)
	}
	if err := s.SendMsg(req); err != nil && err.Error() != "EOF" {
		return status.Code(err)
	}
	_ = s.CloseSend()
	return status.Code(s.RecvMsg(resp))
}

func testRoleMatrix(t *testing.T, e *env) {
	methods := caseworkMethods(t)
	seen := map[string]bool{}
	for _, r := range principal.Roles {
		conn := e.dial(t, e.roleToken(t, r))
		for _, md := range methods {
			m := fullMethod(md)
			seen[m] = true
			table := policy.Allowed(&principal.Principal{ID: "x", Roles: []principal.Role{r}}, m)
			want := mayCall(r, m)
			if table != want {
				t.Errorf("policy.Table: %s calling %s allowed = %v, the roles table says %v", r, m, table, want)
			}
			code := invokeEmpty(t, conn, md)
			switch {
			case want && (code == codes.PermissionDenied || code == codes.Unauthenticated || code == codes.Unimplemented):
				t.Errorf("%s calling %s: %v, want it let in", r, m, code)
			case !want && code != codes.PermissionDenied:
				t.Errorf("%s calling %s: %v, want PermissionDenied", r, m, code)
			}
		}
	}
	for m := range policy.Table {
		if !seen[m] {
			t.Errorf("policy.Table names %s, which no service has", m)
		}
	}

	// No credentials: every casework method is refused as unauthenticated.
	anon := e.dial(t, "")
	for _, md := range methods {
		if code := invokeEmpty(t, anon, md); code != codes.Unauthenticated {
			t.Errorf("%s without credentials: %v, want Unauthenticated", fullMethod(md), code)
		}
	}
	// A credential with no role the table knows is refused everywhere too.
	for _, md := range methods[:3] {
		if code := invokeEmpty(t, e.dial(t, e.forgeToken(t, tokenClaims{aud: authn.LocalAudience, roles: []string{"janitor"}})), md); code != codes.Unauthenticated && code != codes.PermissionDenied {
			t.Errorf("%s with no valid role: %v, want Unauthenticated or PermissionDenied", fullMethod(md), code)
		}
	}

	// Health and reflection stay open.
	if r, err := healthpb.NewHealthClient(anon).Check(ctxFor(t), &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without credentials: %v, %v", r.GetStatus(), err)
	}
	stream, err := reflectpb.NewServerReflectionClient(anon).ServerReflectionInfo(ctxFor(t))
	if err != nil {
		t.Fatalf("reflection without credentials: %v", err)
	}
	if err := stream.Send(&reflectpb.ServerReflectionRequest{MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatalf("reflection send: %v", err)
	}
	got, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection without credentials: %v", err)
	}
	var services []string
	for _, s := range got.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	if !slices.Contains(services, "casework.v1.CaseService") {
		t.Errorf("reflection lists %v, no casework.v1.CaseService", services)
	}
	_ = stream.CloseSend()
}

// --- 2. authentication -------------------------------------------------------

// tokenClaims describe a hand-made token.
type tokenClaims struct {
	iss, aud, sub string
	exp, nbf      time.Time // zero: an hour from now, now
	roles         []string
}

// forgeToken signs claims with the env's real local signing key (read from
// its key file), so only the claim under test is wrong.
func (e *env) forgeToken(t *testing.T, c tokenClaims) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.keyDir, "local-signing-key.pem"))
	if err != nil {
		t.Fatalf("read signing key: %v", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("signing key file holds no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse signing key: %v", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("signing key is %T, not ECDSA", k)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: e.signer.KeyID()}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	now := time.Now()
	if c.iss == "" {
		c.iss = authn.LocalIssuer
	}
	if c.sub == "" {
		c.sub = "e2e-forged"
	}
	if c.exp.IsZero() {
		c.exp = now.Add(time.Hour)
	}
	if c.nbf.IsZero() {
		c.nbf = now.Add(-time.Minute)
	}
	if c.roles == nil {
		c.roles = []string{string(principal.Supervisor)}
	}
	std := jwt.Claims{Issuer: c.iss, Audience: jwt.Audience{c.aud}, Subject: c.sub,
		IssuedAt: jwt.NewNumericDate(c.nbf), NotBefore: jwt.NewNumericDate(c.nbf), Expiry: jwt.NewNumericDate(c.exp)}
	tok, err := jwt.Signed(signer).Claims(std).Claims(map[string]any{"roles": c.roles}).Serialize()
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return tok
}

// dialAuthorization opens a gRPC connection sending authorization exactly
// as given.
func (e *env) dialAuthorization(t *testing.T, value string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(e.grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(rawAuthorization(value)),
		grpc.WithChainUnaryInterceptor(e.leaks.unaryInterceptor))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

type rawAuthorization string

func (a rawAuthorization) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": string(a)}, nil
}
func (rawAuthorization) RequireTransportSecurity() bool { return false }

// clientsAuthorization returns clients sending the Authorization value as is.
func (e *env) clientsAuthorization(t *testing.T, value string) []*client {
	g, h := e.grpcClient(t), e.httpClient(t)
	g.conn = e.dialAuthorization(t, value)
	h.hc = e.httpAs("")
	h.header = http.Header{"Authorization": {value}}
	return []*client{g, h}
}

func testAuthentication(t *testing.T, e *env) {
	other, err := authn.LoadOrCreateLocalSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Mint(supervisorUser, []principal.Role{principal.Supervisor}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid := e.forgeToken(t, tokenClaims{aud: authn.LocalAudience})
	refused := map[string]string{
		"forged":         "Bearer " + forged,
		"expired":        "Bearer " + e.forgeToken(t, tokenClaims{aud: authn.LocalAudience, exp: now.Add(-time.Hour), nbf: now.Add(-2 * time.Hour)}),
		"not_yet_valid":  "Bearer " + e.forgeToken(t, tokenClaims{aud: authn.LocalAudience, nbf: now.Add(time.Hour), exp: now.Add(2 * time.Hour)}),
		"too_long_lived": "Bearer " + e.forgeToken(t, tokenClaims{aud: authn.LocalAudience, exp: now.Add(30 * 24 * time.Hour)}), // local tokens live 24h at most
		"wrong_audience": "Bearer " + e.forgeToken(t, tokenClaims{aud: "some-other-app"}),
		"wrong_issuer":   "Bearer " + e.forgeToken(t, tokenClaims{aud: authn.LocalAudience, iss: "https://evil.example"}),
		"apikey_subject": "Bearer " + e.forgeToken(t, tokenClaims{aud: authn.LocalAudience, sub: "apikey:nightly"}),
		"tampered":       "Bearer " + tamper(valid),
		"garbage":        "Bearer not-a-token",
		"garbage_jwt":    "Bearer eyJhbGciOiJub25lIn0.e30.",
		"unknown_apikey": "Bearer cwk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"basic_scheme":   "Basic dXNlcjpwYXNz",
		"empty_bearer":   "Bearer ",
	}
	// The hand-made token itself is good: each refusal is for its one flaw.
	for _, c := range e.clientsAuthorization(t, "Bearer "+valid) {
		must(c.ListCases(&pb.ListCasesRequest{})).ok(t)
	}
	for name, auth := range refused {
		t.Run(name, func(t *testing.T) {
			for _, c := range e.clientsAuthorization(t, auth) {
				c.t = t
				st := must(c.ListCases(&pb.ListCasesRequest{})).fails(t, codes.Unauthenticated)
				if strings.Contains(st.Message(), strings.TrimPrefix(auth, "Bearer ")) && len(auth) > 12 {
					t.Errorf("%s: the refusal echoes the credential: %q", c.name, st.Message())
				}
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		for _, c := range e.clientsAs(t, "") {
			c.t = t
			must(c.ListHouseholds(&pb.ListHouseholdsRequest{})).fails(t, codes.Unauthenticated)
			must(c.CreateHousehold(e.newHousehold())).fails(t, codes.Unauthenticated)
		}
	})
	t.Run("open_endpoints", func(t *testing.T) {
		anon := e.httpAs("")
		for _, path := range []string{"/healthz", "/readyz", "/openapi.json"} {
			code, _, body, err := e.doHTTP(t, anon, e.httpBase+path, http.MethodGet, nil, 0, nil)
			if err != nil || code != http.StatusOK || !json.Valid(body) {
				t.Errorf("GET %s without credentials: %d %v %.100s", path, code, err, body)
			}
		}
	})
	t.Run("api_keys", func(t *testing.T) { testAPIKeys(t, e) })
}

// tamper changes one character of a token's payload, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p := []byte(parts[1])
	if p[5] == 'A' {
		p[5] = 'B'
	} else {
		p[5] = 'A'
	}
	parts[1] = string(p)
	return strings.Join(parts, ".")
}

// apiKeyJSON is the JSON of ApiKey responses.
type apiKeyJSON struct {
	Name       string   `json:"name"`
	Account    string   `json:"account"`
	Roles      []string `json:"roles"`
	RevokeTime *string  `json:"revokeTime"`
	Creator    string   `json:"creator"`
}

func testAPIKeys(t *testing.T, e *env) {
	admin := e.httpAs(e.roleToken(t, principal.Admin))
	send := func(hc *http.Client, method, path, body string, hdr http.Header) (int, []byte) {
		t.Helper()
		var rd *strings.Reader
		var code int
		var out []byte
		var err error
		if body != "" {
			rd = strings.NewReader(body)
			code, _, out, err = e.doHTTP(t, hc, e.httpBase+path, method, rd, int64(len(body)), hdr)
		} else {
			code, _, out, err = e.doHTTP(t, hc, e.httpBase+path, method, nil, 0, hdr)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return code, out
	}
	expire := e.clock.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	keyBody := `{"account":"nightly-import","roles":["ROLE_BATCH"],"expireTime":"` + expire + `"}`

	// Only admins manage keys.
	for _, r := range []principal.Role{principal.Supervisor, principal.Batch, principal.Auditor} {
		if code, out := send(e.httpAs(e.roleToken(t, r)), "POST", "/v1/apiKeys", keyBody, nil); code != http.StatusForbidden {
			t.Errorf("%s creating an API key: HTTP %d, want 403: %s", r, code, out)
		}
	}

	code, out := send(admin, "POST", "/v1/apiKeys", keyBody, nil)
	if code != http.StatusOK {
		t.Fatalf("create API key: HTTP %d: %s", code, out)
	}
	var created struct {
		APIKey apiKeyJSON `json:"apiKey"`
		Secret string     `json:"secret"`
	}
	if err := json.Unmarshal(out, &created); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	secret, name := created.Secret, created.APIKey.Name
	if !strings.HasPrefix(secret, "cwk_") || !strings.HasPrefix(name, "apiKeys/") {
		t.Fatalf("created key: name %q, secret prefix %.4q", name, secret)
	}
	if created.APIKey.Creator != roleUsers[principal.Admin] {
		t.Errorf("key creator = %q, want the admin %q", created.APIKey.Creator, roleUsers[principal.Admin])
	}
	// The secret is shown once: never by Get or List.
	// The secret proper follows cwk_<id>_; it is base64url, so it may
	// hold "_" itself, and a tail cut at its last "_" could be a few
	// characters that turn up anywhere by chance.
	secretTail := strings.TrimPrefix(secret, "cwk_")
	secretTail = secretTail[strings.Index(secretTail, "_")+1:]
	if len(secretTail) != 43 {
		t.Fatalf("the key's secret is %d characters after its id, want 43", len(secretTail))
	}
	for _, path := range []string{"/v1/" + name, "/v1/apiKeys"} {
		code, out := send(admin, "GET", path, "", nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d: %s", path, code, out)
		}
		if strings.Contains(string(out), secretTail) || strings.Contains(string(out), `"secret"`) {
			t.Errorf("GET %s shows the key's secret: %s", path, out)
		}
		if !strings.Contains(string(out), "nightly-import") {
			t.Errorf("GET %s does not show the key: %s", path, out)
		}
	}
	// The secret is not stored either.
	var stored int64
	if err := e.db.Gorm.Raw("SELECT COUNT(*) FROM api_keys WHERE secret_hash LIKE ?", "%"+secretTail+"%").Scan(&stored).Error; err != nil || stored != 0 {
		t.Errorf("api_keys holds the secret in plaintext (%d rows, %v)", stored, err)
	}

	// The key authenticates a batch job, over HTTP and gRPC.
	key := e.httpAs(secret)
	if code, out := send(key, "GET", "/v1/households", "", nil); code != http.StatusOK {
		t.Fatalf("batch list with the API key: HTTP %d: %s", code, out)
	}
	batch := &client{name: "http", t: t, e: e, http: true, hc: key}
	f := e.family(t, batch)
	cs := must(batch.CreateCase(legalAidCase(f, f.spouse))).ok(t)
	const keyPrincipal = "apikey:nightly-import"
	if cs.GetCreator() != keyPrincipal {
		t.Errorf("case created with the key: creator %q, want %q", cs.GetCreator(), keyPrincipal)
	}
	hist := must(batch.History(cs.GetName())).ok(t).GetEntries()
	if len(hist) == 0 || hist[0].GetActor() != keyPrincipal {
		t.Errorf("history of the key's case: %v, want actor %q", hist, keyPrincipal)
	}
	grpcKey := &client{name: "grpc", t: t, e: e, conn: e.dial(t, secret)}
	must(grpcKey.GetHousehold(f.household.GetName())).ok(t)
	// A batch key may not do what batch may not.
	must(grpcKey.Accept(cs.GetName())).fails(t, codes.PermissionDenied)

	logs := auditEntries(t, e, `principal = "`+keyPrincipal+`"`)
	if len(logs) < 5 { // household, three members, case
		t.Errorf("audit log holds %d entries of %s, want at least 5", len(logs), keyPrincipal)
	}
	for _, l := range logs {
		if l.GetCredential() != "api-key" || !slices.Contains(l.GetRoles(), "batch") {
			t.Errorf("audit entry %s of the key: credential %q roles %v", l.GetName(), l.GetCredential(), l.GetRoles())
		}
	}

	// Revoked: refused on both transports, and the key shows its revocation.
	code, out = send(admin, "POST", "/v1/"+name+":revoke", "{}", nil)
	if code != http.StatusOK {
		t.Fatalf("revoke: HTTP %d: %s", code, out)
	}
	var revoked apiKeyJSON
	if err := json.Unmarshal(out, &revoked); err != nil || revoked.RevokeTime == nil {
		t.Errorf("revoked key shows no revokeTime: %s (%v)", out, err)
	}
	if code, out := send(key, "GET", "/v1/households", "", nil); code != http.StatusUnauthorized {
		t.Errorf("revoked key over HTTP: HTTP %d, want 401: %s", code, out)
	}
	must(grpcKey.GetHousehold(f.household.GetName())).fails(t, codes.Unauthenticated)
	// A key with its secret changed is refused.
	bad := secret[:len(secret)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(secret, "a")]
	if code, _ := send(e.httpAs(bad), "GET", "/v1/households", "", nil); code != http.StatusUnauthorized {
		t.Errorf("key with a wrong secret: HTTP %d, want 401", code)
	}
}
