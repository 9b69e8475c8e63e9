package webhook

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/internal/webhook/egress"
	"github.com/fengdu-county/casework/repository"
)

// receiver is a test endpoint: it fails its first failFirst requests with
// 503, then accepts, and keeps every accepted event with its signature check.
type receiver struct {
	t         *testing.T
	secret    []byte
	failFirst int

	mu       sync.Mutex
	calls    int
	accepted []*pb.Event
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := Verify(r.secret, req.Header.Get(SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		r.t.Errorf("delivery signature: %v", err)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Errorf("Content-Type %q", ct)
	}
	var ev pb.Event
	if err := protojson.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body is not an Event: %v", err)
	}
	if got := req.Header.Get(PositionHeader); got != strconv.FormatInt(ev.GetPosition(), 10) {
		r.t.Errorf("%s %q for an event at %d", PositionHeader, got, ev.GetPosition())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.failFirst {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.accepted = append(r.accepted, &ev)
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) positions() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int64, len(r.accepted))
	for i, ev := range r.accepted {
		out[i] = ev.GetPosition()
	}
	return out
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *repository.Store
	seq   int
}

func newFixture(t *testing.T, db testdb.DB) *fixture {
	return &fixture{t: t, ctx: repository.WithScope(context.Background(), principal.Scope{All: true}), store: db.Store()}
}

// change makes one change: a new household, one event.
func (f *fixture) change() {
	f.t.Helper()
	f.seq++
	h := &repository.Household{
		ID:                    uuid.NewString(),
		ServicememberName:     "Test servicemember",
		ServicememberIDNumber: idnumber.Make("500230", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, f.seq), f.seq),
		PostType:              domain.PostRegular,
		Category:              domain.CategoryActiveDutyFamily,
		TownCode:              "500230101",
	}
	if err := f.store.CreateHousehold(f.ctx, h); err != nil {
		f.t.Fatalf("CreateHousehold: %v", err)
	}
}

func (f *fixture) webhook(url, secret string, mods ...func(*repository.Webhook)) *repository.Webhook {
	f.t.Helper()
	w := &repository.Webhook{ID: uuid.NewString(), URL: url}
	for _, m := range mods {
		m(w)
	}
	if err := f.store.CreateWebhook(f.ctx, w, secret); err != nil {
		f.t.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

func (f *fixture) get(id string) *repository.Webhook {
	f.t.Helper()
	w, err := f.store.GetWebhook(f.ctx, id)
	if err != nil {
		f.t.Fatalf("GetWebhook: %v", err)
	}
	return w
}

// run starts a dispatcher on the fixture's store until the test ends.
func (f *fixture) run(o Options, log *slog.Logger) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(f.store, o, log).Run(ctx) }()
	f.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				f.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			f.t.Error("Run did not stop within 10s")
		}
	})
}

// eventually polls cond until it holds or 15 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// fast are options for tests: quick polls and retries, trusting roots and
// reaching the networks allow lists besides public ones.
func fast(roots *x509.CertPool, allow, owner string) Options {
	p, err := egress.Parse(allow)
	if err != nil {
		panic(err)
	}
	return Options{RootCAs: roots, Allow: p, PollInterval: 10 * time.Millisecond, BackoffBase: 20 * time.Millisecond,
		MaxBackoff: 80 * time.Millisecond, RequestTimeout: 2 * time.Second, Owner: owner, BatchSize: 2}
}

// trusting is a pool of the test servers' certificates.
func trusting(srvs ...*httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, s := range srvs {
		pool.AddCert(s.Certificate())
	}
	return pool
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestDispatcher(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, testdb.Open(t, dialect))
			f.change() // history: a new webhook does not get it

			secretA, secretB := "secret-a-"+strings.Repeat("a", 32), "secret-b-"+strings.Repeat("b", 32)
			a := &receiver{t: t, secret: []byte(secretA), failFirst: 2}
			b := &receiver{t: t, secret: []byte(secretB)}
			srvA, srvB := httptest.NewTLSServer(a), httptest.NewTLSServer(b)
			defer srvA.Close()
			defer srvB.Close()
			// An endpoint that is down: a port nobody listens on.
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			down := "https://" + l.Addr().String() + "/hook?token=query-secret-down"
			_ = l.Close()

			wA := f.webhook(srvA.URL+"/hook?token=query-secret-a", secretA)
			wB := f.webhook(srvB.URL, secretB, func(w *repository.Webhook) { w.ResourceTypes = repository.List[string]{"cases"} })
			wDown := f.webhook(down, "secret-down-"+strings.Repeat("d", 32))
			if wA.DeliveredPosition != 1 {
				t.Fatalf("new webhook starts after %d, want the head 1", wA.DeliveredPosition)
			}

			var logs syncBuffer
			f.run(fast(trusting(srvA), "127.0.0.0/8", "server-1"), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			for range 5 {
				f.change() // events 2..6
			}
			eventually(t, "A has every event", func() bool { return len(a.positions()) == 5 })
			if got := a.positions(); !slices.Equal(got, []int64{2, 3, 4, 5, 6}) {
				t.Fatalf("A accepted positions %v, want 2..6 in order, each once", got)
			}
			eventually(t, "A's state is recorded", func() bool { return f.get(wA.ID).DeliveredPosition == 6 })
			gotA := f.get(wA.ID)
			if gotA.ConsecutiveFailures != 0 || gotA.NextAttemptTime != nil || gotA.LastSuccessTime == nil || gotA.LastError != "HTTP 503" {
				t.Fatalf("A after recovering: %+v", gotA)
			}
			ev := a.accepted[0]
			if ev.GetType() != "Change" || ev.GetResourceType() != "households" || !strings.HasPrefix(ev.GetResource(), "households/") ||
				ev.GetEtag() != "v1" || !slices.Equal(ev.GetChangedFields(), []string{"created"}) || ev.GetTime() == nil {
				t.Fatalf("delivered event %v", ev)
			}

			// B wants cases only: it got nothing, but its position moved past
			// the households.
			eventually(t, "B passes the filtered events", func() bool { return f.get(wB.ID).DeliveredPosition == 6 })
			b.mu.Lock()
			calls := b.calls
			b.mu.Unlock()
			if calls != 0 {
				t.Fatalf("B was called %d times for events its filter leaves out", calls)
			}

			eventually(t, "the dead endpoint fails twice", func() bool { return f.get(wDown.ID).ConsecutiveFailures >= 2 })
			if got := f.get(wDown.ID); got.LastError != NoResponse || got.DeliveredPosition != 1 {
				t.Fatalf("dead endpoint: last error %q, position %d", got.LastError, got.DeliveredPosition)
			}

			ds, _, err := f.store.ListWebhookDeliveries(f.ctx, wA.ID, repository.Page{})
			if err != nil {
				t.Fatal(err)
			}
			type row struct {
				pos     int64
				attempt int
				status  int
				ok      bool
			}
			var rows []row
			for _, d := range ds {
				rows = append(rows, row{d.Position, d.Attempt, d.HTTPStatus, d.Success})
			}
			want := []row{{6, 1, 204, true}, {5, 1, 204, true}, {4, 1, 204, true}, {3, 1, 204, true},
				{2, 3, 204, true}, {2, 2, 503, false}, {2, 1, 503, false}}
			if !slices.Equal(rows, want) {
				t.Fatalf("A's deliveries, newest first:\n got  %v\n want %v", rows, want)
			}

			for _, secret := range []string{"query-secret", secretA, secretB, "token="} {
				if strings.Contains(logs.String(), secret) {
					t.Fatalf("the dispatcher's log holds %q:\n%s", secret, logs.String())
				}
			}
			if !strings.Contains(logs.String(), "webhook delivery failed") {
				t.Fatalf("no failure was logged:\n%s", logs.String())
			}
		})
	}
}

// TestDispatchersShareWork: several dispatchers on one database deliver
// each event to each webhook once, in order.
func TestDispatchersShareWork(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFixture(t, testdb.Open(t, dialect))
			secret := strings.Repeat("s", 40)
			var (
				rs   []*receiver
				srvs []*httptest.Server
				ws   []*repository.Webhook
			)
			for range 3 {
				r := &receiver{t: t, secret: []byte(secret)}
				srv := httptest.NewTLSServer(r)
				defer srv.Close()
				rs, srvs = append(rs, r), append(srvs, srv)
				ws = append(ws, f.webhook(srv.URL, secret))
			}
			for i := range 3 {
				// Three servers' dispatchers, each with an owner of its own.
				f.run(fast(trusting(srvs[0]), "127.0.0.0/8", fmt.Sprintf("server-%d", i)), slog.New(slog.DiscardHandler))
			}
			const n = 12
			for range n {
				f.change()
			}
			for i, r := range rs {
				eventually(t, fmt.Sprintf("receiver %d has every event", i), func() bool { return len(r.positions()) >= n })
				eventually(t, "the position is recorded", func() bool { return f.get(ws[i].ID).DeliveredPosition == n })
				want := make([]int64, n)
				for j := range want {
					want[j] = int64(j + 1)
				}
				if got := r.positions(); !slices.Equal(got, want) {
					t.Fatalf("receiver %d got %v, want 1..%d in order, each once", i, got, n)
				}
			}
		})
	}
}
