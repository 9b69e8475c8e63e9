package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fengdu-county/casework/idnumber"
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
	if err != io.EOF {
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
	"households":  {"servicemember_id_number", "phone"},
	"members":     {"id_number", "phone"},
	"request_ids": {"response"},
}

// rawTables are read whole by checkAtRest.
var rawTables = []string{"households", "members", "cases", "case_history", "case_notes", "audit_log", "api_keys", "events", "request_ids"}

// checkAtRest reads every raw table and fails if any cell holds a number
// the scenario used, in plaintext, or if a sealed column holds anything but
// a sealed value. It returns how many sealed values it saw.
func (e *env) checkAtRest(t *testing.T) int {
	t.Helper()
	tracked := e.leaks.tracked()
	sealedSeen := 0
	for _, table := range rawTables {
		rows, err := e.db.Gorm.Raw("SELECT * FROM " + table).Rows()
		if err != nil {
			t.Errorf("read %s: %v", table, err)
			continue
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatalf("columns of %s: %v", table, err)
		}
		n := 0
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
		_ = rows.Close()
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
