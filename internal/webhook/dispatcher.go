// Package webhook delivers the change feed to the HTTPS endpoints admins
// register (casework.v1.WebhookService): each event as the JSON of a
// casework.v1.Event, one POST per event, in position order, signed with the
// webhook's secret (see Sign and Verify).
//
// Every server runs a Dispatcher. A webhook is delivered by one server at a
// time: the one holding its lease in the database, taken with a conditional
// UPDATE and renewed while it works. Each webhook is delivered by its own
// goroutine, so a slow or failing endpoint never delays another. A non-2xx
// answer or a transport error stops that webhook until a retry time that
// backs off exponentially; its later events wait, so order is kept.
//
// Delivery is at least once: if a server stops between the receiver's 2xx
// and recording it, the next holder of the lease sends the event again.
// Receivers drop repeats by the X-Casework-Event-Position header.
//
// A webhook that falls behind the feed's retention (its next events were
// pruned) cannot resynchronise itself the way an API client does, by
// reading the resources again. It skips to the oldest event kept and says
// so in its last_error, so the gap is visible to the admin; the receiver
// must then reconcile through the API.
package webhook

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/webhook/egress"
	"github.com/fengdu-county/casework/repository"
)

// Store is what the dispatcher needs from storage.
type Store interface {
	ListWebhooks(ctx context.Context, page repository.Page) ([]repository.Webhook, *repository.Cursor, error)
	GetWebhook(ctx context.Context, id string) (*repository.Webhook, error)
	WebhookSecret(ctx context.Context, w *repository.Webhook) (string, error)
	EventHead(ctx context.Context) (int64, error)
	ListEvents(ctx context.Context, q repository.EventQuery) ([]repository.EventRecord, int64, error)
	LeaseWebhook(ctx context.Context, id, owner string, d time.Duration) (bool, error)
	ReleaseWebhook(ctx context.Context, id, owner string) error
	RecordWebhookAttempt(ctx context.Context, owner string, d *repository.WebhookDelivery, retryIn time.Duration, keep int) error
	AdvanceWebhook(ctx context.Context, id, owner string, position int64) error
	SkipPrunedEvents(ctx context.Context, id, owner string) (int64, error)
}

// Options configure a Dispatcher. Zero values take the defaults.
type Options struct {
	// RootCAs are the authorities trusted for receivers' certificates
	// (default: the system's).
	RootCAs *x509.CertPool
	// Allow lists the internal networks and host names deliveries may
	// reach besides public addresses (default: none). The dispatcher builds
	// its own HTTP client around it, so no configuration can skip the check.
	Allow egress.Policy
	// PollInterval is how often webhooks are checked for work (1s).
	PollInterval time.Duration
	// RequestTimeout bounds each POST (10s).
	RequestTimeout time.Duration
	// BackoffBase is the wait after the first failure, doubled after each
	// further one (1s), up to MaxBackoff (10 min); up to a fifth less at
	// random, so endpoints that fail together do not retry in step.
	BackoffBase, MaxBackoff time.Duration
	// LeaseDuration is how long a lease lasts before another server may
	// take the webhook over (1 min); at least three request timeouts.
	LeaseDuration time.Duration
	// Owner names this server in leases (default: host name and a random
	// suffix). Servers sharing a database must have different owners.
	Owner string
	// Now is the clock (time.Now).
	Now func() time.Time
	// KeepDeliveries is how many of a webhook's newest attempts its
	// delivery log keeps (1000).
	KeepDeliveries int
	// BatchSize is how many events are read at a time (100).
	BatchSize int
}

func (o Options) withDefaults() Options {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.PollInterval, time.Second)
	set(&o.RequestTimeout, 10*time.Second)
	set(&o.BackoffBase, time.Second)
	set(&o.MaxBackoff, 10*time.Minute)
	set(&o.LeaseDuration, time.Minute)
	// A renewed lease must outlive the request it covers.
	o.LeaseDuration = max(o.LeaseDuration, 3*o.RequestTimeout)
	o.MaxBackoff = max(o.MaxBackoff, o.BackoffBase)
	if o.Owner == "" {
		o.Owner = defaultOwner()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeepDeliveries <= 0 {
		o.KeepDeliveries = 1000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	return o
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "casework"
	}
	b := make([]byte, 4)
	_, _ = crand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// Dispatcher delivers every webhook's events.
type Dispatcher struct {
	store  Store
	opts   Options
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex
	running map[string]bool // webhooks this dispatcher is delivering now
	wg      sync.WaitGroup
}

// New builds a dispatcher; Run starts it.
func New(store Store, o Options, log *slog.Logger) *Dispatcher {
	o = o.withDefaults()
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Every connection goes through the address check. A proxy would hide
	// the receiver's address from it, so deliveries never use one.
	t.Proxy = nil
	t.DialContext = o.Allow.DialContext(net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	t.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	c := &http.Client{
		Transport: t,
		// A 3xx is a failed delivery: a redirect would re-send the body
		// somewhere else, and could point inside.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Dispatcher{store: store, opts: o, log: log, client: c, running: map[string]bool{}}
}

// Run checks for work every poll interval until ctx ends, then waits for
// the deliveries in flight to stop. It returns nil: a database or endpoint
// in trouble is logged and tried again, never fatal to the server.
func (d *Dispatcher) Run(ctx context.Context) error {
	tick := time.NewTicker(d.opts.PollInterval)
	defer tick.Stop()
	defer d.wg.Wait()
	for {
		d.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// poll starts a delivery for every webhook that has events to deliver, is
// due, and whose lease this dispatcher wins.
func (d *Dispatcher) poll(ctx context.Context) {
	head, err := d.store.EventHead(ctx)
	if err != nil {
		d.storeError(ctx, "", "reading the event head", err)
		return
	}
	page := repository.Page{Size: repository.MaxPageSize}
	for {
		hooks, next, err := d.store.ListWebhooks(ctx, page)
		if err != nil {
			d.storeError(ctx, "", "listing webhooks", err)
			return
		}
		for i := range hooks {
			d.maybeStart(ctx, &hooks[i], head)
		}
		if next == nil {
			return
		}
		page.After = next
	}
}

func (d *Dispatcher) maybeStart(ctx context.Context, w *repository.Webhook, head int64) {
	now := d.opts.Now()
	switch {
	case w.DeliveredPosition >= head:
		return // caught up
	case w.NextAttemptTime != nil && w.NextAttemptTime.After(now):
		return // backing off
	case w.LeaseOwner != "" && w.LeaseOwner != d.opts.Owner && w.LeaseUntil != nil && w.LeaseUntil.After(now):
		return // another server is on it
	}
	d.mu.Lock()
	if d.running[w.ID] || ctx.Err() != nil {
		d.mu.Unlock()
		return
	}
	d.running[w.ID] = true
	d.mu.Unlock()
	ok, err := d.store.LeaseWebhook(ctx, w.ID, d.opts.Owner, d.opts.LeaseDuration)
	if err != nil || !ok {
		if err != nil {
			d.storeError(ctx, w.ID, "taking a lease", err)
		}
		d.done(w.ID)
		return
	}
	leased := now.Add(d.opts.LeaseDuration)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.done(w.ID)
		d.deliver(ctx, w.ID, leased)
	}()
}

func (d *Dispatcher) done(id string) {
	d.mu.Lock()
	delete(d.running, id)
	d.mu.Unlock()
}

// deliver sends a leased webhook's pending events in order until it has
// caught up, an attempt fails, or the lease is lost.
func (d *Dispatcher) deliver(ctx context.Context, id string, leaseUntil time.Time) {
	release := true
	defer func() {
		if release {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := d.store.ReleaseWebhook(rctx, id, d.opts.Owner); err != nil {
				d.storeError(ctx, id, "releasing the lease", err)
			}
		}
	}()
	// Read again under the lease: the row listed before may be stale.
	w, err := d.store.GetWebhook(ctx, id)
	if err != nil {
		d.storeError(ctx, id, "reading the webhook", err)
		return
	}
	pos, attempt := w.DeliveredPosition, w.ConsecutiveFailures+1
	secret, err := d.store.WebhookSecret(ctx, w)
	if err != nil {
		// An operator problem (a key missing from the keyring): back off
		// like any failure instead of trying every poll.
		d.storeError(ctx, id, "opening the secret", err)
		release = !d.record(ctx, &repository.WebhookDelivery{WebhookID: id, Position: pos + 1, Attempt: attempt,
			Error: "the webhook's secret cannot be opened"}, "")
		return
	}
	q := repository.EventQuery{Limit: d.opts.BatchSize, ResourceTypes: w.ResourceTypes, EventTypes: w.EventTypes}
	for ctx.Err() == nil {
		q.After = pos
		events, next, err := d.store.ListEvents(ctx, q)
		if errors.Is(err, repository.ErrEventsPruned) {
			skipped, err := d.store.SkipPrunedEvents(ctx, id, d.opts.Owner)
			if err != nil {
				d.storeError(ctx, id, "skipping pruned events", err)
				return
			}
			d.log.Warn("webhook fell behind the event retention; skipped to the oldest event kept",
				"webhook", id, "from_position", pos, "to_position", skipped)
			pos = skipped
			continue
		}
		if err != nil {
			d.storeError(ctx, id, "reading events", err)
			return
		}
		for _, ev := range events {
			if !d.renew(ctx, id, &leaseUntil) {
				return
			}
			switch d.send(ctx, w, []byte(secret), ev, attempt) {
			case failed:
				release = false // recording the failure released it
				return
			case stopped:
				return
			}
			pos, attempt = ev.Position, 1
		}
		if next > pos {
			// The rest of the window was filtered out.
			if err := d.store.AdvanceWebhook(ctx, id, d.opts.Owner, next); err != nil {
				d.storeError(ctx, id, "advancing past filtered events", err)
				return
			}
			pos = next
			continue
		}
		if len(events) == 0 {
			return // caught up
		}
	}
}

// renew extends the lease when less than half of it is left, so that it
// outlives the next request. It reports false when the lease was lost.
func (d *Dispatcher) renew(ctx context.Context, id string, until *time.Time) bool {
	now := d.opts.Now()
	if until.Sub(now) > d.opts.LeaseDuration/2 {
		return true
	}
	ok, err := d.store.LeaseWebhook(ctx, id, d.opts.Owner, d.opts.LeaseDuration)
	if err != nil {
		d.storeError(ctx, id, "renewing the lease", err)
		return false
	}
	if !ok {
		d.log.Info("webhook lease lost", "webhook", id)
		return false
	}
	*until = now.Add(d.opts.LeaseDuration)
	return true
}

type outcome int

const (
	delivered outcome = iota
	failed            // recorded, retry scheduled
	stopped           // nothing more to do now: shutdown, lost lease, deleted
)

// send POSTs one event and records the attempt.
func (d *Dispatcher) send(ctx context.Context, w *repository.Webhook, secret []byte, ev repository.EventRecord, attempt int) outcome {
	// The body is the Event the API's feed returns for the same record.
	body, err := protojson.Marshal(convert.EventToProto(&ev))
	if err != nil {
		d.log.Error("webhook event encoding", "webhook", w.ID, "position", ev.Position, "error_type", fmt.Sprintf("%T", err))
		return stopped
	}
	rctx, cancel := context.WithTimeout(ctx, d.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		// Only a URL that is no URL gets here; the API validated it.
		return d.outcome(ctx, w.ID, ev, attempt, 0, "invalid URL", "", 0)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "casework-webhook/1")
	req.Header.Set(SignatureHeader, Sign(secret, d.opts.Now(), body))
	req.Header.Set(PositionHeader, strconv.FormatInt(ev.Position, 10))
	start := time.Now()
	resp, err := d.client.Do(req)
	status, class, kind := 0, "", ""
	if err != nil {
		if ctx.Err() != nil {
			return stopped // shutting down: not the endpoint's failure
		}
		class, kind = NoResponse, errorKind(err)
	} else {
		status = resp.StatusCode
		// Drain a little so the connection is reused; never read or log more.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if status < 200 || status > 299 {
			class = "HTTP " + strconv.Itoa(status)
		}
	}
	return d.outcome(ctx, w.ID, ev, attempt, status, class, kind, time.Since(start))
}

// NoResponse is the error recorded for every attempt that got no HTTP
// answer. Which kind of transport failure it was (refused, reset, TLS, DNS,
// timeout, an address not allowed) goes to the server's log only: told to
// the admin who chose the URL, it would map the network behind the server,
// port by port.
const NoResponse = "no HTTP response from the receiver"

// outcome records an attempt; class is empty for a success, and kind, for
// the log only, says what kind of transport failure it was.
func (d *Dispatcher) outcome(ctx context.Context, id string, ev repository.EventRecord, attempt, status int, class, kind string, took time.Duration) outcome {
	a := &repository.WebhookDelivery{WebhookID: id, Position: ev.Position, EventType: ev.Type, Resource: ev.Resource,
		Attempt: attempt, HTTPStatus: status, Success: class == "", Error: class, DurationMS: took.Milliseconds()}
	if !d.record(ctx, a, kind) {
		return stopped
	}
	if a.Success {
		d.log.Debug("webhook delivered", "webhook", id, "position", ev.Position, "status", status, "duration", took)
		return delivered
	}
	return failed
}

// record stores an attempt. It reports whether the store took it; a
// failure is logged with its retry time and kind.
func (d *Dispatcher) record(ctx context.Context, a *repository.WebhookDelivery, kind string) bool {
	var retry time.Duration
	if !a.Success {
		retry = d.backoff(a.Attempt)
	}
	// Record even while shutting down: a receiver that answered 2xx must
	// not get the event again for want of a write.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.store.RecordWebhookAttempt(rctx, d.opts.Owner, a, retry, d.opts.KeepDeliveries); err != nil {
		d.storeError(rctx, a.WebhookID, "recording an attempt", err)
		return false
	}
	if !a.Success {
		args := []any{"webhook", a.WebhookID, "position", a.Position, "attempt", a.Attempt,
			"status", a.HTTPStatus, "error", a.Error, "retry_in", retry}
		if kind != "" {
			args = append(args, "kind", kind)
		}
		d.log.Warn("webhook delivery failed", args...)
	}
	return true
}

// backoff is the wait before attempt n+1 after n consecutive failures.
func (d *Dispatcher) backoff(n int) time.Duration {
	b := d.opts.BackoffBase
	for i := 1; i < n && b < d.opts.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.opts.MaxBackoff)
	// Jitter spreads retries out; it needs no unpredictability.
	return b - time.Duration(rand.Int64N(int64(b)/5+1)) //nolint:gosec // jitter, not a secret
}

// storeError logs a storage error by its type only: database errors can
// quote values. Errors caused by shutting down, or by the webhook being
// deleted meanwhile, are not worth a line; a lost lease is no error.
func (d *Dispatcher) storeError(ctx context.Context, id, doing string, err error) {
	switch {
	case ctx.Err() != nil, errors.Is(err, repository.ErrNotFound):
	case errors.Is(err, repository.ErrLeaseLost):
		d.log.Info("webhook lease lost", "webhook", id)
	default:
		d.log.Error("webhook dispatcher: "+doing, "webhook", id, "error_type", fmt.Sprintf("%T", err))
	}
}

// errorKind describes a transport error for the operator's log without
// its text, which names the URL (query string included) and could carry a
// receiver's token.
func errorKind(err error) string {
	var (
		netErr    net.Error
		dnsErr    *net.DNSError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		opErr     *net.OpError
	)
	switch {
	case errors.Is(err, egress.ErrBlocked):
		return "address not allowed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr), errors.As(err, &verifyErr):
		return "TLS certificate not accepted"
	case errors.As(err, &recordErr), errors.As(err, &alertErr):
		return "TLS handshake failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.As(err, &opErr):
		return "connection failed"
	}
	return "transport error"
}
