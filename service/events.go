package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/repository"
)

// EventStore is what the change feed needs from storage.
type EventStore interface {
	ListEvents(ctx context.Context, q repository.EventQuery) ([]repository.EventRecord, int64, error)
	EventHead(ctx context.Context) (int64, error)
}

// Events implements pb.EventServiceServer.
type Events struct {
	pb.UnimplementedEventServiceServer
	base
	store EventStore
	poll  time.Duration
	// stopping ends every watch, so a server can stop without waiting for
	// clients that would follow it forever.
	stopping chan struct{}
}

// WatchStartHeader is the response header of WatchEvents naming the
// position the watch starts after.
const WatchStartHeader = "watch-start-after"

// watchBatch is how many events a watch reads per query.
const watchBatch = 500

// NewEvents builds the event service. A watch that has caught up looks for
// new events every poll: writers may be other servers, so the database,
// not this process, is the one place that knows.
func NewEvents(store EventStore, v protovalidate.Validator, poll time.Duration, o Options) *Events {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	return &Events{base: newBase(v, o), store: store, poll: poll, stopping: make(chan struct{})}
}

// Stop ends every watch with UNAVAILABLE, telling clients to resume
// elsewhere from their last position.
func (s *Events) Stop() {
	select {
	case <-s.stopping:
	default:
		close(s.stopping)
	}
}

var errWatchStopping = apierr.New(codes.Unavailable, pb.ErrorReason_SERVER_STOPPING, "the server is stopping; resume from your last position")

// positionAheadError: a client asked for a position the feed has not
// reached, as after a restore from an older backup.
type positionAheadError struct{ head int64 }

// The message gives the head, which is the server's, and not the position
// asked for, which is the client's number and is never repeated.
// GRPCStatus answers it as OUT_OF_RANGE.
func (e *positionAheadError) GRPCStatus() *status.Status {
	return apierr.Status(codes.OutOfRange, pb.ErrorReason_POSITION_AHEAD, e.Error())
}

func (e *positionAheadError) Error() string {
	return fmt.Sprintf("the position asked for is beyond the newest event (%d); resynchronise: read the resources again, then follow from %d", e.head, e.head)
}

func (s *Events) ListEvents(ctx context.Context, req *pb.ListEventsRequest) (*pb.ListEventsResponse, error) {
	if err := checkEventTypes("event_types", req.GetEventTypes()); err != nil {
		return nil, err
	}
	head, err := s.store.EventHead(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetAfter() > head {
		return nil, &positionAheadError{head}
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	rows, next, err := s.store.ListEvents(ctx, repository.EventQuery{
		After: req.GetAfter(), Limit: size, ResourceTypes: req.GetResourceTypes(), EventTypes: req.GetEventTypes(),
	})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListEventsResponse{NextAfter: next, HeadPosition: max(head, next)}
	for i := range rows {
		resp.Events = append(resp.Events, convert.EventToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Events) WatchEvents(req *pb.WatchEventsRequest, stream pb.EventService_WatchEventsServer) error {
	if err := checkEventTypes("event_types", req.GetEventTypes()); err != nil {
		return err
	}
	ctx := stream.Context()
	head, err := s.store.EventHead(ctx)
	if err != nil {
		return err
	}
	after := req.GetAfter()
	switch {
	case req.GetFromNow():
		after = head
	case after > head:
		return &positionAheadError{head}
	}
	// The header tells the client where the watch starts, which from_now
	// leaves it no other way to know; once it has the header, no event it
	// would miss can commit.
	if err := stream.SendHeader(metadata.Pairs(WatchStartHeader, strconv.FormatInt(after, 10))); err != nil {
		return err
	}
	q := repository.EventQuery{Limit: watchBatch, ResourceTypes: req.GetResourceTypes(), EventTypes: req.GetEventTypes()}
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		q.After = after
		rows, next, err := s.store.ListEvents(ctx, q)
		if err != nil {
			return err
		}
		for i := range rows {
			if err := stream.Send(convert.EventToProto(&rows[i])); err != nil {
				return err
			}
		}
		if next != after {
			after = next // there may be more
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stopping:
			return errWatchStopping
		case <-tick.C:
		}
	}
}

// feedServices are the services whose methods change the resources the
// feed carries (households, members, cases, notes, campaigns, visits,
// contacts, assistance, contactPolicy, organizations, measures, reviews,
// complaints, recruitment events, invitations and applications).
var feedServices = []protoreflect.ServiceDescriptor{
	pb.File_casework_v1_household_proto.Services().ByName("HouseholdService"),
	pb.File_casework_v1_case_proto.Services().ByName("CaseService"),
	pb.File_casework_v1_campaign_proto.Services().ByName("CampaignService"),
	pb.File_casework_v1_ledger_proto.Services().ByName("LedgerService"),
	pb.File_casework_v1_measure_proto.Services().ByName("MeasureService"),
	pb.File_casework_v1_recruitment_proto.Services().ByName("RecruitmentService"),
}

// EventTypes lists every Event.type the feed can hold, sorted: the
// methods of the feed's services that change something (those bound to an
// HTTP verb other than GET, except the reads AIP-131/231 name by verb:
// lookups and batch reads sent as POST) and the server's own changes. It is
// read from the contract, so a new method is a new type without a second
// list.
var EventTypes = sync.OnceValue(func() []string {
	types := []string{repository.EventTypeServer}
	for _, svc := range feedServices {
		methods := svc.Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule != nil && rule.GetGet() == "" && !isRead(string(m.Name())) {
				types = append(types, string(m.Name()))
			}
		}
	}
	slices.Sort(types)
	return types
})

// readVerbs begin the names of methods that read, whatever HTTP verb
// carries them.
var readVerbs = []string{"Get", "List", "Lookup", "BatchGet", "BatchLookup", "Watch"}

func isRead(method string) bool {
	return slices.ContainsFunc(readVerbs, func(v string) bool { return strings.HasPrefix(method, v) })
}

// checkEventTypes refuses an event type the feed never holds, which would
// otherwise filter every event out and look like a quiet feed (or a
// webhook that never delivers); field names the list. The value
// is named by its position, not repeated.
func checkEventTypes(field string, types []string) error {
	var vs []domain.Violation
	for i, t := range types {
		if !slices.Contains(EventTypes(), t) {
			vs = append(vs, domain.Violation{Field: fmt.Sprintf("%s[%d]", field, i),
				Description: "is not an event type; the feed's types are " + strings.Join(EventTypes(), ", ")})
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return &domain.ValidationError{Violations: vs}
}
