package service

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
)

func TestCheckTextNamesEveryFieldByPath(t *testing.T) {
	req := &pb.BatchCreateHouseholdsRequest{
		RequestId: "nightly\x00",
		Requests: []*pb.CreateHouseholdRequest{
			{Household: &pb.Household{Servicemember: &pb.Servicemember{Name: "张伟"}, Address: "名山街道 1 号\n二楼"}},
			{Household: &pb.Household{Servicemember: &pb.Servicemember{Name: "\u202e伟张"}, Address: "a\x1bb"}},
		},
	}
	err := CheckText(req)
	v, ok := domain.AsValidation(err)
	if !ok {
		t.Fatalf("CheckText = %v, want a ValidationError", err)
	}
	var fields []string
	for _, x := range v.Violations {
		fields = append(fields, x.Field)
		if strings.Contains(x.Description, "伟") || strings.Contains(x.Description, "nightly") {
			t.Errorf("%s: description %q repeats the value", x.Field, x.Description)
		}
	}
	want := []string{"requests[1].household.servicemember.name", "requests[1].household.address", "request_id"}
	if !slices.Equal(fields, want) {
		t.Errorf("violations name %q, want %q", fields, want)
	}

	names := &pb.BatchGetHouseholdsRequest{Names: []string{"households/a", "households/b\u2066"}}
	if v, ok := domain.AsValidation(CheckText(names)); !ok || len(v.Violations) != 1 || v.Violations[0].Field != "names[1]" {
		t.Errorf("repeated string: %v, want one violation on names[1]", v)
	}

	// Map keys and values: the path names the map, never the key.
	s, _ := structpb.NewStruct(map[string]any{"ok": "fine", "bad\x00key": "x", "nested": map[string]any{"v": "a\u0085"}})
	v, ok = domain.AsValidation(CheckText(s))
	if !ok || len(v.Violations) != 2 {
		t.Fatalf("struct: %v, want two violations", v)
	}
	for _, x := range v.Violations {
		if strings.Contains(x.Field, "bad") || !strings.HasPrefix(x.Field, "fields") {
			t.Errorf("map violation named %q", x.Field)
		}
	}

	clean := &pb.CreateNoteRequest{Parent: "cases/x", Note: &pb.Note{Body: "第一行\r\n第二行\t\u200f"}}
	if err := CheckText(clean); err != nil {
		t.Errorf("clean request refused: %v", err)
	}
}
