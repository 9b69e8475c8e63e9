package service

import (
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// Enumerations are stored as the domain package's values, which are the
// API's names without the enum's prefix (CASE_STATUS_SUBMITTED is stored as
// SUBMITTED). An enum value below is the whole mapping of one of them; the
// tests check each against the proto enum, value for value.

type protoEnum interface {
	~int32
	protoreflect.Enum
	String() string
}

// enum maps the domain values D to the proto enum P. lower marks values
// spelled in lower case (roles, as credentials carry them).
type enum[D ~string, P protoEnum] struct {
	prefix string
	lower  bool
}

// toProto returns P's value named by d, or UNSPECIFIED for "" and for a
// name P does not have.
func (e enum[D, P]) toProto(d D) P {
	if d == "" {
		return 0
	}
	name := string(d)
	if e.lower {
		name = strings.ToUpper(name)
	}
	var zero P
	v := zero.Descriptor().Values().ByName(protoreflect.Name(e.prefix + name))
	if v == nil {
		return 0
	}
	return P(v.Number())
}

// fromProto returns the domain value p names; "" for UNSPECIFIED.
func (e enum[D, P]) fromProto(p P) D {
	if p == 0 {
		return ""
	}
	name := strings.TrimPrefix(p.String(), e.prefix)
	if e.lower {
		name = strings.ToLower(name)
	}
	return D(name)
}

var (
	categories = enum[domain.Category, pb.HouseholdCategory]{prefix: "HOUSEHOLD_CATEGORY_"}
	postTypes  = enum[domain.PostType, pb.PostType]{prefix: "POST_TYPE_"}
	branches   = enum[domain.Branch, pb.ServiceBranch]{prefix: "SERVICE_BRANCH_"}
	ranks      = enum[domain.Rank, pb.RankCategory]{prefix: "RANK_CATEGORY_"}
	relations  = enum[domain.Relation, pb.Relation]{prefix: "RELATION_"}
	statuses   = enum[domain.Status, pb.CaseStatus]{prefix: "CASE_STATUS_"}
	kinds      = enum[domain.Kind, pb.CaseType]{prefix: "CASE_TYPE_"}
	reasons    = enum[domain.Reason, pb.PriorityReason]{prefix: "PRIORITY_REASON_"}
	results    = enum[domain.Result, pb.OutcomeResult]{prefix: "OUTCOME_RESULT_"}
	roles      = enum[principal.Role, pb.Role]{prefix: "ROLE_", lower: true}
)

// Priorities are stored as their numbers, which the domain and the API
// share.
func priorityToProto(p domain.Priority) pb.CasePriority { return pb.CasePriority(p) }

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
		Name: "households/" + h.ID,
		Servicemember: &pb.Servicemember{
			Name:          h.ServicememberName,
			IdNumber:      h.ServicememberIDNumber,
			ServiceBranch: branches.toProto(h.ServiceBranch),
			RankCategory:  ranks.toProto(h.RankCategory),
			PostType:      postTypes.toProto(h.PostType),
			Unit:          h.Unit,
		},
		Category:     categories.toProto(h.Category),
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
	h.ServiceBranch = branches.fromProto(sm.GetServiceBranch())
	h.RankCategory = ranks.fromProto(sm.GetRankCategory())
	h.PostType = postTypes.fromProto(sm.GetPostType())
	h.Unit = sm.GetUnit()
	h.Category = categories.fromProto(p.GetCategory())
	h.TownCode = p.GetTownCode()
	h.Address = p.GetAddress()
	h.Phone = p.GetPhone()
	h.Hardship = p.GetHardship()
	h.HardshipNote = p.GetHardshipNote()
}

func memberToProto(m *repository.Member) *pb.Member {
	return &pb.Member{
		Name:         "households/" + m.HouseholdID + "/members/" + m.ID,
		Relation:     relations.toProto(m.Relation),
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
	m.Relation = relations.fromProto(p.GetRelation())
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

func setDetails(c *pb.Case, kind domain.Kind, raw string) error {
	var msg proto.Message
	switch kind {
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
		Name:         "cases/" + c.ID,
		CaseNumber:   c.CaseNumber,
		Household:    "households/" + c.HouseholdID,
		Subject:      "households/" + c.HouseholdID + "/members/" + c.SubjectID,
		CaseType:     kinds.toProto(c.Kind),
		Status:       statuses.toProto(c.Status),
		Assignee:     c.Assignee,
		TownCode:     c.TownCode,
		Priority:     priorityToProto(c.Priority),
		DueTime:      optTimestamp(c.DueTime),
		StatusReason: c.StatusReason,
		Etag:         repository.Etag(c.Revision),
		CreateTime:   timestamp(c.CreateTime),
		UpdateTime:   timestamp(c.UpdateTime),
		SubmitTime:   optTimestamp(c.SubmitTime),
		ResolveTime:  optTimestamp(c.ResolveTime),
		Creator:      c.Creator,
	}
	for _, r := range c.PriorityReasons {
		out.PriorityReasons = append(out.PriorityReasons, reasons.toProto(r))
	}
	if c.OutcomeResult != "" {
		out.Outcome = &pb.CaseOutcome{
			Result:  results.toProto(c.OutcomeResult),
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
		FromStatus:    statuses.toProto(h.FromStatus),
		ToStatus:      statuses.toProto(h.ToStatus),
		ChangedFields: slices.Clone(h.ChangedFields),
		Reason:        h.Reason,
	}
}

func noteToProto(n *repository.Note) *pb.Note {
	return &pb.Note{
		Name:       "cases/" + n.CaseID + "/notes/" + n.ID,
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
