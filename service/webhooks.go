package service

import (
	"context"
	"net/url"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/internal/webhook/egress"
	"github.com/fengdu-county/casework/repository"
)

// WebhookStore is what the webhook service needs from storage.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *repository.Webhook, secret string) error
	GetWebhook(ctx context.Context, id string) (*repository.Webhook, error)
	ListWebhooks(ctx context.Context, page repository.Page) ([]repository.Webhook, *repository.Cursor, error)
	DeleteWebhook(ctx context.Context, id string) error
	ListWebhookDeliveries(ctx context.Context, webhookID string, page repository.Page) ([]repository.WebhookDelivery, *repository.Cursor, error)
	EventHead(ctx context.Context) (int64, error)
}

// Webhooks implements pb.WebhookServiceServer. The deliveries themselves
// are the webhook package's dispatcher's work.
type Webhooks struct {
	pb.UnimplementedWebhookServiceServer
	base
	store WebhookStore
	allow egress.Policy
}

// NewWebhooks builds the webhook service. allow is the dispatcher's
// address policy: a URL naming an address it would refuse is refused at
// once, not left to fail at every delivery.
func NewWebhooks(store WebhookStore, v protovalidate.Validator, o Options, allow egress.Policy) *Webhooks {
	return &Webhooks{base: newBase(v, o), store: store, allow: allow}
}

func (s *Webhooks) CreateWebhook(ctx context.Context, req *pb.CreateWebhookRequest) (*pb.Webhook, error) {
	p := req.GetWebhook()
	// protovalidate has checked the form (an https:// URI, the secret's
	// length, the filters); these are the rules it cannot say.
	u, err := url.Parse(p.GetUrl())
	switch {
	case err != nil || u.Scheme != "https" || u.Hostname() == "":
		return nil, domain.Invalid("webhook.url", "must be an https:// URL with a host")
	case u.User != nil:
		return nil, domain.Invalid("webhook.url", "must not carry credentials; receivers authenticate deliveries by their signature")
	case s.allow.CheckHost(u.Hostname()) != nil:
		// In any spelling: "2130706433" or "0x7f.1" is 127.0.0.1 to a resolver.
		return nil, domain.Invalid("webhook.url", "must not name a loopback, private, link-local or other internal address "+
			"unless the server's webhook allow-list lists it")
	}
	if err := checkEventTypes("webhook.event_types", p.GetEventTypes()); err != nil {
		return nil, err
	}
	if after := p.GetStartAfter(); after > 0 {
		head, err := s.store.EventHead(ctx)
		if err != nil {
			return nil, err
		}
		if after > head {
			return nil, domain.Invalid("webhook.start_after", "is past the newest event, position %d", head)
		}
	}
	w := &repository.Webhook{ID: newID()}
	convert.WebhookFromProto(p, w)
	if err := s.store.CreateWebhook(ctx, w, p.GetSecret()); err != nil {
		return nil, err
	}
	return convert.WebhookToProto(w), nil
}

func (s *Webhooks) GetWebhook(ctx context.Context, req *pb.GetWebhookRequest) (*pb.Webhook, error) {
	n, err := nameOf[names.Webhook]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	w, err := s.store.GetWebhook(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	return convert.WebhookToProto(w), nil
}

func (s *Webhooks) ListWebhooks(ctx context.Context, req *pb.ListWebhooksRequest) (*pb.ListWebhooksResponse, error) {
	query := listQuery("webhooks")
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListWebhooks(ctx, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListWebhooksResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Webhooks = append(resp.Webhooks, convert.WebhookToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Webhooks) DeleteWebhook(ctx context.Context, req *pb.DeleteWebhookRequest) (*emptypb.Empty, error) {
	n, err := nameOf[names.Webhook]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteWebhook(ctx, n.ID); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Webhooks) ListWebhookDeliveries(ctx context.Context, req *pb.ListWebhookDeliveriesRequest) (*pb.ListWebhookDeliveriesResponse, error) {
	n, err := nameOf[names.Webhook]("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	// The token is bound to the webhook: it cannot page through another.
	query := listQuery("webhookDeliveries", n.ID)
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListWebhookDeliveries(ctx, n.ID, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListWebhookDeliveriesResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Deliveries = append(resp.Deliveries, convert.DeliveryToProto(&rows[i]))
	}
	return resp, nil
}
