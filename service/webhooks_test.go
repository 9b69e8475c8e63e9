package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/webhook/egress"
	"github.com/fengdu-county/casework/repository"
)

// fakeWebhooks keeps webhooks in memory; the conformance suite covers the
// real store.
type fakeWebhooks struct {
	head    int64
	created *repository.Webhook
	secret  string
}

func (f *fakeWebhooks) CreateWebhook(_ context.Context, w *repository.Webhook, secret string) error {
	w.Revision, w.CreateTime, w.SealedSecret = 1, time.Now(), "sealed:v1:k:opaque"
	if w.DeliveredPosition == 0 {
		w.DeliveredPosition = f.head
	}
	f.created, f.secret = w, secret
	return nil
}
func (f *fakeWebhooks) GetWebhook(context.Context, string) (*repository.Webhook, error) {
	if f.created == nil {
		return nil, repository.ErrNotFound
	}
	return f.created, nil
}
func (f *fakeWebhooks) ListWebhooks(context.Context, repository.Page) ([]repository.Webhook, *repository.Cursor, error) {
	return nil, nil, nil
}
func (f *fakeWebhooks) DeleteWebhook(context.Context, string) error { return nil }
func (f *fakeWebhooks) ListWebhookDeliveries(context.Context, string, repository.Page) ([]repository.WebhookDelivery, *repository.Cursor, error) {
	return nil, nil, nil
}
func (f *fakeWebhooks) EventHead(context.Context) (int64, error) { return f.head, nil }

func TestCreateWebhook(t *testing.T) {
	const secret = "a-webhook-secret-of-forty-characters-xyz"
	store := &fakeWebhooks{head: 7}
	s := NewWebhooks(store, nil, Options{PageTokenKey: []byte("k")}, egress.Policy{})
	ctx := context.Background()
	req := func(mod func(*pb.Webhook)) *pb.CreateWebhookRequest {
		w := &pb.Webhook{Url: "https://receiver.example/hook?x=1", Secret: secret, ResourceTypes: []string{"cases", "notes"}}
		if mod != nil {
			mod(w)
		}
		return &pb.CreateWebhookRequest{Webhook: w}
	}
	got, err := s.CreateWebhook(ctx, req(nil))
	if err != nil {
		t.Fatal(err)
	}
	if store.secret != secret || !slices.Equal(store.created.ResourceTypes, repository.List[string]{"cases", "notes"}) {
		t.Fatalf("stored %+v with secret %v", store.created, store.secret == secret)
	}
	if got.GetSecret() != "" || got.GetDeliveredPosition() != 7 || got.GetState() != pb.WebhookState_WEBHOOK_STATE_HEALTHY ||
		!strings.HasPrefix(got.GetName(), "webhooks/") || got.GetEtag() != "v1" {
		t.Fatalf("answer %v", got)
	}
	if js, _ := protojson.Marshal(got); strings.Contains(string(js), secret) || strings.Contains(string(js), "sealed:") {
		t.Fatalf("the answer carries the secret: %s", js)
	}
	for name, tc := range map[string]struct {
		mod   func(*pb.Webhook)
		field string
	}{
		"credentials in the URL": {func(w *pb.Webhook) { w.Url = "https://user:pw@receiver.example/" }, "webhook.url"},
		"no host":                {func(w *pb.Webhook) { w.Url = "https:///hook" }, "webhook.url"},
		"plain http":             {func(w *pb.Webhook) { w.Url = "http://receiver.example/" }, "webhook.url"},
		"start past the head":    {func(w *pb.Webhook) { w.StartAfter = 8 }, "webhook.start_after"},
		"loopback, in decimal":   {func(w *pb.Webhook) { w.Url = "https://2130706433/hook" }, "webhook.url"},
		"cloud metadata":         {func(w *pb.Webhook) { w.Url = "https://169.254.169.254/latest" }, "webhook.url"},
		"misspelt event type":    {func(w *pb.Webhook) { w.EventTypes = []string{"CreateCase", "CreateCsae"} }, "webhook.event_types[1]"},
	} {
		_, err := s.CreateWebhook(ctx, req(tc.mod))
		v, ok := domain.AsValidation(err)
		if !ok || v.Violations[0].Field != tc.field {
			t.Errorf("%s: %v, want a violation on %s", name, err, tc.field)
		}
	}
	if _, err := s.CreateWebhook(ctx, req(func(w *pb.Webhook) { w.StartAfter = 7 })); err != nil {
		t.Fatalf("start at the head: %v", err)
	}
	// The refusal does not quote the URL.
	_, err = s.CreateWebhook(ctx, req(func(w *pb.Webhook) { w.Url = "https://10.1.2.3/hook" }))
	if v, ok := domain.AsValidation(err); !ok || strings.Contains(v.Error(), "10.1.2.3") || strings.Contains(v.Violations[0].Description, "10.1.2.3") {
		t.Fatalf("internal address: %v", err)
	}
	// An address on the allow-list is accepted.
	internal, err := egress.Parse("10.1.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	s = NewWebhooks(store, nil, Options{PageTokenKey: []byte("k")}, internal)
	if _, err := s.CreateWebhook(ctx, req(func(w *pb.Webhook) { w.Url = "https://10.1.2.3/hook" })); err != nil {
		t.Fatalf("an allowed internal address: %v", err)
	}
}

func TestWebhookState(t *testing.T) {
	next := time.Now()
	w := &repository.Webhook{ID: uuid1, ConsecutiveFailures: 3, NextAttemptTime: &next, LastError: "HTTP 500", Revision: 1}
	got := convert.WebhookToProto(w)
	if got.GetState() != pb.WebhookState_WEBHOOK_STATE_FAILING || got.GetConsecutiveFailures() != 3 ||
		got.GetNextAttemptTime() == nil || got.GetLastError() != "HTTP 500" {
		t.Fatalf("failing webhook: %v", got)
	}
	w.ConsecutiveFailures = 0
	if got := convert.WebhookToProto(w); got.GetState() != pb.WebhookState_WEBHOOK_STATE_HEALTHY || got.GetNextAttemptTime() != nil {
		t.Fatalf("healthy webhook: %v", got)
	}
	s := NewWebhooks(&fakeWebhooks{}, nil, Options{PageTokenKey: []byte("k")}, egress.Policy{})
	if _, err := s.GetWebhook(context.Background(), &pb.GetWebhookRequest{Name: "webhooks/" + uuid1}); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("GetWebhook of a missing webhook: %v", err)
	}
	if _, err := s.GetWebhook(context.Background(), &pb.GetWebhookRequest{Name: "apiKeys/abc"}); err == nil {
		t.Fatal("a name of another collection was accepted")
	}
}
