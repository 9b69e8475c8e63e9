package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/internal/webhook"
	"github.com/fengdu-county/casework/internal/webhook/egress"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

// Every e2e server delivers webhooks quickly, and trusts the certificate
// of httptest's TLS servers, which all receivers of the scenarios are.
var receiverRoots = sync.OnceValue(func() *x509.CertPool {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool
})

// receiversNetwork allows the receivers' address, 127.0.0.1, which a
// server refuses by default; the county lists its internal receivers the
// same way (--webhook-allow-networks).
var receiversNetwork = sync.OnceValue(func() egress.Policy {
	p, err := egress.Parse("127.0.0.1/32")
	if err != nil {
		panic(err)
	}
	return p
})

// webhookOptions is the webhook part of every e2e server's configuration.
func webhookOptions() webhook.Options {
	return webhook.Options{RootCAs: receiverRoots(), Allow: receiversNetwork(), PollInterval: 25 * time.Millisecond,
		BackoffBase: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, RequestTimeout: 15 * time.Second}
}

// --- WebhookService calls --------------------------------------------------

func (c *client) CreateWebhook(w *pb.Webhook) (*pb.Webhook, error) {
	out := &pb.Webhook{}
	return out, c.call("WebhookService/CreateWebhook", post("webhooks", w), &pb.CreateWebhookRequest{Webhook: w}, out)
}

func (c *client) GetWebhook(name string) (*pb.Webhook, error) {
	out := &pb.Webhook{}
	return out, c.call("WebhookService/GetWebhook", get(name, nil), &pb.GetWebhookRequest{Name: name}, out)
}

func (c *client) ListWebhooks(size int32, token string) (*pb.ListWebhooksResponse, error) {
	out := &pb.ListWebhooksResponse{}
	return out, c.call("WebhookService/ListWebhooks", get("webhooks", pageQuery(size, token)),
		&pb.ListWebhooksRequest{PageSize: size, PageToken: token}, out)
}

func (c *client) DeleteWebhook(name string) (*emptypb.Empty, error) {
	out := &emptypb.Empty{}
	return out, c.call("WebhookService/DeleteWebhook", route{method: http.MethodDelete, path: name},
		&pb.DeleteWebhookRequest{Name: name}, out)
}

func (c *client) ListWebhookDeliveries(parent string, size int32, token string) (*pb.ListWebhookDeliveriesResponse, error) {
	out := &pb.ListWebhookDeliveriesResponse{}
	return out, c.call("WebhookService/ListWebhookDeliveries", get(parent+"/deliveries", pageQuery(size, token)),
		&pb.ListWebhookDeliveriesRequest{Parent: parent, PageSize: size, PageToken: token}, out)
}

// allDeliveries reads every page of a webhook's delivery log, newest first.
func (c *client) allDeliveries(t *testing.T, parent string) []*pb.WebhookDelivery {
	t.Helper()
	var out []*pb.WebhookDelivery
	token := ""
	for range 1000 {
		resp := must(c.ListWebhookDeliveries(parent, 2, token)).ok(t)
		out = append(out, resp.GetDeliveries()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
	t.Fatal("the delivery log never ends")
	return nil
}

// --- receivers ---------------------------------------------------------------

// delivery is one request a receiver got.
type delivery struct {
	header, position string
	body             []byte
	status           int
}

// hookReceiver is an HTTPS endpoint: it answers 500 to its first failFirst
// requests; then, if gate is set, holds the next one until the gate opens;
// then accepts everything.
type hookReceiver struct {
	failFirst int
	gate      chan struct{}
	srv       *httptest.Server

	mu   sync.Mutex
	got  []delivery
	hold sync.Once
}

func newReceiver(t *testing.T, failFirst int, gated bool) *hookReceiver {
	r := &hookReceiver{failFirst: failFirst}
	if gated {
		r.gate = make(chan struct{})
	}
	r.srv = httptest.NewTLSServer(r)
	t.Cleanup(r.srv.Close)
	t.Cleanup(r.open) // runs first: a held request must end for Close to return
	return r
}

func (r *hookReceiver) open() {
	if r.gate != nil {
		r.hold.Do(func() { close(r.gate) })
	}
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.got)
	r.mu.Unlock()
	status := http.StatusOK
	if n < r.failFirst {
		status = http.StatusInternalServerError
	} else if n == r.failFirst && r.gate != nil {
		select {
		case <-r.gate:
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	r.got = append(r.got, delivery{header: req.Header.Get(webhook.SignatureHeader),
		position: req.Header.Get(webhook.PositionHeader), body: body, status: status})
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *hookReceiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// accepted is the events a receiver accepted, in the order it got them.
func (r *hookReceiver) accepted(t *testing.T) []*pb.Event {
	t.Helper()
	var out []*pb.Event
	for _, d := range r.deliveries() {
		if d.status != http.StatusOK {
			continue
		}
		ev := &pb.Event{}
		if err := protojson.Unmarshal(d.body, ev); err != nil {
			t.Fatalf("a delivery's body is not an Event: %v", err)
		}
		if d.position != strconv.FormatInt(ev.GetPosition(), 10) {
			t.Fatalf("%s %q on the event at %d", webhook.PositionHeader, d.position, ev.GetPosition())
		}
		out = append(out, ev)
	}
	return out
}

// checkSigned verifies the signature of every request a receiver got, on
// the servers' clock (the signature's time is theirs).
func (e *env) checkSigned(t *testing.T, r *hookReceiver, secret string) {
	t.Helper()
	for i, d := range r.deliveries() {
		if err := webhook.Verify([]byte(secret), d.header, d.body, e.clock.Now(), 5*time.Minute); err != nil {
			t.Fatalf("request %d to a receiver: signature %v", i, err)
		}
		if err := webhook.Verify([]byte(secret+"x"), d.header, d.body, e.clock.Now(), 5*time.Minute); err == nil {
			t.Fatalf("request %d verifies under another secret", i)
		}
	}
}

func positionsOf(evs []*pb.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.GetPosition()
	}
	return out
}

func span(from, to int64) []int64 {
	var out []int64
	for p := from; p <= to; p++ {
		out = append(out, p)
	}
	return out
}

// eventually polls cond until it holds, failing the test after 20 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func (e *env) eventHead(t *testing.T) int64 {
	t.Helper()
	head, err := e.db.Store().EventHead(context.Background())
	if err != nil {
		t.Fatalf("EventHead: %v", err)
	}
	return head
}

// webhookSecret makes a secret the scenario tracks like an ID number: it
// must never appear in a log line, URL or error answer.
func (e *env) webhookSecret(name string) string {
	s := "whsec-" + name + "-" + strings.Repeat("q", 32)
	e.leaks.track(s)
	return s
}

// noSecretAtRest fails if a secret is stored in plaintext anywhere the
// webhooks touch, or the webhook row's secret is not sealed.
func (e *env) noSecretAtRest(t *testing.T, secrets ...string) {
	t.Helper()
	for _, table := range []string{"webhooks", "webhook_deliveries", "audit_log", "events", "request_ids"} {
		var rows []map[string]any
		if err := e.db.Gorm.Raw("SELECT * FROM " + table).Scan(&rows).Error; err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for _, row := range rows {
			for col, v := range row {
				cell := ""
				switch v := v.(type) {
				case string:
					cell = v
				case []byte:
					cell = string(v)
				}
				for _, s := range secrets {
					if strings.Contains(cell, s) {
						t.Fatalf("%s.%s holds a webhook secret in plaintext", table, col)
					}
				}
				if table == "webhooks" && col == "secret" && !strings.HasPrefix(cell, "sealed:v1:") {
					t.Fatalf("webhooks.secret is not sealed")
				}
			}
		}
	}
}

// --- scenarios -----------------------------------------------------------------

// testWebhooks: two endpoints, one failing at first. The healthy one gets
// every event at once, in order; the failing one shows FAILING while it
// fails, then gets every event exactly once, in order, and turns HEALTHY;
// the delivery log shows both kinds of attempt; every request is signed;
// the secret never comes back, nor shows in a log, nor rests in plaintext.
func testWebhooks(t *testing.T, e *env) {
	admin := e.asRole(t, principal.Admin) // [gRPC, HTTP]
	supervisor := e.grpcClient(t)
	secretA, secretB := e.webhookSecret("a"), e.webhookSecret("b")
	a := newReceiver(t, 3, true)
	b := newReceiver(t, 0, false)

	start := e.eventHead(t)
	hookA := must(admin[0].CreateWebhook(&pb.Webhook{DisplayName: "民政局 A", Url: a.srv.URL + "/hooks/casework?channel=a",
		Secret: secretA})).ok(t)
	hookB := must(admin[1].CreateWebhook(&pb.Webhook{DisplayName: "B", Url: b.srv.URL + "/in", Secret: secretB})).ok(t)
	for _, h := range []*pb.Webhook{hookA, hookB} {
		if h.GetSecret() != "" || h.GetState() != pb.WebhookState_WEBHOOK_STATE_HEALTHY || h.GetDeliveredPosition() != start ||
			!strings.HasPrefix(h.GetName(), "webhooks/") || h.GetEtag() == "" {
			t.Fatalf("created webhook %v", h)
		}
	}
	// Only admins manage webhooks.
	must(supervisor.GetWebhook(hookA.GetName())).fails(t, codes.PermissionDenied)
	// An http:// endpoint is refused: deliveries carry the signature and
	// the event.
	st := must(admin[1].CreateWebhook(&pb.Webhook{Url: "http://127.0.0.1/hook", Secret: secretB})).fails(t, codes.InvalidArgument)
	wantViolation(t, st, "webhook.url")

	// Changes: a household with three members, a case, its submission.
	f := e.family(t, supervisor)
	cs := must(supervisor.CreateCase(schoolCase(f))).ok(t)
	must(supervisor.Submit(cs.GetName(), cs.GetEtag())).ok(t)
	head := e.eventHead(t)
	if head-start != 6 {
		t.Fatalf("%d events for the changes, want 6", head-start)
	}
	want := span(start+1, head)

	// B gets everything while A is still failing and held: B waits for
	// nobody.
	eventually(t, "B has every event", func() bool { return len(b.accepted(t)) >= len(want) })
	if got := positionsOf(b.accepted(t)); !slices.Equal(got, want) {
		t.Fatalf("B got positions %v, want %v in order, each once", got, want)
	}
	if evs := b.accepted(t); evs[0].GetType() != "CreateHousehold" || evs[0].GetResource() != f.household.GetName() ||
		evs[0].GetResourceType() != "households" || !slices.Equal(evs[0].GetChangedFields(), []string{"created"}) ||
		evs[len(evs)-1].GetType() != "SubmitCase" || evs[len(evs)-1].GetResource() != cs.GetName() {
		t.Fatalf("B's events: first %v, last %v", evs[0], evs[len(evs)-1])
	}
	if n := len(a.accepted(t)); n != 0 {
		t.Fatalf("A accepted %d events while failing", n)
	}

	// A has failed three times and its fourth attempt is held: FAILING.
	eventually(t, "A's fourth attempt arrives", func() bool { return len(a.deliveries()) >= 3 })
	var failing *pb.Webhook
	eventually(t, "A shows three failures", func() bool {
		failing = must(admin[1].GetWebhook(hookA.GetName())).ok(t)
		return failing.GetConsecutiveFailures() == 3
	})
	if failing.GetState() != pb.WebhookState_WEBHOOK_STATE_FAILING || failing.GetLastError() != "HTTP 500" ||
		failing.GetNextAttemptTime() == nil || failing.GetLastFailureTime() == nil || failing.GetDeliveredPosition() != start {
		t.Fatalf("A while failing: %v", failing)
	}
	a.open()
	eventually(t, "A has every event", func() bool { return len(a.accepted(t)) >= len(want) })
	eventually(t, "A is healthy and caught up", func() bool {
		h := must(admin[0].GetWebhook(hookA.GetName())).ok(t)
		return h.GetState() == pb.WebhookState_WEBHOOK_STATE_HEALTHY && h.GetDeliveredPosition() == head
	})
	if got := positionsOf(a.accepted(t)); !slices.Equal(got, want) {
		t.Fatalf("A got positions %v, want %v in order, each once", got, want)
	}
	healthy := must(admin[1].GetWebhook(hookA.GetName())).ok(t)
	if healthy.GetConsecutiveFailures() != 0 || healthy.GetLastSuccessTime() == nil || healthy.GetNextAttemptTime() != nil {
		t.Fatalf("A after recovering: %v", healthy)
	}
	e.checkSigned(t, a, secretA)
	e.checkSigned(t, b, secretB)

	// The delivery log, newest first, over both transports: the successes,
	// then the three failures of the first event, last attempt first.
	for _, c := range admin {
		ds := c.allDeliveries(t, hookA.GetName())
		if len(ds) != len(want)+3 {
			t.Fatalf("%s: %d deliveries of A, want %d", c.name, len(ds), len(want)+3)
		}
		for i, d := range ds {
			pos, attempt, ok, status := head-int64(i), int32(1), true, int32(200)
			if i >= len(want)-1 { // the first event: attempts 4 (ok), 3, 2, 1
				pos, attempt = start+1, int32(len(want)+3-i)
				ok, status = attempt == 4, map[bool]int32{true: 200, false: 500}[attempt == 4]
			}
			if d.GetPosition() != pos || d.GetAttempt() != attempt || d.GetSuccess() != ok || d.GetHttpStatus() != status ||
				!strings.HasPrefix(d.GetName(), hookA.GetName()+"/deliveries/") || d.GetTime() == nil || d.GetDuration() == nil {
				t.Fatalf("%s: delivery %d = %v, want position %d attempt %d success %v status %d", c.name, i, d, pos, attempt, ok, status)
			}
			if !ok && d.GetError() != "HTTP 500" {
				t.Fatalf("%s: failed delivery's error %q", c.name, d.GetError())
			}
		}
	}

	// The secret never comes back: not from Get, List or Create, on either
	// transport, and not in the raw JSON either.
	for _, c := range admin {
		list := must(c.ListWebhooks(1, "")).ok(t)
		all := list.GetWebhooks()
		for tok := list.GetNextPageToken(); tok != ""; {
			page := must(c.ListWebhooks(1, tok)).ok(t)
			all, tok = append(all, page.GetWebhooks()...), page.GetNextPageToken()
		}
		if len(all) != 2 || all[0].GetName() != hookA.GetName() || all[1].GetName() != hookB.GetName() {
			t.Fatalf("%s: ListWebhooks = %v", c.name, all)
		}
		for _, h := range all {
			js, _ := protojson.Marshal(h)
			if h.GetSecret() != "" || strings.Contains(string(js), "whsec-") || strings.Contains(string(js), "sealed:") {
				t.Fatalf("%s: a listed webhook carries its secret: %s", c.name, js)
			}
		}
	}
	for _, path := range []string{"/v1/webhooks", "/v1/" + hookA.GetName()} {
		code, _, body, err := e.doHTTP(t, e.httpAs(e.roleToken(t, principal.Admin)), e.httpBase+path, http.MethodGet, nil, 0, nil)
		if err != nil || code != http.StatusOK || strings.Contains(string(body), "whsec-") {
			t.Fatalf("GET %s: %d, %v, secret in the body: %v", path, code, err, strings.Contains(string(body), "whsec-"))
		}
	}
	e.noSecretAtRest(t, secretA, secretB)

	// Deleting B stops it and removes its log.
	must(admin[1].DeleteWebhook(hookB.GetName())).ok(t)
	must(admin[0].GetWebhook(hookB.GetName())).fails(t, codes.NotFound)
	must(admin[1].ListWebhookDeliveries(hookB.GetName(), 0, "")).fails(t, codes.NotFound)
	var n int64
	if err := e.db.Gorm.Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?",
		strings.TrimPrefix(hookB.GetName(), "webhooks/")).Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("%d deliveries of the deleted webhook remain (%v)", n, err)
	}
	before := len(b.deliveries())
	must(supervisor.CreateNote(cs.GetName(), "已联系家属")).ok(t)
	eventually(t, "A gets the note", func() bool { return len(a.accepted(t)) == len(want)+1 })
	if got := len(b.deliveries()); got != before {
		t.Fatalf("the deleted webhook got %d more requests", got-before)
	}
	t.Run("internal_addresses", func(t *testing.T) { testWebhookInternalAddresses(t, e) })
}

// testWebhookInternalAddresses: a server with no allow-list refuses a URL
// naming an internal address, in every spelling a parser or resolver takes
// for one, over both transports and without quoting it. A name resolving
// to one (localhost) is accepted, but the delivery is refused at the
// connection: nothing reaches the receiver, and the admin sees the one
// error every failure without an HTTP answer gets.
func testWebhookInternalAddresses(t *testing.T, e *env) {
	db := testdb.Open(t, e.db.Dialect)
	base, conn := e.serveWith(t, db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) {
		c.Webhooks.Allow = egress.Policy{}
	})
	adminToken := e.roleToken(t, principal.Admin)
	admin := pb.NewWebhookServiceClient(e.dialAddr(t, conn.Target(), adminToken))
	secret := e.webhookSecret("internal")
	for _, host := range []string{"127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1", "127.1",
		"[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "169.254.169.254", "2852039166", "[fd00:ec2::254]",
		"100.100.100.200", "10.0.0.1", "012.0.0.1", "167772161", "172.16.0.1", "192.168.1.1", "0.0.0.0", "[::]",
		"224.0.0.1", "[fe80::1]"} {
		u := "https://" + host + ":8443/hook"
		bare := strings.Trim(host, "[]")
		_, err := admin.CreateWebhook(ctxFor(t), &pb.CreateWebhookRequest{Webhook: &pb.Webhook{Url: u, Secret: secret}})
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument {
			t.Errorf("gRPC, %s: %v, want InvalidArgument", host, err)
			continue
		}
		wantViolation(t, st, "webhook.url")
		if js, _ := protojson.Marshal(st.Proto()); strings.Contains(string(js), bare) {
			t.Errorf("gRPC, %s: the refusal quotes the address: %s", host, js)
		}
		body, _ := protojson.Marshal(&pb.Webhook{Url: u, Secret: secret})
		code, _, out, err := e.doHTTP(t, e.httpAs(adminToken), base+"/v1/webhooks", http.MethodPost, bytes.NewReader(body), int64(len(body)), nil)
		if err != nil || code != http.StatusBadRequest || !strings.Contains(string(out), "webhook.url") || strings.Contains(string(out), bare) {
			t.Errorf("HTTP, %s: %d %v %s, want a 400 naming webhook.url without the address", host, code, err, out)
		}
	}

	// The receiver counts connections, not requests: a refused address is
	// refused before a TCP handshake, let alone a TLS one.
	var connections atomic.Int32
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Listener = countingListener{srv.Listener, &connections}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	hook, err := admin.CreateWebhook(ctxFor(t), &pb.CreateWebhookRequest{Webhook: &pb.Webhook{
		Url: "https://localhost:" + port + "/hook", Secret: secret}})
	if err != nil {
		t.Fatalf("a host name is checked when it is dialled, not registered: %v", err)
	}
	if _, err := pb.NewHouseholdServiceClient(conn).CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{Household: e.newHousehold()}); err != nil {
		t.Fatal(err)
	}
	var got *pb.Webhook
	eventually(t, "the delivery to localhost fails", func() bool {
		got, err = admin.GetWebhook(ctxFor(t), &pb.GetWebhookRequest{Name: hook.GetName()})
		return err == nil && got.GetConsecutiveFailures() >= 2
	})
	if got.GetLastError() != webhook.NoResponse || got.GetState() != pb.WebhookState_WEBHOOK_STATE_FAILING {
		t.Fatalf("webhook to localhost: %v, want FAILING with %q", got, webhook.NoResponse)
	}
	ds, err := admin.ListWebhookDeliveries(ctxFor(t), &pb.ListWebhookDeliveriesRequest{Parent: hook.GetName()})
	if err != nil || len(ds.GetDeliveries()) < 2 {
		t.Fatalf("deliveries: %v, %v", ds, err)
	}
	for _, d := range ds.GetDeliveries() {
		if d.GetError() != webhook.NoResponse || d.GetHttpStatus() != 0 || d.GetSuccess() {
			t.Fatalf("delivery %v, want the error %q", d, webhook.NoResponse)
		}
	}
	if n := connections.Load(); n != 0 {
		t.Fatalf("the receiver on 127.0.0.1 got %d connections through localhost", n)
	}
}

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// testWebhooksTwoServers: two servers on one database, each running a
// dispatcher, while changes arrive through both. Every webhook still gets
// every event exactly once and in order, a failing one included.
func testWebhooksTwoServers(t *testing.T, e *env) {
	_, conn2 := e.secondServer(t)
	admin := e.asRole(t, principal.Admin)
	servers := []*client{e.grpcClient(t), e.grpcClient(t)}
	servers[1].conn = conn2

	type hook struct {
		r      *hookReceiver
		secret string
		name   string
	}
	var hooks []hook
	for i, failFirst := range []int{0, 0, 2} {
		h := hook{r: newReceiver(t, failFirst, false), secret: e.webhookSecret("shared-" + strconv.Itoa(i))}
		h.name = must(admin[i%2].CreateWebhook(&pb.Webhook{Url: h.r.srv.URL, Secret: h.secret})).ok(t).GetName()
		hooks = append(hooks, h)
	}
	start := e.eventHead(t)

	var wg sync.WaitGroup
	errs := make(chan error, 2*8)
	for i, c := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				h, err := c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Address = "server " + strconv.Itoa(i) }))
				if err == nil {
					_, err = c.CreateMember(h.GetName(), e.newMember(pb.Relation_RELATION_SPOUSE, "李娜", spouseBirth))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a change through one of the servers: %v", err)
	}
	head := e.eventHead(t)
	want := span(start+1, head)
	if len(want) != 16 {
		t.Fatalf("%d events, want 16", len(want))
	}
	for i, h := range hooks {
		eventually(t, "receiver "+strconv.Itoa(i)+" has every event", func() bool { return len(h.r.accepted(t)) >= len(want) })
		eventually(t, "webhook "+strconv.Itoa(i)+" is caught up", func() bool {
			return must(admin[0].GetWebhook(h.name)).ok(t).GetDeliveredPosition() == head
		})
		if got := positionsOf(h.r.accepted(t)); !slices.Equal(got, want) {
			t.Fatalf("receiver %d got %v, want %v in order, each once", i, got, want)
		}
		e.checkSigned(t, h.r, h.secret)
		successes := map[int64]int{}
		for _, d := range admin[1].allDeliveries(t, h.name) {
			if d.GetSuccess() {
				successes[d.GetPosition()]++
			}
		}
		for _, p := range want {
			if successes[p] != 1 {
				t.Fatalf("webhook %d: %d successful deliveries of position %d, want 1", i, successes[p], p)
			}
		}
	}
}
