package service

import (
	"context"
	"slices"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// Reference implements pb.PolicyServiceServer and pb.TownServiceServer: the
// rule table and the county's towns, as the server applies them. Both are
// in memory; nothing here touches storage.
type Reference struct {
	pb.UnimplementedPolicyServiceServer
	pb.UnimplementedTownServiceServer
	base
	towns *towns.Table
}

// NewReference builds the reference services over the county's towns.
func NewReference(t *towns.Table, v protovalidate.Validator, o Options) *Reference {
	if t == nil {
		t = towns.Default()
	}
	return &Reference{base: newBase(v, o), towns: t}
}

// policyFilter is the schema of ListPolicies filters.
var policyFilter = filter.Schema{
	"kind": {Kind: filter.KindEnum, Prefix: "POLICY_KIND_", Values: ruleKindNames()},
}

func ruleKindNames() []string {
	var out []string
	for _, k := range domain.RuleKinds() {
		out = append(out, string(k))
	}
	return out
}

func (s *Reference) ListPolicies(_ context.Context, req *pb.ListPoliciesRequest) (*pb.ListPoliciesResponse, error) {
	f, err := filter.Parse(req.GetFilter(), policyFilter)
	if err != nil {
		return nil, filterError(err)
	}
	var rows []domain.Rule
	for _, r := range domain.Rules {
		if matches(f, map[string]string{"kind": string(r.Kind)}) {
			rows = append(rows, r)
		}
	}
	query := listQuery("policies", req.GetFilter())
	page, next, err := slicePage(s.pages, rows, func(r domain.Rule) string { return string(r.ID) }, int(req.GetPageSize()), req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListPoliciesResponse{NextPageToken: next}
	for _, r := range page {
		resp.Policies = append(resp.Policies, convert.PolicyToProto(r))
	}
	return resp, nil
}

func (s *Reference) GetPolicy(_ context.Context, req *pb.GetPolicyRequest) (*pb.Policy, error) {
	n, err := nameOf[names.Policy]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	r, ok := domain.RuleByID(domain.RuleID(n.ID))
	if !ok {
		return nil, repository.ErrNotFound
	}
	return convert.PolicyToProto(r), nil
}

func (s *Reference) ListTowns(_ context.Context, req *pb.ListTownsRequest) (*pb.ListTownsResponse, error) {
	page, next, err := slicePage(s.pages, s.towns.List(), func(t towns.Town) string { return t.Code }, int(req.GetPageSize()),
		req.GetPageToken(), listQuery("towns"))
	if err != nil {
		return nil, err
	}
	resp := &pb.ListTownsResponse{NextPageToken: next}
	for _, t := range page {
		resp.Towns = append(resp.Towns, convert.TownToProto(t))
	}
	return resp, nil
}

// matches reports whether a row's field values satisfy every condition of
// f: the in-memory counterpart of the repository's filters, for the small
// tables served from memory. The reference schemas allow only equality.
func matches(f filter.Filter, values map[string]string) bool {
	for _, c := range f.Conditions {
		if values[c.Field] != c.Value {
			return false
		}
	}
	return true
}

// slicePage pages through rows held in memory, in their order, with the
// same signed page tokens as stored lists. A page size of 0 means all.
func slicePage[T any](p pager, rows []T, key func(T) string, size int, token, query string) ([]T, string, error) {
	after, err := p.decode(token, query)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if after != nil {
		i := slices.IndexFunc(rows, func(r T) bool { return key(r) == after.ID })
		if i < 0 {
			// The table changed under the token (a replaced towns file).
			return nil, "", domain.Invalid("page_token", "is no longer valid: list again from the first page")
		}
		start = i + 1
	}
	if size <= 0 {
		size = len(rows)
	}
	end := min(start+size, len(rows))
	var next string
	if end < len(rows) {
		next = p.encode(&repository.Cursor{ID: key(rows[end-1])}, query)
	}
	return rows[start:end], next, nil
}
