package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fengdu-county/casework/internal/testdb"
	"github.com/fengdu-county/casework/repository"
)

// localhostReceiver is an HTTPS endpoint on 127.0.0.1 whose certificate
// names "localhost" and 127.0.0.1, trusted by the pool it returns. It
// counts the requests that reach it.
func localhostReceiver(t *testing.T) (*httptest.Server, *x509.CertPool, *atomic.Int32) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, trusting(srv), &calls
}

// failedWith waits for w's first failure and checks what the admin sees of
// it, in the webhook and in its delivery log, is the one generic text.
func (f *fixture) failedWith(w *repository.Webhook, what string) {
	f.t.Helper()
	eventually(f.t, what+" fails", func() bool { return f.get(w.ID).ConsecutiveFailures >= 1 })
	if got := f.get(w.ID); got.LastError != NoResponse {
		f.t.Errorf("%s: lastError %q, want %q", what, got.LastError, NoResponse)
	}
	ds, _, err := f.store.ListWebhookDeliveries(f.ctx, w.ID, repository.Page{})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, d := range ds {
		if d.Error != NoResponse || d.HTTPStatus != 0 || d.Success {
			f.t.Errorf("%s: delivery %+v, want the error %q", what, d, NoResponse)
		}
	}
}

// TestDeliveryAddressGuard: deliveries reach internal addresses only when
// the allow-list says so, judged on the address a name resolves to; and
// every failure without an HTTP answer looks the same to the admin.
func TestDeliveryAddressGuard(t *testing.T) {
	const secret = "a-webhook-secret-of-forty-characters-xyz"
	for _, dialect := range testdb.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			recv, roots, calls := localhostReceiver(t)
			port := recv.Listener.Addr().(*net.TCPAddr).Port
			at := func(host string) string { return "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/hook" }

			t.Run("blocked_by_default", func(t *testing.T) {
				f := newFixture(t, testdb.Open(t, dialect))
				var logs syncBuffer
				// "localhost" passes registration (a name), then resolves
				// to 127.0.0.1 when dialled.
				hooks := []*repository.Webhook{f.webhook(at("localhost"), secret), f.webhook(at("127.0.0.1"), secret),
					f.webhook(at("::ffff:127.0.0.1"), secret)}
				f.run(fast(roots, "", "guard"), slog.New(slog.NewTextHandler(&logs, nil)))
				f.change()
				for _, w := range hooks {
					f.failedWith(w, w.URL)
				}
				if n := calls.Load(); n != 0 {
					t.Fatalf("the receiver got %d requests through a refused address", n)
				}
				if !strings.Contains(logs.String(), `kind="address not allowed"`) {
					t.Errorf("the operator's log does not say why:\n%s", logs.String())
				}
			})

			t.Run("allowed_network", func(t *testing.T) {
				f := newFixture(t, testdb.Open(t, dialect))
				w := f.webhook(at("localhost"), secret)
				f.run(fast(roots, "127.0.0.0/8", "guard"), slog.New(slog.DiscardHandler))
				before := calls.Load()
				f.change()
				eventually(t, "the event is delivered", func() bool { return f.get(w.ID).DeliveredPosition == 1 })
				if calls.Load() != before+1 {
					t.Fatalf("the receiver got %d requests, want 1", calls.Load()-before)
				}
			})

			t.Run("allowed_name", func(t *testing.T) {
				f := newFixture(t, testdb.Open(t, dialect))
				byName := f.webhook(at("localhost"), secret)
				byAddress := f.webhook(at("127.0.0.1"), secret)
				f.run(fast(roots, "localhost", "guard"), slog.New(slog.DiscardHandler))
				f.change()
				eventually(t, "the event is delivered by name", func() bool { return f.get(byName.ID).DeliveredPosition == 1 })
				// The name is trusted, not every address it resolves to.
				f.failedWith(byAddress, "the address of an allowed name")
			})

			t.Run("failures_look_alike", func(t *testing.T) {
				f := newFixture(t, testdb.Open(t, dialect))
				plain := httptest.NewServer(http.NotFoundHandler()) // no TLS at all
				t.Cleanup(plain.Close)
				stranger := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate nobody trusts here
				t.Cleanup(stranger.Close)
				hooks := map[string]*repository.Webhook{
					"connection refused":    f.webhook("https://"+closedPort(t)+"/hook", secret),
					"no TLS":                f.webhook(strings.Replace(plain.URL, "http://", "https://", 1), secret),
					"TLS certificate":       f.webhook(stranger.URL, secret),
					"timeout":               f.webhook("https://"+silentPort(t)+"/hook", secret),
					"DNS lookup failed":     f.webhook("https://no-such-receiver.invalid/hook", secret),
					"address not allowed":   f.webhook("https://10.255.255.1/hook", secret),
					"address not allowed 2": f.webhook("https://[fd00:ec2::254]/hook", secret),
				}
				good := f.webhook(at("127.0.0.1"), secret)
				var logs syncBuffer
				f.run(fast(roots, "127.0.0.0/8", "guard"), slog.New(slog.NewTextHandler(&logs, nil)))
				f.change()
				eventually(t, "the good receiver has the event", func() bool { return f.get(good.ID).DeliveredPosition == 1 })
				for what, w := range hooks {
					f.failedWith(w, what)
				}
				// They were different failures: the operator's log tells them
				// apart (DNS without a resolver may end in a timeout).
				for _, kind := range []string{"connection refused", "TLS certificate not accepted", "timeout", "address not allowed"} {
					if !strings.Contains(logs.String(), "kind="+kind) && !strings.Contains(logs.String(), `kind="`+kind+`"`) {
						t.Errorf("no failure of kind %q was logged:\n%s", kind, logs.String())
					}
				}
			})
		})
	}
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// silentPort accepts connections and never says a word, until t ends.
func silentPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}
