package e2e

import (
	"net/url"
	"slices"
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

func (c *client) ListPolicies(req *pb.ListPoliciesRequest) (*pb.ListPoliciesResponse, error) {
	q := pageQuery(req.GetPageSize(), req.GetPageToken())
	if req.GetFilter() != "" {
		q.Set("filter", req.GetFilter())
	}
	out := &pb.ListPoliciesResponse{}
	return out, c.call("PolicyService/ListPolicies", get("policies", q), req, out)
}

func (c *client) GetPolicy(name string) (*pb.Policy, error) {
	out := &pb.Policy{}
	return out, c.call("PolicyService/GetPolicy", get(name, nil), &pb.GetPolicyRequest{Name: name}, out)
}

func (c *client) ListTowns(size int32, token string) (*pb.ListTownsResponse, error) {
	req := &pb.ListTownsRequest{PageSize: size, PageToken: token}
	out := &pb.ListTownsResponse{}
	return out, c.call("TownService/ListTowns", get("towns", pageQuery(size, token)), req, out)
}

// testReference reads the rule table and the towns as the frontend and
// other systems do: every role may, on both transports.
func testReference(t *testing.T, e *env) {
	for _, r := range principal.Roles {
		for _, c := range e.asRole(t, r) {
			t.Run(string(r)+"/"+c.name, func(t *testing.T) {
				c.t = t
				all := must(c.ListPolicies(&pb.ListPoliciesRequest{})).ok(t)
				if len(all.GetPolicies()) != len(domain.Rules) || all.GetNextPageToken() != "" {
					t.Fatalf("ListPolicies: %d policies (next %q), want all %d", len(all.GetPolicies()), all.GetNextPageToken(), len(domain.Rules))
				}
				decision := all.GetPolicies()[slices.IndexFunc(all.GetPolicies(), func(p *pb.Policy) bool { return p.GetId() == "LEGAL_AID_DECISION_7D" })]
				if decision.GetName() != "policies/LEGAL_AID_DECISION_7D" || decision.GetKind() != pb.PolicyKind_POLICY_KIND_DEADLINE ||
					decision.GetSources()[0].GetArticle() != "第43条" || decision.GetSummaryZh() == "" || decision.GetSummaryEn() == "" {
					t.Errorf("LEGAL_AID_DECISION_7D: %v", decision)
				}
				if r != principal.Caseworker {
					return // the rest once is enough
				}
				// Paging through, a few at a time, gives the same table.
				var paged []string
				req := &pb.ListPoliciesRequest{PageSize: 7}
				for {
					resp := must(c.ListPolicies(req)).ok(t)
					for _, p := range resp.GetPolicies() {
						paged = append(paged, p.GetId())
					}
					if resp.GetNextPageToken() == "" {
						break
					}
					req.PageToken = resp.GetNextPageToken()
				}
				var want []string
				for _, r := range domain.Rules {
					want = append(want, string(r.ID))
				}
				if !slices.Equal(paged, want) {
					t.Errorf("paged policies %v, want %v", paged, want)
				}
				// A kind filter, and county policy said as such.
				deadlines := must(c.ListPolicies(&pb.ListPoliciesRequest{Filter: "kind = DEADLINE"})).ok(t)
				county := 0
				for _, p := range deadlines.GetPolicies() {
					if p.GetKind() != pb.PolicyKind_POLICY_KIND_DEADLINE {
						t.Errorf("kind = DEADLINE lists %s of kind %v", p.GetId(), p.GetKind())
					}
					if p.GetSources()[0].GetCountyPolicy() {
						county++
					}
				}
				if county == 0 {
					t.Errorf("no deadline is labelled county policy")
				}
				must(c.ListPolicies(&pb.ListPoliciesRequest{Filter: "kind = SOMETHING"})).fails(t, codes.InvalidArgument)
				got := must(c.GetPolicy("policies/TOWN_CODE")).ok(t)
				if got.GetKind() != pb.PolicyKind_POLICY_KIND_DOCUMENT {
					t.Errorf("GetPolicy(TOWN_CODE) = %v", got)
				}
				must(c.GetPolicy("policies/NO_SUCH_RULE")).fails(t, codes.NotFound)
				must(c.GetPolicy("policies/lower_case")).fails(t, codes.InvalidArgument)

				// The towns: thirty, in code order, with the fixtures' towns.
				var towns []*pb.Town
				token := ""
				for {
					resp := must(c.ListTowns(11, token)).ok(t)
					towns = append(towns, resp.GetTowns()...)
					if token = resp.GetNextPageToken(); token == "" {
						break
					}
				}
				if len(towns) != 30 {
					t.Fatalf("%d towns, want Fengdu's 30", len(towns))
				}
				byCode := map[string]*pb.Town{}
				for i, tw := range towns {
					byCode[tw.GetCode()] = tw
					if i > 0 && towns[i-1].GetCode() >= tw.GetCode() {
						t.Errorf("towns not in code order at %s", tw.GetCode())
					}
				}
				if tw := byCode[townA]; tw.GetDisplayName() != "虎威镇" || tw.GetKind() != pb.TownKind_TOWN_KIND_TOWN || tw.GetName() != "towns/"+townA {
					t.Errorf("town %s: %v", townA, tw)
				}
				if tw := byCode["500230001"]; tw.GetKind() != pb.TownKind_TOWN_KIND_SUB_DISTRICT {
					t.Errorf("三合街道 kind %v", tw.GetKind())
				}
				if c.http {
					// A page token is bound to its list.
					first := must(c.ListTowns(5, "")).ok(t)
					code, _ := e.jsonHTTP(t, "GET", "/v1/policies?pageToken="+url.QueryEscape(first.GetNextPageToken())+"&pageSize="+strconv.Itoa(5), "")
					if code != 400 {
						t.Errorf("a towns page token on the policies list: HTTP %d, want 400", code)
					}
				}
			})
		}
	}
}
