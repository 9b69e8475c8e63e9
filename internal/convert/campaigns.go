package convert

import (
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

var (
	festivals      = enum[domain.Festival, pb.Festival]{prefix: "FESTIVAL_"}
	campaignStates = enum[domain.CampaignState, pb.CampaignState]{prefix: "CAMPAIGN_STATE_"}
	visitForms     = enum[domain.VisitForm, pb.VisitForm]{prefix: "VISIT_FORM_"}
	targetSources  = enum[domain.TargetSource, pb.TargetSource]{prefix: "TARGET_SOURCE_"}
	addOutcomes    = enum[repository.AddOutcome, pb.AddTargetOutcome]{prefix: "ADD_TARGET_OUTCOME_"}
)

// CampaignToProto renders a campaign.
func CampaignToProto(c *repository.Campaign) *pb.Campaign {
	rule := &pb.TargetRule{Hardship: c.RuleHardship}
	for _, p := range c.RulePostTypes {
		rule.PostTypes = append(rule.PostTypes, postTypes.toProto(p))
	}
	for _, k := range c.RuleCategories {
		rule.Categories = append(rule.Categories, categories.toProto(k))
	}
	return &pb.Campaign{
		Name:        names.Campaign{ID: c.ID}.String(),
		DisplayName: c.DisplayName,
		Festival:    festivals.toProto(c.Festival),
		StartDate:   DateOf(c.StartDate),
		EndDate:     DateOf(c.EndDate),
		TownCodes:   []string(c.TownCodes),
		TargetRule:  rule,
		State:       campaignStates.toProto(c.State),
		TargetCount: int32(c.TargetCount), //nolint:gosec // a count of households
		Creator:     c.Creator,
		CreateTime:  timestamp(c.CreateTime),
		UpdateTime:  timestamp(c.UpdateTime),
		OpenTime:    optTimestamp(c.OpenTime),
		CloseTime:   optTimestamp(c.CloseTime),
		Etag:        repository.Etag(c.Revision),
	}
}

// CampaignFromProto copies a campaign's writable fields onto c; the
// dates are checked by TimeOfDate and refused under prefix.
func CampaignFromProto(prefix string, p *pb.Campaign, c *repository.Campaign) error {
	start, err := TimeOfDate(prefix+".start_date", p.GetStartDate())
	if err != nil {
		return err
	}
	end, err := TimeOfDate(prefix+".end_date", p.GetEndDate())
	if err != nil {
		return err
	}
	c.DisplayName, c.Festival, c.StartDate, c.EndDate = p.GetDisplayName(), festivals.fromProto(p.GetFestival()), start, end
	c.TownCodes = repository.List[string](p.GetTownCodes())
	c.SetRule(TargetRuleOf(p.GetTargetRule()))
	return nil
}

// TargetRuleOf is the domain's rule of a request's.
func TargetRuleOf(p *pb.TargetRule) domain.TargetRule {
	r := domain.TargetRule{Hardship: p.GetHardship()}
	for _, t := range p.GetPostTypes() {
		r.PostTypes = append(r.PostTypes, postTypes.fromProto(t))
	}
	for _, k := range p.GetCategories() {
		r.Categories = append(r.Categories, categories.fromProto(k))
	}
	return r
}

// CampaignTargetToProto renders a target.
func CampaignTargetToProto(t *repository.CampaignTarget) *pb.CampaignTarget {
	out := &pb.CampaignTarget{
		Name:      names.CampaignTarget{CampaignID: t.CampaignID, HouseholdID: t.HouseholdID}.String(),
		Household: names.Household{ID: t.HouseholdID}.String(),
		TownCode:  t.TownCode,
		Source:    targetSources.toProto(t.Source),
		Visited:   t.VisitID != "",
		GapReason: t.GapReason,
		AddTime:   timestamp(t.AddTime),
	}
	if t.VisitID != "" {
		out.Visit = names.Visit{CampaignID: t.CampaignID, ID: t.VisitID}.String()
	}
	return out
}

// VisitToProto renders a visit.
func VisitToProto(v *repository.CampaignVisit) *pb.Visit {
	return &pb.Visit{
		Name:       names.Visit{CampaignID: v.CampaignID, ID: v.ID}.String(),
		Household:  names.Household{ID: v.HouseholdID}.String(),
		VisitDate:  DateOf(v.VisitDate),
		Visitors:   v.Visitors.V,
		Form:       visitForms.toProto(v.Form),
		Goods:      v.Goods,
		MoneyFen:   v.MoneyFen,
		Notes:      v.Notes,
		FollowUp:   v.FollowUp,
		Recorder:   v.Recorder,
		TownCode:   v.TownCode,
		CreateTime: timestamp(v.CreateTime),
	}
}

// VisitFromProto copies a visit's writable fields onto v, but for the
// household, which the caller reads from its name; the date is refused
// under field.
func VisitFromProto(p *pb.Visit, day time.Time, v *repository.CampaignVisit) {
	v.VisitDate = day
	v.Visitors = repository.JSON[[]string]{V: p.GetVisitors()}
	v.Form, v.Goods, v.MoneyFen, v.Notes, v.FollowUp = visitForms.fromProto(p.GetForm()), p.GetGoods(), p.GetMoneyFen(), p.GetNotes(), p.GetFollowUp()
}

// AddOutcomeToProto renders what became of an added target.
func AddOutcomeToProto(o repository.AddOutcome) pb.AddTargetOutcome { return addOutcomes.toProto(o) }

// CoverageToProto renders a campaign's coverage: one entry per town of
// towns (the campaign's towns the caller reaches, so a town with no
// targets shows zeros), and the total.
func CoverageToProto(c *repository.Campaign, townCodes []string, rows []repository.CoverageRow, table *towns.Table) *pb.CampaignCoverage {
	byTown := make(map[string]repository.CoverageRow, len(rows))
	for _, r := range rows {
		byTown[r.TownCode] = r
	}
	out := &pb.CampaignCoverage{Name: names.CampaignCoverage{CampaignID: c.ID}.String(), State: campaignStates.toProto(c.State)}
	var total repository.CoverageRow
	for _, code := range townCodes {
		r := byTown[code]
		r.TownCode = code
		out.Towns = append(out.Towns, coverageCount(r, TownName(table, code)))
		total.Targets += r.Targets
		total.Visited += r.Visited
		total.GapsExplained += r.GapsExplained
	}
	out.Total = coverageCount(total, "")
	return out
}

func coverageCount(r repository.CoverageRow, name string) *pb.CoverageCount {
	return &pb.CoverageCount{
		TownCode: r.TownCode, TownName: name,
		Targets: int32(r.Targets), Visited: int32(r.Visited), NotVisited: int32(r.Targets - r.Visited), //nolint:gosec // counts of households
		ShareBasisPoints: int32(domain.ShareBasisPoints(r.Visited, r.Targets)), //nolint:gosec // at most 10000
		GapsExplained:    int32(r.GapsExplained),                               //nolint:gosec // a count of households
	}
}
