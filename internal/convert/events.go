package convert

import (
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// EventToProto renders a stored event: the change feed returns it and
// webhooks post it, so both say the same.
func EventToProto(r *repository.EventRecord) *pb.Event {
	return &pb.Event{
		Position: r.Position, Time: timestamp(r.Time), Type: r.Type,
		Resource: r.Resource, ResourceType: r.ResourceType, Etag: r.Etag, ChangedFields: slices.Clone(r.ChangedFields),
	}
}

// WebhookToProto renders a webhook. The secret is never part of it: the row
// holds it sealed, and nothing here opens it.
func WebhookToProto(w *repository.Webhook) *pb.Webhook {
	out := &pb.Webhook{
		Name: names.Webhook{ID: w.ID}.String(), DisplayName: w.DisplayName, Url: w.URL,
		ResourceTypes: slices.Clone(w.ResourceTypes), EventTypes: slices.Clone(w.EventTypes),
		DeliveredPosition: w.DeliveredPosition, State: pb.WebhookState_WEBHOOK_STATE_HEALTHY,
		ConsecutiveFailures: int32(w.ConsecutiveFailures),
		LastSuccessTime:     optTimestamp(w.LastSuccessTime), LastFailureTime: optTimestamp(w.LastFailureTime),
		LastError: w.LastError, CreateTime: timestamp(w.CreateTime), Etag: repository.Etag(w.Revision),
	}
	if w.ConsecutiveFailures > 0 {
		out.State = pb.WebhookState_WEBHOOK_STATE_FAILING
		out.NextAttemptTime = optTimestamp(w.NextAttemptTime)
	}
	return out
}

// WebhookFromProto copies the writable fields of p onto w. The secret goes
// to the store separately, to be sealed; start_after is where deliveries
// start, which the row keeps as the position delivered.
func WebhookFromProto(p *pb.Webhook, w *repository.Webhook) {
	w.DisplayName, w.URL = p.GetDisplayName(), p.GetUrl()
	w.ResourceTypes, w.EventTypes = slices.Clone(p.GetResourceTypes()), slices.Clone(p.GetEventTypes())
	w.DeliveredPosition = p.GetStartAfter()
}

// DeliveryToProto renders one attempt to deliver an event to a webhook.
func DeliveryToProto(d *repository.WebhookDelivery) *pb.WebhookDelivery {
	return &pb.WebhookDelivery{
		Name:     names.Delivery{WebhookID: d.WebhookID, ID: d.ID}.String(),
		Position: d.Position, EventType: d.EventType, Resource: d.Resource, Attempt: int32(d.Attempt),
		Time: timestamp(d.Time), HttpStatus: int32(d.HTTPStatus), Success: d.Success, Error: d.Error,
		Duration: durationpb.New(time.Duration(d.DurationMS) * time.Millisecond),
	}
}
