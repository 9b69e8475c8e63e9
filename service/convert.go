package service

import (
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// Enumerations are stored as their names without the API's prefix
// (CASE_STATUS_SUBMITTED is stored as SUBMITTED), which are the domain
// package's values. These two helpers are the whole mapping.

type protoEnum interface {
	~int32
	String() string
}

func enumName[E protoEnum](e E, prefix string) string {
	if e == 0 {
		return ""
	}
	return strings.TrimPrefix(e.String(), prefix)
}

func enumValue[E ~int32](values map[string]int32, prefix, name string) E {
	if name == "" {
		return 0
	}
	return E(values[prefix+name])
}

const (
	categoryPrefix = "HOUSEHOLD_CATEGORY_"
	postPrefix     = "POST_TYPE_"
	branchPrefix   = "SERVICE_BRANCH_"
	rankPrefix     = "RANK_CATEGORY_"
	relationPrefix = "RELATION_"
	statusPrefix   = "CASE_STATUS_"
	kindPrefix     = "CASE_TYPE_"
	reasonPrefix   = "PRIORITY_REASON_"
	outcomePrefix  = "OUTCOME_RESULT_"
)

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func optTimestamp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func dateOf(t time.Time) *date.Date {
	return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

// timeOfDate turns a google.type.Date into midnight UTC, refusing dates that
// are partial or not on the calendar.
func timeOfDate(field string, d *date.Date) (time.Time, error) {
	if d == nil || d.Year == 0 || d.Month == 0 || d.Day == 0 {
		return time.Time{}, domain.Invalid(field, "a full date (year, month and day) is required")
	}
	t := time.Date(int(d.Year), time.Month(d.Month), int(d.Day), 0, 0, 0, 0, time.UTC)
	if t.Year() != int(d.Year) || t.Month() != time.Month(d.Month) || t.Day() != int(d.Day) {
		return time.Time{}, domain.Invalid(field, "not a calendar date")
	}
	return t, nil
}

func householdToProto(h *repository.Household) *pb.Household {
	return &pb.Household{
		Name: names.Household{ID: h.ID}.String(),
		Servicemember: &pb.Servicemember{
			Name:          h.ServicememberName,
			IdNumber:      h.ServicememberIDNumber,
			ServiceBranch: enumValue[pb.ServiceBranch](pb.ServiceBranch_value, branchPrefix, h.ServiceBranch),
			RankCategory:  enumValue[pb.RankCategory](pb.RankCategory_value, rankPrefix, h.RankCategory),
			PostType:      enumValue[pb.PostType](pb.PostType_value, postPrefix, h.PostType),
			Unit:          h.Unit,
		},
		Category:     enumValue[pb.HouseholdCategory](pb.HouseholdCategory_value, categoryPrefix, h.Category),
		TownCode:     h.TownCode,
		Address:      h.Address,
		Phone:        h.Phone,
		Hardship:     h.Hardship,
		HardshipNote: h.HardshipNote,
		MemberCount:  int32(h.MemberCount),
		Etag:         repository.Etag(h.Revision),
		CreateTime:   timestamp(h.CreateTime),
		UpdateTime:   timestamp(h.UpdateTime),
		DeleteTime:   optTimestamp(h.DeleteTime),
	}
}

// householdFromProto copies the writable fields of p onto h.
func householdFromProto(p *pb.Household, h *repository.Household) {
	sm := p.GetServicemember()
	h.ServicememberName = sm.GetName()
	h.ServicememberIDNumber = sm.GetIdNumber()
	h.ServiceBranch = enumName(sm.GetServiceBranch(), branchPrefix)
	h.RankCategory = enumName(sm.GetRankCategory(), rankPrefix)
	h.PostType = enumName(sm.GetPostType(), postPrefix)
	h.Unit = sm.GetUnit()
	h.Category = enumName(p.GetCategory(), categoryPrefix)
	h.TownCode = p.GetTownCode()
	h.Address = p.GetAddress()
	h.Phone = p.GetPhone()
	h.Hardship = p.GetHardship()
	h.HardshipNote = p.GetHardshipNote()
}

func memberToProto(m *repository.Member) *pb.Member {
	return &pb.Member{
		Name:         names.Member{HouseholdID: m.HouseholdID, ID: m.ID}.String(),
		Relation:     enumValue[pb.Relation](pb.Relation_value, relationPrefix, m.Relation),
		DisplayName:  m.DisplayName,
		IdNumber:     m.IDNumber,
		BirthDate:    dateOf(m.BirthDate),
		Phone:        m.Phone,
		Accompanying: m.Accompanying,
		Etag:         repository.Etag(m.Revision),
		CreateTime:   timestamp(m.CreateTime),
		UpdateTime:   timestamp(m.UpdateTime),
	}
}

// memberFromProto copies the writable fields of p onto m; the birth date
// must already have been checked by the caller.
func memberFromProto(p *pb.Member, birth time.Time, m *repository.Member) {
	m.Relation = enumName(p.GetRelation(), relationPrefix)
	m.DisplayName = p.GetDisplayName()
	m.IDNumber = p.GetIdNumber()
	m.BirthDate = birth
	m.Phone = p.GetPhone()
	m.Accompanying = p.GetAccompanying()
}

// caseDetails returns the kind and the one detail message that a case sets.
func caseDetails(c *pb.Case) (domain.Kind, proto.Message) {
	switch d := c.GetDetails().(type) {
	case *pb.Case_EmploymentPlacement:
		return domain.KindEmploymentPlacement, d.EmploymentPlacement
	case *pb.Case_SchoolEnrollment:
		return domain.KindSchoolEnrollment, d.SchoolEnrollment
	case *pb.Case_ElderMedicalHelp:
		return domain.KindElderMedicalHelp, d.ElderMedicalHelp
	case *pb.Case_LegalAid:
		return domain.KindLegalAid, d.LegalAid
	}
	return "", nil
}

// detailsJSON is how case details are stored: protojson with proto field
// names, so the column reads the same as the API's documentation.
var detailsJSON = protojson.MarshalOptions{UseProtoNames: true}

func setDetails(c *pb.Case, kind string, raw string) error {
	var msg proto.Message
	switch domain.Kind(kind) {
	case domain.KindEmploymentPlacement:
		d := &pb.EmploymentPlacement{}
		c.Details, msg = &pb.Case_EmploymentPlacement{EmploymentPlacement: d}, d
	case domain.KindSchoolEnrollment:
		d := &pb.SchoolEnrollment{}
		c.Details, msg = &pb.Case_SchoolEnrollment{SchoolEnrollment: d}, d
	case domain.KindElderMedicalHelp:
		d := &pb.ElderMedicalHelp{}
		c.Details, msg = &pb.Case_ElderMedicalHelp{ElderMedicalHelp: d}, d
	case domain.KindLegalAid:
		d := &pb.LegalAid{}
		c.Details, msg = &pb.Case_LegalAid{LegalAid: d}, d
	default:
		return nil
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(raw), msg)
}

func caseToProto(c *repository.Case) (*pb.Case, error) {
	out := &pb.Case{
		Name:         names.Case{ID: c.ID}.String(),
		CaseNumber:   c.CaseNumber,
		Household:    names.Household{ID: c.HouseholdID}.String(),
		Subject:      names.Member{HouseholdID: c.HouseholdID, ID: c.SubjectID}.String(),
		CaseType:     enumValue[pb.CaseType](pb.CaseType_value, kindPrefix, c.Kind),
		Status:       enumValue[pb.CaseStatus](pb.CaseStatus_value, statusPrefix, c.Status),
		Assignee:     c.Assignee,
		TownCode:     c.TownCode,
		Priority:     pb.CasePriority(c.Priority),
		DueTime:      optTimestamp(c.DueTime),
		StatusReason: c.StatusReason,
		Etag:         repository.Etag(c.Revision),
		CreateTime:   timestamp(c.CreateTime),
		UpdateTime:   timestamp(c.UpdateTime),
		SubmitTime:   optTimestamp(c.SubmitTime),
		ResolveTime:  optTimestamp(c.ResolveTime),
		Creator:      c.Creator,
	}
	for _, r := range splitList(c.PriorityReasons) {
		out.PriorityReasons = append(out.PriorityReasons, enumValue[pb.PriorityReason](pb.PriorityReason_value, reasonPrefix, r))
	}
	if c.OutcomeResult != "" {
		out.Outcome = &pb.CaseOutcome{
			Result:  enumValue[pb.OutcomeResult](pb.OutcomeResult_value, outcomePrefix, c.OutcomeResult),
			Summary: c.OutcomeSummary,
		}
	}
	if err := setDetails(out, c.Kind, c.Details); err != nil {
		return nil, err
	}
	return out, nil
}

func historyToProto(h *repository.HistoryEntry) *pb.CaseHistoryEntry {
	return &pb.CaseHistoryEntry{
		Method:        h.Method,
		Actor:         h.Actor,
		Time:          timestamp(h.Time),
		FromStatus:    enumValue[pb.CaseStatus](pb.CaseStatus_value, statusPrefix, h.FromStatus),
		ToStatus:      enumValue[pb.CaseStatus](pb.CaseStatus_value, statusPrefix, h.ToStatus),
		ChangedFields: splitList(h.ChangedFields),
		Reason:        h.Reason,
	}
}

func noteToProto(n *repository.Note) *pb.Note {
	return &pb.Note{
		Name:       names.Note{CaseID: n.CaseID, ID: n.ID}.String(),
		Body:       n.Body,
		Author:     n.Author,
		CreateTime: timestamp(n.CreateTime),
	}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
