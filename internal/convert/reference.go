package convert

import (
	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/names"
)

// The rule table and the towns are served from memory, not stored, but
// their kinds map to the API's enums as stored enumerations do, and are
// held to them by the same test.
var (
	ruleKinds = enum[domain.RuleKind, pb.PolicyKind]{prefix: "POLICY_KIND_"}
	townKinds = enum[towns.Kind, pb.TownKind]{prefix: "TOWN_KIND_"}
)

// PolicyToProto renders a rule of the table with its sources.
func PolicyToProto(r domain.Rule) *pb.Policy {
	out := &pb.Policy{
		Name: names.Policy{ID: string(r.ID)}.String(), Id: string(r.ID),
		Kind:      ruleKinds.toProto(r.Kind),
		SummaryZh: r.Zh, SummaryEn: r.En,
	}
	for _, src := range r.Sources {
		out.Sources = append(out.Sources, &pb.PolicySource{
			Law: src.Law, Article: src.Article, Paragraph: src.Paragraph, Note: src.Note,
			CountyPolicy: src.Law == domain.CountyPolicy,
		})
	}
	return out
}

// TownToProto renders a town of the county.
func TownToProto(t towns.Town) *pb.Town {
	return &pb.Town{
		Name: names.Town{Code: t.Code}.String(), Code: t.Code, DisplayName: t.Name,
		Kind: townKinds.toProto(t.Kind()),
	}
}
