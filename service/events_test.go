package service

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/apierr"
)

// TestEventTypesFromTheContract: the feed's types are the changing
// methods of the feed's services and the server's own, never a read.
func TestEventTypesFromTheContract(t *testing.T) {
	types := EventTypes()
	for _, want := range []string{"CreateHousehold", "UpdateMember", "SubmitCase", "CreateNote", "BatchCreateHouseholds", "Change"} {
		if !slices.Contains(types, want) {
			t.Errorf("event types %v lack %s", types, want)
		}
	}
	for _, read := range []string{"GetCase", "ListHouseholds", "LookupHousehold", "BatchGetCases"} {
		if slices.Contains(types, read) {
			t.Errorf("event types hold the read %s", read)
		}
	}
}

// TestEventTypeTypoIsRefused: a misspelt type is INVALID_ARGUMENT naming
// its position and listing the types, on both methods, before storage is
// asked (the store here is nil).
func TestEventTypeTypoIsRefused(t *testing.T) {
	s := &Events{}
	_, err := s.ListEvents(context.Background(), &pb.ListEventsRequest{EventTypes: []string{"SubmitCase", "SubmitCsae"}})
	st := status.Convert(apierr.ToStatus(err))
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("ListEvents with a typo: %v, want InvalidArgument", err)
	}
	var found bool
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			v := br.GetFieldViolations()[0]
			found = v.GetField() == "event_types[1]" && strings.Contains(v.GetDescription(), "SubmitCase, SupplyMaterials")
		}
	}
	if !found || strings.Contains(st.Message(), "SubmitCsae") {
		t.Errorf("answer %v does not name event_types[1] with the allowed types, or repeats the value", st.Proto())
	}
	if err := s.WatchEvents(&pb.WatchEventsRequest{EventTypes: []string{"Nope"}}, nil); status.Code(apierr.ToStatus(err)) != codes.InvalidArgument {
		t.Errorf("WatchEvents with a typo: %v", err)
	}
}
