package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }

func (c *client) ListAuditLogs(req *pb.ListAuditLogsRequest) (*pb.ListAuditLogsResponse, error) {
	q := pageQuery(req.GetPageSize(), req.GetPageToken())
	if req.GetFilter() != "" {
		q.Set("filter", req.GetFilter())
	}
	out := &pb.ListAuditLogsResponse{}
	return out, c.call("AuditService/ListAuditLogs", get("auditLogs", q), req, out)
}

// auditEntries lists every audit entry matching filter, as the auditor,
// paging through with small pages.
func auditEntries(t *testing.T, e *env, filter string) []*pb.AuditLog {
	t.Helper()
	c := &client{name: "grpc", t: t, e: e, conn: e.dial(t, e.roleToken(t, principal.Auditor))}
	req := &pb.ListAuditLogsRequest{Filter: filter, PageSize: 100}
	var out []*pb.AuditLog
	for pages := 0; ; pages++ {
		resp := must(c.ListAuditLogs(req)).ok(t)
		out = append(out, resp.GetAuditLogs()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		if pages > 1000 {
			t.Fatalf("audit log listing does not end")
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// --- 7. the audit log -----------------------------------------------------------

func testAudit(t *testing.T, e *env) {
	// Only auditors and admins read it, on both transports.
	for _, r := range principal.Roles {
		for _, c := range e.asRole(t, r) {
			c.t = t
			res := must(c.ListAuditLogs(&pb.ListAuditLogsRequest{}))
			if r == principal.Auditor || r == principal.Admin {
				res.ok(t)
			} else {
				res.fails(t, codes.PermissionDenied)
			}
		}
	}

	// Every change to one household, with its request id, over both transports.
	sup := e.httpClient(t)
	sup.header = http.Header{"X-Request-Id": {"test-123"}}
	h := must(sup.CreateHousehold(e.newHousehold())).ok(t)
	if got := sup.lastHeader.Get("X-Request-Id"); got != "test-123" {
		t.Errorf("X-Request-Id echoed as %q, want test-123", got)
	}
	wantIDs := []string{"test-123"}
	for i, addr := range []string{"名山街道 2 号", "名山街道 3 号"} {
		id := "test-12" + strconv.Itoa(4+i)
		sup.header = http.Header{"X-Request-Id": {id}}
		cur := must(sup.GetHousehold(h.GetName())).ok(t)
		cur.Address = addr
		must(sup.UpdateHousehold(cur, "address")).ok(t)
		if got := sup.lastHeader.Get("X-Request-Id"); got != id {
			t.Errorf("X-Request-Id echoed as %q, want %s", got, id)
		}
		wantIDs = append(wantIDs, id)
	}
	// Over gRPC, in metadata both ways.
	cur := must(sup.GetHousehold(h.GetName())).ok(t)
	cur.Hardship = true
	var hdr metadata.MD
	ctx := metadata.AppendToOutgoingContext(ctxFor(t), "x-request-id", "grpc-126")
	if _, err := pb.NewHouseholdServiceClient(e.conn).UpdateHousehold(ctx,
		&pb.UpdateHouseholdRequest{Household: cur, UpdateMask: nil}, grpc.Header(&hdr)); err != nil {
		t.Fatalf("UpdateHousehold over gRPC: %v", err)
	}
	if got := hdr.Get("x-request-id"); len(got) != 1 || got[0] != "grpc-126" {
		t.Errorf("gRPC x-request-id echoed as %v, want grpc-126", got)
	}
	wantIDs = append(wantIDs, "grpc-126")
	// A request id that could carry a phone number is replaced, not kept.
	e.leaks.track("13912345678")
	sup.header = http.Header{"X-Request-Id": {"rid-13912345678"}}
	cur = must(sup.GetHousehold(h.GetName())).ok(t)
	cur.Address = "名山街道 4 号"
	must(sup.UpdateHousehold(cur, "address")).ok(t)
	if got := sup.lastHeader.Get("X-Request-Id"); got == "" || strings.Contains(got, "13912345678") {
		t.Errorf("X-Request-Id holding a phone number echoed as %q, want a fresh id", got)
	}
	sup.header = nil

	resource := h.GetName()
	logs := auditEntries(t, e, `resource = "`+resource+`"`)
	if len(logs) != 5 { // created + four changes
		t.Fatalf("audit log holds %d entries for %s, want 5 (create + 4 changes): %v", len(logs), resource, logs)
	}
	methods := []string{"CreateHousehold", "UpdateHousehold", "UpdateHousehold", "UpdateHousehold", "UpdateHousehold"}
	for i, l := range logs {
		if l.GetPrincipal() != supervisorUser || !slices.Contains(l.GetRoles(), "supervisor") || l.GetCredential() != "local-token" {
			t.Errorf("entry %d: principal %q roles %v credential %q", i, l.GetPrincipal(), l.GetRoles(), l.GetCredential())
		}
		if l.GetMethod() != "/casework.v1.HouseholdService/"+methods[i] || l.GetAction() != audit.ActionChange || l.GetOutcome() != audit.OutcomeOK {
			t.Errorf("entry %d: method %q action %q outcome %q", i, l.GetMethod(), l.GetAction(), l.GetOutcome())
		}
		if l.GetClientAddress() == "" || l.GetTime() == nil || l.GetHash() == "" {
			t.Errorf("entry %d: client address %q, time %v, hash %q", i, l.GetClientAddress(), l.GetTime(), l.GetHash())
		}
		if i < len(wantIDs) && l.GetRequestId() != wantIDs[i] {
			t.Errorf("entry %d: request id %q, want %q", i, l.GetRequestId(), wantIDs[i])
		}
		if i == 4 && (l.GetRequestId() == "" || strings.Contains(l.GetRequestId(), "13912345678")) {
			t.Errorf("entry %d: request id %q, want a fresh one", i, l.GetRequestId())
		}
		if i > 0 && i != 3 && !slices.Contains(l.GetFields(), "address") {
			t.Errorf("entry %d: fields %v, want address among them", i, l.GetFields())
		}
	}
	if !slices.Contains(logs[3].GetFields(), "hardship") {
		t.Errorf("gRPC change: fields %v, want hardship", logs[3].GetFields())
	}

	// Refused calls are recorded as denied, on both transports.
	f := e.family(t, e.grpcClient(t))
	kase := must(e.grpcClient(t).CreateCase(legalAidCase(f, f.spouse))).ok(t)
	for _, c := range e.asRole(t, principal.Caseworker) {
		c.t = t
		must(c.Accept(kase.GetName())).fails(t, codes.PermissionDenied)
	}
	denied := auditEntries(t, e, `action = "denied" AND principal = "`+roleUsers[principal.Caseworker]+`" AND method = "/casework.v1.CaseService/AcceptCase"`)
	if len(denied) != 2 {
		t.Fatalf("%d denied AcceptCase entries, want 2 (one per transport)", len(denied))
	}
	for _, d := range denied {
		if d.GetResource() != kase.GetName() || d.GetOutcome() != audit.OutcomeDenied || d.GetClientAddress() == "" || d.GetRequestId() == "" {
			t.Errorf("denied entry: resource %q outcome %q client %q request %q", d.GetResource(), d.GetOutcome(), d.GetClientAddress(), d.GetRequestId())
		}
	}

	// Filters: method, time, principal, and paging.
	if n := len(auditEntries(t, e, `resource = "`+resource+`" AND method = "/casework.v1.HouseholdService/UpdateHousehold"`)); n != 4 {
		t.Errorf("method filter: %d entries, want 4", n)
	}
	t0 := logs[0].GetTime().AsTime().Format(time.RFC3339Nano)
	tLast := logs[4].GetTime().AsTime().Format(time.RFC3339Nano)
	for filter, want := range map[string]int{
		`resource = "` + resource + `" AND time > "` + t0 + `"`:                                4,
		`resource = "` + resource + `" AND time >= "` + t0 + `" AND time <= "` + tLast + `"`:   5,
		`resource = "` + resource + `" AND time < "` + t0 + `"`:                                0,
		`time < "2000-01-01T00:00:00Z"`:                                                        0,
		`principal = "nobody-at-all"`:                                                          0,
		`principal = "x' OR '1'='1"`:                                                           0,
		`principal = "` + supervisorUser + `" AND resource = "` + resource + `"`:               5,
		`principal = "` + roleUsers[principal.Auditor] + `" AND resource = "` + resource + `"`: 0,
	} {
		if n := len(auditEntries(t, e, filter)); n != want {
			t.Errorf("filter %s: %d entries, want %d", filter, n, want)
		}
	}
	for _, c := range e.asRole(t, principal.Auditor) {
		c.t = t
		must(c.ListAuditLogs(&pb.ListAuditLogsRequest{Filter: `time > "yesterday"`})).fails(t, codes.InvalidArgument)
		must(c.ListAuditLogs(&pb.ListAuditLogsRequest{Filter: `secret = "x"`})).fails(t, codes.InvalidArgument)
		req := &pb.ListAuditLogsRequest{Filter: `resource = "` + resource + `"`, PageSize: 2}
		var seqs []int64
		for pages := 1; ; pages++ {
			resp := must(c.ListAuditLogs(req)).ok(t)
			if len(resp.GetAuditLogs()) > 2 {
				t.Errorf("page of %d entries, pageSize 2", len(resp.GetAuditLogs()))
			}
			for _, l := range resp.GetAuditLogs() {
				seqs = append(seqs, l.GetSequence())
			}
			if resp.GetNextPageToken() == "" || pages > 10 {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		if len(seqs) != 5 || !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != 5 {
			t.Errorf("%s: paging the entries gave sequences %v, want 5 ascending", c.name, seqs)
		}
	}

	// The chain: every entry links to the one before, and verify walks it.
	all := auditEntries(t, e, "")
	for i, l := range all {
		if l.GetSequence() != int64(i+1) {
			t.Fatalf("entry %d has sequence %d", i+1, l.GetSequence())
		}
		if i > 0 && l.GetPreviousHash() != all[i-1].GetHash() {
			t.Errorf("entry %d's previous hash is not entry %d's hash", i+1, i)
		}
	}
	n, err := e.db.Store().VerifyAudit(ctxFor(t))
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	var rows int64
	if err := e.db.Gorm.Raw("SELECT COUNT(*) FROM audit_log").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if n != rows || n != int64(len(all)) || n < 10 {
		t.Errorf("VerifyAudit checked %d entries; the table holds %d, the API lists %d", n, rows, len(all))
	}
}

// --- 8. abuse and bad input --------------------------------------------------------

func (e *env) rowCounts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"households", "members", "cases", "case_notes", "case_history", "api_keys"} {
		var n int64
		if err := e.db.Gorm.Raw("SELECT COUNT(*) FROM " + table).Scan(&n).Error; err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

func testAbuse(t *testing.T, e *env) {
	g := e.grpcClient(t)
	f := e.family(t, g)
	kase := must(g.CreateCase(legalAidCase(f, f.spouse))).ok(t)
	before := e.rowCounts(t)
	valid := `{"servicemember":{"name":"刘强","idNumber":"` + e.idNumber(servicememberBirth) + `","serviceBranch":"SERVICE_BRANCH_NAVY",` +
		`"rankCategory":"RANK_CATEGORY_OFFICER","postType":"POST_TYPE_REGULAR"},"category":"HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY",` +
		`"townCode":"500230101","address":"x"}`

	t.Run("bad_json", func(t *testing.T) {
		for name, body := range map[string]string{
			"truncated":     valid[:len(valid)/2],
			"not_json":      `servicemember=1`,
			"unknown_field": strings.TrimSuffix(valid, "}") + `,"creator":"mallory","isAdmin":true}`,
			"wrong_type":    strings.Replace(valid, `"address":"x"`, `"address":42`, 1),
			"array":         `[` + valid + `]`,
		} {
			code, out := e.jsonHTTP(t, "POST", "/v1/households", body)
			if code != http.StatusBadRequest {
				t.Errorf("%s body: HTTP %d, want 400: %.200s", name, code, out)
			}
		}
		code, out := e.jsonHTTP(t, "PATCH", "/v1/"+f.household.GetName()+"?updateMask=address", `{"address":"y","etag":"`+f.household.GetEtag()+`","bogus":1}`)
		if code != http.StatusBadRequest {
			t.Errorf("PATCH with an unknown field: HTTP %d, want 400: %.200s", code, out)
		}
		code, out = e.jsonHTTP(t, "POST", "/v1/"+kase.GetName()+"/notes", `{"body":"x","author":"mallory","extra":{}}`)
		if code != http.StatusBadRequest {
			t.Errorf("note with unknown fields: HTTP %d, want 400: %.200s", code, out)
		}
	})

	t.Run("sql_in_queries", func(t *testing.T) {
		for _, c := range e.clients(t) {
			c.t = t
			for _, filter := range []string{
				`status = "x' OR 1=1 --"`,
				`town_code = "1; DROP TABLE cases"`,
				`town_code = "500230101' OR '1'='1"`,
				`status = SUBMITTED; DROP TABLE cases`,
				`1=1`,
				`assignee = "" OR 1=1`,
			} {
				t.Run(c.name+"/cases/"+filter, func(t *testing.T) {
					c.t = t
					must(c.ListCases(&pb.ListCasesRequest{Filter: filter})).fails(t, codes.InvalidArgument)
				})
			}
			for _, filter := range []string{`town_code = "1; DROP TABLE households"`, `category = "x' OR 1=1 --"`} {
				t.Run(c.name+"/households/"+filter, func(t *testing.T) {
					c.t = t
					must(c.ListHouseholds(&pb.ListHouseholdsRequest{Filter: filter})).fails(t, codes.InvalidArgument)
				})
			}
			for _, order := range []string{"create_time; DROP TABLE cases", "create_time desc, (SELECT 1)", "id", "1", "create_time desc --"} {
				t.Run(c.name+"/orderBy/"+order, func(t *testing.T) {
					c.t = t
					must(c.ListCases(&pb.ListCasesRequest{OrderBy: order})).fails(t, codes.InvalidArgument)
				})
			}
			c.t = t
		}
		// Raw query strings over HTTP, as an attacker would type them.
		for _, q := range []string{
			"filter=" + url.QueryEscape(`status = "x' OR 1=1 --"`),
			"orderBy=" + url.QueryEscape("create_time;DROP TABLE cases"),
			"pageToken=" + url.QueryEscape("' OR 1=1 --"),
			"pageSize=" + url.QueryEscape("1; DROP TABLE cases"),
		} {
			if code, out := e.jsonHTTP(t, "GET", "/v1/cases?"+q, ""); code != http.StatusBadRequest {
				t.Errorf("GET /v1/cases?%s: HTTP %d, want 400: %.200s", q, code, out)
			}
		}
	})

	if after := e.rowCounts(t); !mapsEqual(before, after) {
		t.Errorf("bad input changed the data: %v → %v", before, after)
	}
	t.Run("grpc_limits", func(t *testing.T) { grpcLimits(t, e) })

	// A server with tight limits: 1 call a second, bursts of 2, 16 KiB bodies.
	base, conn := e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) {
		c.RateLimit, c.RateBurst, c.MaxRequestBytes = 1, 2, 16<<10
	})
	addr := conn.Target()

	t.Run("rate_limit_http", func(t *testing.T) {
		hc := e.httpAs(e.token(t, "e2e-hammer-http", []principal.Role{principal.Supervisor}))
		var codes3 []int
		var retry string
		for range 3 {
			code, hdr, _, err := e.doHTTP(t, hc, base+"/v1/cases", "GET", nil, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			codes3 = append(codes3, code)
			retry = hdr.Get("Retry-After")
		}
		if !slices.Equal(codes3, []int{200, 200, 429}) {
			t.Fatalf("three quick calls: %v, want [200 200 429]", codes3)
		}
		if s, err := strconv.Atoi(retry); err != nil || s < 1 {
			t.Errorf("Retry-After = %q, want whole seconds ≥ 1", retry)
		}
	})
	t.Run("rate_limit_grpc", func(t *testing.T) {
		cs := pb.NewCaseServiceClient(e.dialAddr(t, addr, e.token(t, "e2e-hammer-grpc", []principal.Role{principal.Supervisor})))
		var errs []error
		for range 3 {
			_, err := cs.ListCases(ctxFor(t), &pb.ListCasesRequest{})
			errs = append(errs, err)
		}
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("first two calls: %v, %v", errs[0], errs[1])
		}
		st := status.Convert(errs[2])
		if st.Code() != codes.ResourceExhausted {
			t.Fatalf("third quick call: %v, want ResourceExhausted", st.Code())
		}
		var info *errdetails.RetryInfo
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				info = ri
			}
		}
		if info == nil || info.GetRetryDelay().AsDuration() <= 0 {
			t.Errorf("ResourceExhausted carries no positive RetryInfo: %v", st.Details())
		}
	})
	t.Run("oversized", func(t *testing.T) {
		notes := e.rowCounts(t)["case_notes"]
		body := `{"body":"` + strings.Repeat("长", 12<<10) + `"}`
		hc := e.httpAs(e.token(t, "e2e-big-http", []principal.Role{principal.Supervisor}))
		code, _, out, err := e.doHTTP(t, hc, base+"/v1/"+kase.GetName()+"/notes", "POST", strings.NewReader(body), int64(len(body)), nil)
		if err == nil && code != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: HTTP %d, want 413: %.200s", code, out)
		}
		if err != nil {
			t.Errorf("oversized body: %v, want a 413 answer", err)
		}
		cs := pb.NewCaseServiceClient(e.dialAddr(t, addr, e.token(t, "e2e-big-grpc", []principal.Role{principal.Supervisor})))
		_, err = cs.CreateNote(ctxFor(t), &pb.CreateNoteRequest{Parent: kase.GetName(), Note: &pb.Note{Body: strings.Repeat("长", 12<<10)}})
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("oversized gRPC message: %v, want ResourceExhausted", err)
		}
		if after := e.rowCounts(t)["case_notes"]; after != notes {
			t.Errorf("oversized notes were stored: %d → %d", notes, after)
		}
	})
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
