package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// No ID number or phone number may ever appear in a log line, a URL or an
// error message. Every env watches for them: it captures the log of each of
// its servers, every URL its HTTP clients request, every error answer on
// both transports, and at the end of the scenario fails if one holds an ID
// or phone number the scenario used, or anything shaped like one. The raw
// tables are checked at the end too: no plaintext number at rest.

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sensitiveShapes match an ID number (18 characters: 17 digits and a digit
// or X) or a mainland mobile number standing alone, not inside a longer run
// of letters and digits (a hash, a UUID).
var sensitiveShapes = regexp.MustCompile(`(?:^|[^0-9A-Za-z])([1-9][0-9]{16}[0-9Xx]|1[3-9][0-9]{9})(?:$|[^0-9A-Za-z])`)

// leakWatch knows every ID and phone number a scenario used and collects
// the places where one showed up.
type leakWatch struct {
	mu     sync.Mutex
	values map[string]bool
	found  []string
}

func newLeakWatch() *leakWatch { return &leakWatch{values: map[string]bool{}} }

// track adds numbers that must never be seen outside a 200 answer's body
// and the caller's own request body.
func (w *leakWatch) track(vals ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range vals {
		if v != "" {
			w.values[v] = true
		}
	}
}

func (w *leakWatch) tracked() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.values))
	for v := range w.values {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// leaksIn returns the tracked numbers in text, and anything shaped like
// one, masked so the report does not repeat them.
func (w *leakWatch) leaksIn(text string) []string {
	var out []string
	for _, v := range w.tracked() {
		if strings.Contains(text, v) {
			out = append(out, "tracked "+idnumber.Mask(v))
		}
	}
	for _, m := range sensitiveShapes.FindAllStringSubmatch(text, -1) {
		out = append(out, "shaped "+idnumber.Mask(m[1]))
	}
	return out
}

// check records where a leak in text was seen.
func (w *leakWatch) check(where, text string) {
	leaks := w.leaksIn(text)
	if len(leaks) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.found = append(w.found, fmt.Sprintf("%s: %s", where, strings.Join(leaks, ", ")))
}

// checkResponse reads an error answer's body, checks it and hands it on.
func (w *leakWatch) checkResponse(r *http.Request, resp *http.Response) (*http.Response, error) {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	w.check(fmt.Sprintf("HTTP %d answer to %s %s", resp.StatusCode, r.Method, r.URL.Path), string(body))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// checkError checks a gRPC error's message and details.
func (w *leakWatch) checkError(method string, err error) {
	if err == nil {
		return
	}
	st := status.Convert(err)
	text := st.Message()
	if js, jerr := protojson.Marshal(st.Proto()); jerr == nil {
		text += "\n" + string(js)
	}
	w.check("gRPC error from "+method, text)
}

func (w *leakWatch) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	w.checkError(method, err)
	return err
}

func (w *leakWatch) streamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	w.checkError(method, err)
	if err != nil {
		return nil, err
	}
	return &watchedStream{ClientStream: s, w: w, method: method}, nil
}

type watchedStream struct {
	grpc.ClientStream
	w      *leakWatch
	method string
}

func (s *watchedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if !errors.Is(err, io.EOF) {
		s.w.checkError(s.method, err)
	}
	return err
}

// checkLeaks fails t for every leak seen during the scenario and every one
// in the servers' logs.
func (e *env) checkLeaks(t *testing.T) {
	logs := e.logs.String()
	// The capture must have worked, or the scan proves nothing.
	if !strings.Contains(logs, "msg=serving") || !strings.Contains(logs, "msg=rpc") {
		t.Errorf("server log capture holds no serving and rpc lines (%d bytes): the log scan checked nothing", len(logs))
	}
	for i, line := range strings.Split(logs, "\n") {
		e.leaks.check(fmt.Sprintf("server log line %d", i+1), line)
	}
	e.leaks.mu.Lock()
	defer e.leaks.mu.Unlock()
	for _, f := range e.leaks.found {
		t.Errorf("ID or phone number leaked: %s", f)
	}
}

// sealedColumns are the columns that hold ID and phone numbers, sealed.
var sealedColumns = map[string][]string{
	"households":    {"servicemember_id_number", "phone", "preferential_certificate_number"},
	"members":       {"id_number", "phone"},
	"request_ids":   {"response"},
	"organizations": {"contact_phone"},
	"complaints":    {"complainant_phone"},
	"referrals":     {"request_sealed", "reply_sealed"},
}

// rawTables are read whole by checkAtRest.
var rawTables = []string{"households", "members", "cases", "case_history", "case_notes", "audit_log", "api_keys", "events", "request_ids",
	"organizations", "measures", "measure_history", "measure_reviews", "complaints", "referrals", "alerts", "agencies"}

// checkAtRest reads every raw table and fails if any cell holds a number
// the scenario used, in plaintext, or if a sealed column holds anything but
// a sealed value. It returns how many sealed values it saw.
func (e *env) checkAtRest(t *testing.T) int {
	t.Helper()
	tracked := e.leaks.tracked()
	sealedSeen := 0
	for _, table := range rawTables {
		sealedSeen += e.checkTableAtRest(t, table, tracked)
	}
	return sealedSeen
}

// checkTableAtRest is checkAtRest for one table.
func (e *env) checkTableAtRest(t *testing.T, table string, tracked []string) int {
	t.Helper()
	rows, err := e.db.Gorm.Raw("SELECT * FROM " + table).Rows()
	if err != nil {
		t.Errorf("read %s: %v", table, err)
		return 0
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	sealedSeen, n := 0, 0
	for rows.Next() {
		n++
		cells := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		for i, c := range cells {
			for _, v := range tracked {
				if strings.Contains(c.String, v) {
					t.Errorf("%s.%s (row %d) holds the plaintext number %s", table, cols[i], n, idnumber.Mask(v))
				}
			}
			if slices.Contains(sealedColumns[table], cols[i]) && c.String != "" {
				sealedSeen++
				if !strings.HasPrefix(c.String, "sealed:v1:") {
					t.Errorf("%s.%s (row %d) is not sealed: %.12s…", table, cols[i], n, c.String)
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Errorf("rows of %s: %v", table, err)
	}
	return sealedSeen
}

// TestLeakWatchCatches: the watch finds what it must and lets the rest be.
func TestLeakWatchCatches(t *testing.T) {
	w := newLeakWatch()
	w.track("ZZ9876543")
	for _, text := range []string{
		"id=500230199004120017 ok", "phone 13812345678", "x 50023019900412001X", "tracked ZZ9876543 number",
		`{"message":"bad \"13912345678\""}`,
	} {
		if len(w.leaksIn(text)) == 0 {
			t.Errorf("no leak found in %q", text)
		}
	}
	for _, text := range []string{
		"500230********001X", "**************001X", "138****5678", "request_id=0190a1b2-c3d4-7e5f-8a9b-123456789012",
		"hash=ab13812345678cd", "duration=1.234567ms", "500230199004120017999",
	} {
		if got := w.leaksIn(text); len(got) != 0 {
			t.Errorf("leak %v found in harmless %q", got, text)
		}
	}
}

// --- inputs a careless server repeats or keeps -------------------------------

// testLeakInputs sends ID numbers where a server that handles them carelessly
// would repeat or keep them: as an AIP-155 request id, as the id in a
// resource path, as a JSON number where a string belongs, inside a filter,
// and as a query parameter of the wrong type. Every answer must name what
// is wrong without the number, the log must hold route templates instead of
// paths, and request_ids must hold a keyed hash instead of the id. The env's
// own checks (logs, error answers, tables) run at the end as well.
func testLeakInputs(t *testing.T, e *env) {
	// The test itself puts numbers in URLs, as a careless client would; the
	// watch on URLs is for the server's and its clients' own doing, so these
	// requests go around it. Their answers are checked here instead.
	raw := &http.Client{Timeout: 60 * time.Second, Transport: &bearerTransport{token: e.token(t, supervisorUser, []principal.Role{principal.Supervisor})}}
	send := func(t *testing.T, method, path, body string) (int, http.Header, []byte) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		code, hdr, out, err := e.doHTTP(t, raw, e.httpBase+path, method, rd, int64(len(body)), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, idMaskAny(path), err)
		}
		return code, hdr, out
	}
	// refused checks an error answer: the HTTP status and gRPC code, no
	// tracked or ID-shaped number, and (field != "") a BadRequest naming field.
	refused := func(t *testing.T, what string, code int, out []byte, wantCode int, grpcCode codes.Code, field string) {
		t.Helper()
		if leaks := e.leaks.leaksIn(string(out)); len(leaks) > 0 {
			t.Errorf("%s: the answer repeats %v: %s", what, leaks, idMaskAny(string(out)))
		}
		if code != wantCode {
			t.Errorf("%s: HTTP %d, want %d: %s", what, code, wantCode, idMaskAny(string(out)))
			return
		}
		var sp spb.Status
		if err := protojson.Unmarshal(out, &sp); err != nil {
			t.Errorf("%s: the answer is not a google.rpc.Status: %v", what, err)
			return
		}
		st := status.FromProto(&sp)
		if st.Code() != grpcCode || st.Message() == "" {
			t.Errorf("%s: code %v message %q, want %v with a message", what, st.Code(), st.Message(), grpcCode)
		}
		if field != "" {
			wantViolation(t, st, field)
		}
	}
	// gatewayRefused is refused for what the gateway refuses before the call
	// reaches the server: it also carries an ErrorInfo of our domain.
	gatewayRefused := func(t *testing.T, what string, code int, out []byte, field string) {
		t.Helper()
		refused(t, what, code, out, http.StatusBadRequest, codes.InvalidArgument, field)
		var sp spb.Status
		if protojson.Unmarshal(out, &sp) == nil {
			if d := errorDomain(status.FromProto(&sp)); d != "casework.fengdu.gov.cn" {
				t.Errorf("%s: ErrorInfo domain %q, want casework.fengdu.gov.cn", what, d)
			}
		}
	}
	id := func() string { return e.idNumber(day(1990, 1, 1)) }

	t.Run("request_id", func(t *testing.T) {
		// gRPC create, a JSON create (the id in the query) and a JSON
		// custom method (the id in the body), each sent twice.
		hs := pb.NewHouseholdServiceClient(e.conn)
		rids := []string{id(), id(), id()}
		req := &pb.CreateHouseholdRequest{Household: e.newHousehold(), RequestId: rids[0]}
		first := must(hs.CreateHousehold(ctxFor(t), req)).ok(t)
		var hdr metadata.MD
		if again, err := hs.CreateHousehold(ctxFor(t), req, grpc.Header(&hdr)); err != nil || again.GetName() != first.GetName() ||
			len(hdr.Get("idempotent-replay")) == 0 {
			t.Errorf("gRPC retry with an ID-number request id: %v, %v, replay %v; want the first answer, replayed", again.GetName(), err, hdr.Get("idempotent-replay"))
		}
		body, _ := protojson.Marshal(e.newHousehold())
		var names []string
		for i := range 2 {
			code, h, out := send(t, "POST", "/v1/households?requestId="+rids[1], string(body))
			if code != http.StatusOK {
				t.Fatalf("JSON create %d with an ID-number request id: HTTP %d: %s", i, code, idMaskAny(string(out)))
			}
			if leaks := e.leaks.leaksIn(string(out) + fmt.Sprint(h)); len(leaks) > 0 {
				t.Errorf("JSON create %d: the answer repeats %v", i, leaks)
			}
			names = append(names, str(decodeJSON(t, out), "name"))
			if (i == 1) != (h.Get("Grpc-Metadata-Idempotent-Replay") == "true") {
				t.Errorf("JSON create %d: replay header %q", i, h.Get("Grpc-Metadata-Idempotent-Replay"))
			}
		}
		if names[0] != names[1] {
			t.Errorf("JSON retry created %v, want one household", names)
		}
		batch := fmt.Sprintf(`{"requests":[{"household":%s}],"requestId":%q}`, mustJSON(t, e.newHousehold()), rids[2])
		for i := range 2 {
			code, out := e.jsonHTTP(t, "POST", "/v1/households:batchCreate", batch)
			if code != http.StatusOK {
				t.Fatalf("batch %d with an ID-number request id: HTTP %d: %s", i, code, idMaskAny(string(out)))
			}
		}
		// The records are there, and none holds an id in plaintext.
		var stored []string
		if err := e.db.Gorm.Raw("SELECT request_id FROM request_ids").Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if len(stored) < len(rids) {
			t.Fatalf("%d request id records, want at least %d", len(stored), len(rids))
		}
		for _, s := range stored {
			for _, rid := range rids {
				if strings.Contains(s, rid) {
					t.Errorf("request_ids.request_id holds the request id %s in plaintext", idnumber.Mask(rid))
				}
			}
		}
	})

	t.Run("path", func(t *testing.T) {
		n := id()
		for _, p := range []string{"/v1/households/" + n, "/v1/cases/" + n, "/v1/households/" + n + "/members", "/v1/nowhere/" + n} {
			code, _, out := send(t, "GET", p, "")
			if code < 400 {
				t.Errorf("GET %s: HTTP %d", idMaskAny(p), code)
			}
			if leaks := e.leaks.leaksIn(string(out)); len(leaks) > 0 {
				t.Errorf("GET %s: the answer repeats %v", idMaskAny(p), leaks)
			}
		}
		logs := e.logs.String()
		if leaks := e.leaks.leaksIn(logs); len(leaks) > 0 {
			t.Errorf("the log holds %v after GETs with an ID number in the path", leaks)
		}
		for _, want := range []string{"/v1/{name=households/*}", "/v1/{name=cases/*}", "/v1/{parent=households/*}/members", "route=unmatched"} {
			if !strings.Contains(logs, want) {
				t.Errorf("the access log has no route %s", want)
			}
		}
	})

	t.Run("json_type_mismatch", func(t *testing.T) {
		n, p := id(), e.phone()
		household := func(sm, rest string) string {
			return fmt.Sprintf(`{"servicemember":{"name":"刘强",%s,"postType":"POST_TYPE_REGULAR"},
				"category":"HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY","townCode":"500230102"%s}`, sm, rest)
		}
		before := e.countHouseholds(t)
		for _, tc := range []struct{ what, path, body, field string }{
			{"ID number as a JSON number", "/v1/households", household(`"idNumber":`+n, ""), "household.servicemember.idNumber"},
			{"ID number in a list", "/v1/households", household(`"idNumber":[`+n+`]`, ""), "household.servicemember.idNumber"},
			{"phone as a JSON number", "/v1/households", household(fmt.Sprintf(`"idNumber":%q`, id()), `,"phone":`+p), "household.phone"},
			{"ID number as an enum", "/v1/households", household(fmt.Sprintf(`"idNumber":%q,"serviceBranch":%q`, id(), n), ""), "household.servicemember.serviceBranch"},
			{"lookup by a JSON number", "/v1/households:lookup", `{"idNumber":` + n + `}`, "idNumber"},
			{"batch item", "/v1/households:batchCreate", `{"requests":[{"household":` + household(`"idNumber":`+n, "") + `}]}`,
				"requests[0].household.servicemember.idNumber"},
		} {
			code, out := e.jsonHTTP(t, "POST", tc.path, tc.body)
			gatewayRefused(t, tc.what, code, out, tc.field)
		}
		if after := e.countHouseholds(t); after != before {
			t.Errorf("%d households after refused bodies, want %d", after, before)
		}
	})

	t.Run("filter", func(t *testing.T) {
		n := id()
		c := e.grpcClient(t)
		for _, f := range []string{
			`household = ` + n, `status = "` + n + `"`, n + ` = 1`, `overdue = ` + n, `town_code = "` + n + `"`,
			`status = DRAFT AND ` + n, `x.` + n + ` = 1`,
		} {
			code, _, out := send(t, "GET", "/v1/cases?"+url.Values{"filter": {f}}.Encode(), "")
			refused(t, "JSON filter "+idMaskAny(f), code, out, http.StatusBadRequest, codes.InvalidArgument, "filter")
			_, err := c.ListCases(&pb.ListCasesRequest{Filter: f})
			st := wantStatus(t, err, codes.InvalidArgument)
			wantViolation(t, st, "filter")
			if js, _ := protojson.Marshal(st.Proto()); len(e.leaks.leaksIn(string(js))) > 0 {
				t.Errorf("gRPC filter %s: the answer repeats the number: %s", idMaskAny(f), idMaskAny(string(js)))
			}
		}
		code, _, out := send(t, "GET", "/v1/households?"+url.Values{"filter": {`town_code = "` + n + `"`}}.Encode(), "")
		refused(t, "households filter", code, out, http.StatusBadRequest, codes.InvalidArgument, "filter")
	})

	t.Run("query_types", func(t *testing.T) {
		n := id()
		h := must(e.grpcClient(t).CreateHousehold(e.newHousehold())).ok(t)
		for _, tc := range []struct{ path, field string }{
			{"/v1/cases?pageSize=" + n, "page_size"},
			{"/v1/households?pageSize=" + n, "page_size"},
			{"/v1/households?page_size=" + n, "page_size"},
			{"/v1/households?pageSize=1&pageSize=" + n, "page_size"},
			{"/v1/" + h.GetName() + "?view=" + n, "view"},
			{"/v1/households?showDeleted=" + n, "show_deleted"},
			{"/v1/events?after=" + n + "00", "after"}, // past int64
		} {
			code, _, out := send(t, "GET", tc.path, "")
			gatewayRefused(t, "GET "+idMaskAny(tc.path), code, out, tc.field)
		}
		// In range for the type, the server itself refuses it: still
		// without repeating it.
		code, _, out := send(t, "GET", "/v1/events?after="+n, "")
		refused(t, "a feed position past the head", code, out, http.StatusBadRequest, codes.OutOfRange, "")
		code, _, out = send(t, "PATCH", "/v1/"+h.GetName()+"?updateMask="+n, fmt.Sprintf(`{"etag":%q,"address":"x"}`, h.GetEtag()))
		refused(t, "an update mask naming no field", code, out, http.StatusBadRequest, codes.InvalidArgument, "update_mask")
	})
}

// errorDomain is the domain of a status's ErrorInfo, or "".
func errorDomain(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetDomain()
		}
	}
	return ""
}
