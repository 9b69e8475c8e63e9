package service

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/pagetoken"
	"github.com/fengdu-county/casework/repository"
)

// The per-call work of the case handlers that does not touch the database:
// parsing the list filter, turning a stored row into the API's case (which
// parses the details JSON), storing details, page tokens, and the two wire
// encodings of a case and of a 50-case page. tools/bench measures the same
// calls end to end.

const benchFilter = `town_code = "500230101" AND status = CLOSED AND case_type = SCHOOL_ENROLLMENT`

// benchRow is a closed employment-placement case as the store returns it.
func benchRow(b *testing.B) *repository.Case {
	b.Helper()
	created := time.Date(2025, 3, 4, 9, 30, 0, 123456000, time.UTC)
	submitted, due := created.Add(2*time.Hour), created.Add(90*24*time.Hour)
	resolved := created.Add(40 * 24 * time.Hour)
	row := &repository.Case{
		ID: "019f21e2-ccf9-7159-9fdf-d68b6029ddab", CaseNumber: "FD-2025-004217",
		HouseholdID: "01a22678-7efa-735f-9ea3-5b36a6b619c0", SubjectID: "01a22678-94a7-7d42-9ec6-a018f08288ff",
		Status: "CLOSED", Assignee: "caseworker-101-02", TownCode: "500230101", Priority: 1,
		PriorityReasons: repository.List[domain.Reason]{domain.ReasonBorderCoastalDefence, domain.ReasonHardshipHousehold},
		DueTime:         &due, OutcomeResult: domain.ResultAchieved,
		OutcomeSummary: "已按优待政策办结", Creator: "caseworker-101-02", Revision: 9, CreateTime: created,
		UpdateTime: resolved.Add(72 * time.Hour), SubmitTime: &submitted, ResolveTime: &resolved,
	}
	detail := &pb.EmploymentPlacement{PlacementYear: 2025, Eligible: true,
		Channel: pb.PlacementChannel_PLACEMENT_CHANNEL_STATE_ENTERPRISE, Employer: "国网丰都供电公司", Position: "会计",
		PlacementDate: &date.Date{Year: 2025, Month: 4, Day: 10}}
	if err := convert.StoreDetails(row, "EMPLOYMENT_PLACEMENT", detail); err != nil {
		b.Fatal(err)
	}
	return row
}

func benchCase(b *testing.B) *pb.Case {
	b.Helper()
	c, err := convert.CaseToProto(benchRow(b), nil, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkListFilterParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := filter.Parse(benchFilter, repository.CaseFilter); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCaseToProto(b *testing.B) {
	row := benchRow(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := convert.CaseToProto(row, nil, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreDetails(b *testing.B) {
	row := benchRow(b)
	detail := benchCase(b).GetEmploymentPlacement()
	b.ReportAllocs()
	for b.Loop() {
		if err := convert.StoreDetails(row, "EMPLOYMENT_PLACEMENT", detail); err != nil {
			b.Fatal(err)
		}
	}
}

// gatewayJSON marshals as the server's gateway does (server.httpHandler).
var gatewayJSON = protojson.MarshalOptions{EmitUnpopulated: true}

func BenchmarkCaseJSON(b *testing.B) {
	c := benchCase(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gatewayJSON.Marshal(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCaseProto(b *testing.B) {
	c := benchCase(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(c); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPage(b *testing.B) *pb.ListCasesResponse {
	last := time.Date(2025, 3, 4, 9, 30, 0, 123456000, time.UTC)
	resp := &pb.ListCasesResponse{NextPageToken: pager{codec: pagetoken.NewCodec(bytes.Repeat([]byte{1}, 32))}.encode(
		&repository.Cursor{Time: &last, ID: "019f21e2-ccf9-7159-9fdf-d68b6029ddab"}, listQuery("cases", benchFilter, ""))}
	for range 50 {
		resp.Cases = append(resp.Cases, benchCase(b))
	}
	return resp
}

func BenchmarkListPageJSON(b *testing.B) {
	resp := benchPage(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gatewayJSON.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListPageProto(b *testing.B) {
	resp := benchPage(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPageToken is a list call's token work: decode the token it
// was sent, encode the next one.
func BenchmarkListPageToken(b *testing.B) {
	p := pager{codec: pagetoken.NewCodec(bytes.Repeat([]byte{1}, 32))}
	query := listQuery("cases", benchFilter, "")
	t := time.Date(2025, 3, 4, 9, 30, 0, 123456000, time.UTC)
	tok := p.encode(&repository.Cursor{Time: &t, ID: "019f21e2-ccf9-7159-9fdf-d68b6029ddab"}, query)
	b.ReportAllocs()
	for b.Loop() {
		c, err := p.decode(tok, query)
		if err != nil {
			b.Fatal(err)
		}
		_ = p.encode(c, query)
	}
}
