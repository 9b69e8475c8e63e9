package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// testCaseNumbers: case numbers stay unique and gap-free when created at
// once, through two servers sharing the database.
func testCaseNumbers(t *testing.T, e *env) {
	g := e.grpcClient(t)
	f := e.family(t, g)

	_, conn2 := e.secondServer(t)
	servers := []pb.CaseServiceClient{pb.NewCaseServiceClient(e.conn), pb.NewCaseServiceClient(conn2)}

	const n = 10
	numbers := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	// A member each: a member has one open case of a kind (OPEN_CASE_PER_KIND).
	subjects := make([]*pb.Member, n)
	for i := range n {
		subjects[i] = e.another(t, g, f)
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cs, err := servers[i%2].CreateCase(ctxFor(t), &pb.CreateCaseRequest{Case: legalAidCase(f, subjects[i])})
			numbers[i], errs[i] = cs.GetCaseNumber(), err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent CreateCase %d: %v", i, err)
		}
	}
	slices.Sort(numbers)
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("FD-2026-%06d", i+1)
	}
	if !slices.Equal(numbers, want) {
		t.Errorf("concurrent case numbers:\n got  %v\n want %v", numbers, want)
	}
	// The next one, over HTTP, follows on.
	next := must(e.httpClient(t).CreateCase(legalAidCase(f, f.child))).ok(t)
	if next.GetCaseNumber() != "FD-2026-000011" {
		t.Errorf("next case number = %s, want FD-2026-000011", next.GetCaseNumber())
	}
}

// testHealth: the HTTP probes, the OpenAPI document, gRPC health and
// reflection.
func testHealth(t *testing.T, e *env) {
	for _, path := range []string{"/healthz", "/readyz"} {
		code, body := e.jsonHTTP(t, "GET", path, "")
		if code != http.StatusOK {
			t.Errorf("GET %s: HTTP %d: %s", path, code, body)
		}
	}
	// The OpenAPI documents: 3.1 at /openapi.json, v2 at /openapi-v2.json.
	for path, version := range map[string]string{"/openapi.json": "openapi", "/openapi-v2.json": "swagger"} {
		code, body := e.jsonHTTP(t, "GET", path, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d", path, code)
		}
		var doc struct {
			OpenAPI string                     `json:"openapi"`
			Swagger string                     `json:"swagger"`
			Paths   map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s is not JSON: %v", path, err)
		}
		if got := map[string]string{"openapi": doc.OpenAPI, "swagger": doc.Swagger}[version]; version == "openapi" && got != "3.1.0" || version == "swagger" && got != "2.0" {
			t.Errorf("%s: %q is %q", path, version, got)
		}
		for _, p := range []string{"/v1/cases", "/v1/households", "/v1/households:lookup", "/v1/cases/{case}:submit"} {
			if _, ok := doc.Paths[p]; !ok {
				t.Errorf("%s has no path %s", path, p)
			}
		}
	}

	r, err := healthpb.NewHealthClient(e.conn).Check(ctxFor(t), &healthpb.HealthCheckRequest{})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health: %v %v, want SERVING", r.GetStatus(), err)
	}
	if got := listServices(t, e.conn); !slices.Contains(got, "casework.v1.CaseService") ||
		!slices.Contains(got, "casework.v1.HouseholdService") || !slices.Contains(got, "grpc.health.v1.Health") {
		t.Errorf("reflection lists %v", got)
	}
}

// listServices asks the reflection service which services the server has.
func listServices(t *testing.T, conn *grpc.ClientConn) []string {
	t.Helper()
	stream, err := reflectpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctxFor(t))
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	if err := stream.Send(&reflectpb.ServerReflectionRequest{
		MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{ListServices: ""},
	}); err != nil {
		t.Fatalf("reflection send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection recv: %v", err)
	}
	_ = stream.CloseSend()
	var out []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		out = append(out, s.GetName())
	}
	return out
}
