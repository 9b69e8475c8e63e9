package convert

import (
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// StatisticsToProto renders a report's figures for the period and town
// asked, computed at now, naming towns from table (nil: the shipped one).
func StatisticsToProto(st *repository.Statistics, q repository.StatisticsQuery, table *towns.Table) *pb.CaseStatistics {
	last := q.Period.End.Add(-time.Nanosecond).In(domain.ChinaTime)
	out := &pb.CaseStatistics{
		Name:        names.CaseStatistics{}.String(),
		StartDate:   DateOf(q.Period.Start.In(domain.ChinaTime)),
		EndDate:     DateOf(last),
		TownCode:    q.Town,
		TownName:    TownName(table, q.Town),
		ComputeTime: timestamp(q.Now),
		Placement: &pb.PlacementRate{Year: int32(q.Period.Year()), Eligible: st.Eligible, Placed: st.Placed,
			RateBasisPoints: domain.BasisPoints(st.Placed, st.Eligible)},
		LegalAid: &pb.LegalAidStatistics{Decisions: st.Decisions, DecisionsWithinTerm: st.DecisionsMet,
			WithinTermBasisPoints: domain.BasisPoints(st.DecisionsMet, st.Decisions)},
		Resolution: resolutionTimes(st.ResolutionDays),
		Current:    &pb.CurrentLoad{Overdue: st.Overdue, OnHold: st.OnHold},
	}
	for _, r := range st.Outcomes {
		o := &pb.OutcomeCount{TownCode: r.TownCode, TownName: TownName(table, r.TownCode), CaseType: kinds.toProto(r.Kind),
			Status: statuses.toProto(r.Status), Result: results.toProto(r.Result), Count: r.Count}
		out.Outcomes = append(out.Outcomes, o)
		if r.Kind == domain.KindLegalAid {
			out.LegalAid.Outcomes = append(out.LegalAid.Outcomes, o)
		}
	}
	for _, r := range st.SchoolPlaces {
		out.SchoolPlaces = append(out.SchoolPlaces, &pb.SchoolPlaces{
			SchoolStage:   pb.SchoolStage(pb.SchoolStage_value[r.SchoolStage]),
			PriorityBasis: pb.EnrollmentPriorityBasis(pb.EnrollmentPriorityBasis_value[r.PriorityBasis]),
			Count:         r.Count})
	}
	for _, r := range st.Referrals {
		median, p90 := percentiles(r.ReplyDays)
		out.Referrals = append(out.Referrals, &pb.ReferralStatistics{Agency: names.Agency{ID: r.AgencyID}.String(),
			Sent: r.Sent, Replied: r.Replied, Overdue: r.Overdue, MedianReplyDays: median, P90ReplyDays: p90})
	}
	return out
}

func resolutionTimes(hist []domain.DaysCount) *pb.ResolutionTimes {
	out := &pb.ResolutionTimes{}
	for _, h := range hist {
		out.Resolved += h.Count
	}
	out.MedianDays, out.P90Days = percentiles(hist)
	return out
}

// percentiles are hist's median and 90th percentile, nil when it is empty.
func percentiles(hist []domain.DaysCount) (median, p90 *int32) {
	at := func(p int) *int32 {
		d, ok := domain.Percentile(hist, p)
		if !ok {
			return nil
		}
		v := int32(d)
		return &v
	}
	return at(50), at(90)
}
