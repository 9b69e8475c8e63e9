package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// testTextCharacters: NUL, the other control characters and the bidi
// controls that reorder the text after them are refused in every text
// field, on both transports and both databases, before anything is
// written; the refusal names the field and does not repeat the value.
func testTextCharacters(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		f := e.family(t, c)
		cs := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
		households := func() int {
			return len(must(c.ListHouseholds(&pb.ListHouseholdsRequest{PageSize: 500})).ok(t).GetHouseholds())
		}
		members := func() int { return len(must(c.ListMembers(f.household.GetName())).ok(t).GetMembers()) }
		notes := func() int { return len(must(c.ListNotes(cs.GetName())).ok(t).GetNotes()) }
		refused := func(t *testing.T, err error, field, value string) {
			t.Helper()
			st := wantStatus(t, err, codes.InvalidArgument)
			wantViolation(t, st, field)
			if js, _ := protojson.Marshal(st.Proto()); strings.Contains(string(js), value) || strings.Contains(st.Message(), value) {
				t.Errorf("the refusal repeats the value: %s", js)
			}
		}
		nh, nm, nn := households(), members(), notes()

		for _, name := range []string{"张\x00伟", "张伟\x1b[2J", "张\x7f伟", "张\u0085伟", "\u202e伟张", "张\u2066伟\u2069"} {
			_, err := c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = name }))
			refused(t, err, "household.servicemember.name", name)
		}
		_, err := c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Address = "名山街道\x00 1 号" }))
		refused(t, err, "household.address", "名山街道\x00 1 号")
		for _, body := range []string{"已电话告知\u202e家属", "已电话\x00告知", "告知\u2068家属"} {
			_, err := c.CreateNote(cs.GetName(), body)
			refused(t, err, "note.body", body)
		}
		for _, name := range []string{"王\x07芳", "王芳\x00", "王\u009b芳"} {
			_, err := c.CreateMember(f.household.GetName(), e.newMember(pb.Relation_RELATION_MOTHER, name, day(1964, 5, 6)))
			refused(t, err, "member.display_name", name)
		}
		// An update is refused the same way and changes nothing.
		cur := must(c.GetHousehold(f.household.GetName())).ok(t)
		cur.Address = "名山街道\u202d 2 号"
		_, err = c.UpdateHousehold(cur, "address")
		refused(t, err, "household.address", "名山街道\u202d 2 号")
		if got := must(c.GetHousehold(f.household.GetName())).ok(t); got.GetEtag() != cur.GetEtag() {
			t.Errorf("a refused update changed the household: etag %s → %s", cur.GetEtag(), got.GetEtag())
		}

		if h, m, n := households(), members(), notes(); h != nh || m != nm || n != nn {
			t.Errorf("after refused requests: %d households, %d members, %d notes; want %d, %d, %d", h, m, n, nh, nm, nn)
		}

		// Tabs, line breaks and the left-to-right and right-to-left marks
		// (which only mark direction and reorder nothing) are text.
		must(c.CreateNote(cs.GetName(), "第一行\r\n第二行\t完\u200e\u200f")).ok(t)
		if n := notes(); n != nn+1 {
			t.Errorf("%d notes after an accepted one, want %d", n, nn+1)
		}
	})

	t.Run("watch", func(t *testing.T) {
		// Streams pass no validating interceptor; WatchEvents checks by hand.
		stream, err := pb.NewEventServiceClient(e.conn).WatchEvents(ctxFor(t), &pb.WatchEventsRequest{ResourceTypes: []string{"cases\x00"}})
		if err == nil {
			_, err = stream.Recv()
		}
		// resource_types has its own rule (a list of names); the refusal must
		// be the character check's, made before that rule is consulted.
		st := wantStatus(t, err, codes.InvalidArgument)
		wantViolation(t, st, "resource_types[0]")
		if !strings.Contains(fmt.Sprint(st.Proto().GetDetails()), "control characters") {
			t.Errorf("WatchEvents refusal is not the character check's: %v", st.Proto().GetDetails())
		}
	})

	t.Run("batch", func(t *testing.T) {
		before := e.countHouseholds(t)
		good, bad := e.newHousehold(), e.newHousehold(func(h *pb.Household) { h.Servicemember.Name = "张\u2067伟" })
		hs := pb.NewHouseholdServiceClient(e.conn)
		_, err := hs.BatchCreateHouseholds(ctxFor(t), &pb.BatchCreateHouseholdsRequest{
			Requests: []*pb.CreateHouseholdRequest{{Household: good}, {Household: bad}}})
		wantViolation(t, wantStatus(t, err, codes.InvalidArgument), "requests[1].household.servicemember.name")
		body := fmt.Sprintf(`{"requests":[{"household":%s},{"household":%s}]}`, mustJSON(t, good), mustJSON(t, bad))
		code, out := e.jsonHTTP(t, "POST", "/v1/households:batchCreate", body)
		if code != http.StatusBadRequest {
			t.Fatalf("JSON batch with a bidi isolate: HTTP %d: %s", code, out)
		}
		o := decodeJSON(t, out)
		if !strings.Contains(fmt.Sprint(o["details"]), "requests[1].household.servicemember.name") {
			t.Errorf("JSON batch refusal does not name requests[1].household.servicemember.name: %s", out)
		}
		if n := e.countHouseholds(t); n != before {
			t.Errorf("%d households after refused batches, want %d", n, before)
		}
	})
}

// mustJSON is m in the proto JSON mapping, for hand-built request bodies.
func mustJSON(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
