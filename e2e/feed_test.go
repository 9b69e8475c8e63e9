package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// listEventsHTTP polls the feed as a batch job does.
func (e *env) listEventsHTTP(t *testing.T, query string) (int, *pb.ListEventsResponse, []byte) {
	t.Helper()
	code, body := e.jsonHTTP(t, "GET", "/v1/events?"+query, "")
	out := &pb.ListEventsResponse{}
	if code == 200 {
		if err := decodeHTTP(t, code, body, out); err != nil {
			t.Fatal(err)
		}
	}
	return code, out, body
}

func testFeed(t *testing.T, e *env) {
	g := e.grpcClient(t)
	f := e.family(t, g)
	cs := must(g.CreateCase(schoolCase(f))).ok(t)
	must(g.Submit(cs.GetName(), cs.GetEtag())).ok(t)

	// Polled over JSON two at a time: 1 household + 3 members + 1 case + 1
	// submit, positions 1..6 without a gap, in commit order.
	var got []*pb.Event
	after := int64(0)
	for {
		code, page, body := e.listEventsHTTP(t, fmt.Sprintf("after=%d&pageSize=2", after))
		if code != 200 {
			t.Fatalf("GET /v1/events: %d %s", code, body)
		}
		got = append(got, page.GetEvents()...)
		if page.GetNextAfter() == after {
			if page.GetHeadPosition() != after {
				t.Errorf("caught up at %d but head is %d", after, page.GetHeadPosition())
			}
			break
		}
		after = page.GetNextAfter()
	}
	wantTypes := []string{"CreateHousehold", "CreateMember", "CreateMember", "CreateMember", "CreateCase", "SubmitCase"}
	if len(got) != len(wantTypes) {
		t.Fatalf("%d events, want %d: %v", len(got), len(wantTypes), got)
	}
	for i, ev := range got {
		if ev.GetPosition() != int64(i+1) || ev.GetType() != wantTypes[i] {
			t.Errorf("event %d = #%d %s, want #%d %s", i, ev.GetPosition(), ev.GetType(), i+1, wantTypes[i])
		}
	}
	if last := got[5]; last.GetResource() != cs.GetName() || last.GetResourceType() != "cases" ||
		!strings.Contains(strings.Join(last.GetChangedFields(), ","), "status") {
		t.Errorf("submit event = %v", last)
	}
	if got[0].GetEtag() != "v1" || got[0].GetChangedFields()[0] != "created" {
		t.Errorf("create event = %v", got[0])
	}

	// Filters: only cases; filtered-out events still advance next_after.
	_, page, _ := e.listEventsHTTP(t, "after=0&resourceTypes=cases")
	if len(page.GetEvents()) != 2 || page.GetNextAfter() != 6 {
		t.Errorf("cases only: %d events, next %d; want 2, 6", len(page.GetEvents()), page.GetNextAfter())
	}
	_, page, _ = e.listEventsHTTP(t, "after=0&eventTypes=CreateMember")
	if len(page.GetEvents()) != 3 {
		t.Errorf("CreateMember only: %d events, want 3", len(page.GetEvents()))
	}
	if code, _, _ := e.listEventsHTTP(t, "after=0&resourceTypes=apiKeys"); code != 400 {
		t.Errorf("unknown resource type: %d, want 400", code)
	}
	if code, _, _ := e.listEventsHTTP(t, "after=99"); code != 400 {
		t.Errorf("a position beyond the head: %d, want 400 (OUT_OF_RANGE)", code)
	}

	// Watch over gRPC: history after 4, then a live change.
	events := pb.NewEventServiceClient(e.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := events.WatchEvents(ctx, &pb.WatchEventsRequest{After: 4})
	if err != nil {
		t.Fatal(err)
	}
	for want := int64(5); want <= 6; want++ {
		ev, err := stream.Recv()
		if err != nil || ev.GetPosition() != want {
			t.Fatalf("watch: %v, %v; want position %d", ev, err, want)
		}
	}
	live, err := events.WatchEvents(ctx, &pb.WatchEventsRequest{FromNow: true, ResourceTypes: []string{"notes"}})
	if err != nil {
		t.Fatal(err)
	}
	// The header comes once the server has fixed where "now" is.
	if hdr, err := live.Header(); err != nil || len(hdr.Get("watch-start-after")) != 1 || hdr.Get("watch-start-after")[0] != "6" {
		t.Fatalf("watch header = %v, %v; want watch-start-after 6", hdr, err)
	}
	note := must(g.CreateNote(cs.GetName(), "家长来电")).ok(t)
	for _, s := range []pb.EventService_WatchEventsClient{stream, live} {
		ev, err := s.Recv()
		if err != nil || ev.GetPosition() != 7 || ev.GetResource() != note.GetName() || ev.GetType() != "CreateNote" {
			t.Errorf("live event = %v, %v; want #7 CreateNote %s", ev, err, note.GetName())
		}
	}

	// The feed is county-wide: a credential limited to some towns may not
	// follow it, though its role may.
	townBatch := e.token(t, "town-batch", []principal.Role{principal.Batch}, townA)
	for _, c := range e.clientsAs(t, townBatch) {
		_, err := c.ListEvents(0)
		wantStatus(t, err, codes.PermissionDenied, "county-wide")
	}
	scoped, err := pb.NewEventServiceClient(e.dial(t, townBatch)).WatchEvents(ctx, &pb.WatchEventsRequest{})
	if err == nil {
		_, err = scoped.Recv()
	}
	wantStatus(t, err, codes.PermissionDenied)

	// Retention: once events 1..7 are older than retention and pruned, a
	// client behind them is told to resynchronise; 0 still means "from the
	// oldest kept".
	e.clock.Advance(40 * 24 * time.Hour)
	must(g.CreateNote(cs.GetName(), "四十天后")).ok(t)
	if n, err := e.db.Store().PruneEvents(context.Background(), e.clock.Now().Add(-30*24*time.Hour)); err != nil || n != 7 {
		t.Fatalf("PruneEvents = %d, %v; want 7", n, err)
	}
	code, _, body := e.listEventsHTTP(t, "after=3")
	if code != 400 || !strings.Contains(string(body), "EVENTS_PRUNED") || !strings.Contains(string(body), "resynchronise") {
		t.Errorf("after a pruned position: %d %s; want 400 EVENTS_PRUNED telling to resynchronise", code, body)
	}
	old, err := events.WatchEvents(ctx, &pb.WatchEventsRequest{After: 3})
	if err == nil {
		_, err = old.Recv()
	}
	wantStatus(t, err, codes.FailedPrecondition, "resynchronise")
	_, page, _ = e.listEventsHTTP(t, "after=0")
	if len(page.GetEvents()) != 1 || page.GetEvents()[0].GetPosition() != 8 {
		t.Errorf("after=0 once pruned: %v, want only #8", page.GetEvents())
	}

	// No value of a household or case is in the feed: only names.
	_, _, raw := e.listEventsHTTP(t, "after=7")
	for _, secret := range []string{f.household.GetServicemember().GetIdNumber(), "四十天后", "家长来电"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the feed holds a value: %s", raw)
		}
	}
}

// ListEvents calls EventService.ListEvents over the client's transport.
func (c *client) ListEvents(after int64) (*pb.ListEventsResponse, error) {
	out := &pb.ListEventsResponse{}
	return out, c.call("EventService/ListEvents", get("events", map[string][]string{"after": {fmt.Sprint(after)}}),
		&pb.ListEventsRequest{After: after}, out)
}

// testFeedResume is the integration contract: a consumer killed and
// restarted at random points, resuming from the last position it handled,
// receives every event exactly once, in order, while writers change data on
// two servers at once.
func testFeedResume(t *testing.T, e *env) {
	_, conn2 := e.secondServer(t)
	servers := []*grpc.ClientConn{e.conn, conn2}

	const writers, perWriter = 4, 8
	var wg sync.WaitGroup
	writeErr := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hs := pb.NewHouseholdServiceClient(servers[w%2])
			for range perWriter {
				if _, err := hs.CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{Household: e.newHousehold()}); err != nil {
					writeErr <- err
					return
				}
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var seen []int64
	last := int64(0)
	done := false
	for restarts := 0; !done; restarts++ {
		if restarts > 500 {
			t.Fatalf("no progress after %d restarts; seen %d events", restarts, len(seen))
		}
		// A fresh consumer process: it knows only the last position it
		// stored, and takes a random server.
		ctx, kill := context.WithCancel(context.Background())
		stream, err := pb.NewEventServiceClient(servers[rng.IntN(2)]).WatchEvents(ctx, &pb.WatchEventsRequest{After: last})
		if err != nil {
			kill()
			t.Fatalf("watch after %d: %v", last, err)
		}
		budget := 1 + rng.IntN(6) // it dies after this many events
		for budget > 0 {
			ev, err := recvWithin(stream, 2*time.Second)
			if errors.Is(err, errQuiet) {
				select {
				case <-writersDone:
					done = true
				default:
				}
				break
			}
			if err != nil {
				kill()
				t.Fatalf("watch after %d: %v", last, err)
			}
			seen = append(seen, ev.GetPosition())
			last = ev.GetPosition()
			budget--
		}
		kill()
	}
	close(writeErr)
	for err := range writeErr {
		t.Fatalf("writer: %v", err)
	}
	total := int64(writers * perWriter)
	if int64(len(seen)) != total {
		t.Fatalf("consumer saw %d events, want %d", len(seen), total)
	}
	for i, p := range seen {
		if p != int64(i+1) {
			t.Fatalf("event %d has position %d: each event exactly once, in order", i, p)
		}
	}
}

var errQuiet = errors.New("no event within the wait")

// recvWithin receives the next event, or errQuiet if none comes in d.
func recvWithin(s pb.EventService_WatchEventsClient, d time.Duration) (*pb.Event, error) {
	type result struct {
		ev  *pb.Event
		err error
	}
	ch := make(chan result, 1)
	go func() { ev, err := s.Recv(); ch <- result{ev, err} }()
	select {
	case r := <-ch:
		if errors.Is(r.err, io.EOF) {
			return nil, errors.New("stream ended")
		}
		return r.ev, r.err
	case <-time.After(d):
		return nil, errQuiet
	}
}
