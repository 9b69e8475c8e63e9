// Package convert is the one place that knows both the API's messages and
// the stored rows: it renders rows as messages and copies a message's
// writable fields onto a row, with the mapping of every stored enumeration.
//
// It is a package of its own rather than part of the handlers (service)
// because the webhook dispatcher needs it too: it posts the very Event the
// change feed returns, and delivering webhooks must not depend on the
// handlers. It is not part of the repository because storage keeps the
// domain's values and nothing of the API: its messages, resource names and
// enum spellings.
package convert

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/names"
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
		// Credentials may spell a role in any case, as ToUpper did.
		name = strings.ToLower(name)
	}
	var zero P
	return P(enumTable(zero.Descriptor(), e.prefix, e.lower)[name])
}

// enumTables holds, per enum and spelling, the number of every stored name.
// A list renders several enums per row; looking each name up in the
// descriptor cost an allocation (prefix + name) and a hashed search every
// time. Tables are built once and never change after; the map of them is
// replaced, not changed, when one is added.
var enumTables atomic.Pointer[map[enumSpelling]map[string]int32]

type enumSpelling struct {
	enum   protoreflect.FullName
	prefix string
	lower  bool
}

var enumTablesMu sync.Mutex

// enumTable maps every stored name of ed's values (the name without prefix,
// in lower case if lower) to its number.
func enumTable(ed protoreflect.EnumDescriptor, prefix string, lower bool) map[string]int32 {
	key := enumSpelling{enum: ed.FullName(), prefix: prefix, lower: lower}
	if all := enumTables.Load(); all != nil {
		if t, ok := (*all)[key]; ok {
			return t
		}
	}
	enumTablesMu.Lock()
	defer enumTablesMu.Unlock()
	next := map[enumSpelling]map[string]int32{}
	if all := enumTables.Load(); all != nil {
		if t, ok := (*all)[key]; ok {
			return t
		}
		maps.Copy(next, *all)
	}
	t := map[string]int32{}
	values := ed.Values()
	for i := range values.Len() {
		v := values.Get(i)
		name, ok := strings.CutPrefix(string(v.Name()), prefix)
		if !ok || v.Number() == 0 {
			continue
		}
		if lower {
			name = strings.ToLower(name)
		}
		t[name] = int32(v.Number())
	}
	next[key] = t
	enumTables.Store(&next)
	return t
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

	serviceStatuses  = enum[domain.ServiceStatus, pb.ServicememberStatus]{prefix: "SERVICEMEMBER_STATUS_"}
	changeKinds      = enum[domain.StatusChangeKind, pb.StatusChangeKind]{prefix: "STATUS_CHANGE_KIND_"}
	householdActions = enum[domain.HouseholdAction, pb.HouseholdHistoryAction]{prefix: "HOUSEHOLD_HISTORY_ACTION_"}
)

// ServiceStatusOf is the stored status a request's status names; "" for
// UNSPECIFIED.
func ServiceStatusOf(p pb.ServicememberStatus) domain.ServiceStatus {
	return serviceStatuses.fromProto(p)
}

// PostTypeOf is the stored post type a request's post type names; "" for
// UNSPECIFIED.
func PostTypeOf(p pb.PostType) domain.PostType { return postTypes.fromProto(p) }

// StatusChangeKindOf is the stored kind a request's kind names; "" for
// UNSPECIFIED.
func StatusChangeKindOf(p pb.StatusChangeKind) domain.StatusChangeKind {
	return changeKinds.fromProto(p)
}

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

// DateOf is a stored calendar date as the API's date.
func DateOf(t time.Time) *date.Date {
	return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

// TimeOfDate turns a google.type.Date into midnight UTC, refusing dates that
// are partial or not on the calendar.
func TimeOfDate(field string, d *date.Date) (time.Time, error) {
	if d == nil || d.Year == 0 || d.Month == 0 || d.Day == 0 {
		return time.Time{}, domain.Invalid(field, "a full date (year, month and day) is required")
	}
	t := time.Date(int(d.Year), time.Month(d.Month), int(d.Day), 0, 0, 0, 0, time.UTC)
	if t.Year() != int(d.Year) || t.Month() != time.Month(d.Month) || t.Day() != int(d.Day) {
		return time.Time{}, domain.Invalid(field, "not a calendar date")
	}
	return t, nil
}

// TownName is the name of the town with code in table (nil: the table
// shipped with the program), or "" for a code the table does not have: a
// record from before the town was taken off the table still renders.
// Every answer that carries a town code carries its name from here.
func TownName(table *towns.Table, code string) string {
	if table == nil {
		table = towns.Default()
	}
	return table.Name(code)
}

// HouseholdToProto renders a household in full, its town named from table
// and its priority basis computed from its facts; masking is the caller's.
func HouseholdToProto(h *repository.Household, table *towns.Table) *pb.Household {
	_, _, basis := domain.ComputePriority(h.Facts())
	out := &pb.Household{
		Name: names.Household{ID: h.ID}.String(),
		Servicemember: &pb.Servicemember{
			Name:            h.ServicememberName,
			IdNumber:        h.ServicememberIDNumber,
			ServiceBranch:   branches.toProto(h.ServiceBranch),
			RankCategory:    ranks.toProto(h.RankCategory),
			PostType:        postTypes.toProto(h.PostType),
			Unit:            h.Unit,
			Status:          serviceStatuses.toProto(h.ServicememberStatus),
			DisabilityGrade: int32(h.DisabilityGrade),
			Decorated:       h.Decorated,
			Honour:          h.Honour,
			HardshipGrade:   int32(h.HardshipGrade),
		},
		Category:                      categories.toProto(h.Category),
		TownCode:                      h.TownCode,
		TownName:                      TownName(table, h.TownCode),
		Address:                       h.Address,
		Phone:                         h.Phone,
		Hardship:                      h.Hardship,
		HardshipNote:                  h.HardshipNote,
		SettledAtHome:                 h.SettledAtHome,
		PreferentialCertificateNumber: h.PreferentialCertificateNumber,
		PriorityBasis:                 ruleIDs(basis),
		MemberCount:                   int32(h.MemberCount),
		Etag:                          repository.Etag(h.Revision),
		CreateTime:                    timestamp(h.CreateTime),
		UpdateTime:                    timestamp(h.UpdateTime),
		DeleteTime:                    optTimestamp(h.DeleteTime),
		NextContactDue:                optDateOfText(h.NextContactDue),
		ContactBasis:                  ruleIDs(domain.ContactClasses(h.PostType, h.Hardship)),
	}
	if h.ApprovalNumber != "" || h.ApprovalDate != nil || h.ApprovalUnit != "" {
		out.AccompanimentApproval = &pb.AccompanimentApproval{Number: h.ApprovalNumber, ApprovingUnit: h.ApprovalUnit}
		if h.ApprovalDate != nil {
			out.AccompanimentApproval.ApproveDate = DateOf(*h.ApprovalDate)
		}
	}
	if h.TransferToTown != "" {
		out.Transfer = &pb.HouseholdTransfer{FromTownCode: h.TownCode, ToTownCode: h.TransferToTown,
			ToTownName: TownName(table, h.TransferToTown), Reason: h.TransferReason,
			Requester: h.TransferRequester, RequestTime: optTimestamp(h.TransferTime)}
	}
	if h.MergedInto != "" {
		out.MergedInto = names.Household{ID: h.MergedInto}.String()
	}
	return out
}

// HouseholdHistoryToProto renders an entry of a household's own history.
func HouseholdHistoryToProto(e *repository.HouseholdHistory) *pb.HouseholdHistoryEntry {
	return &pb.HouseholdHistoryEntry{
		Action: householdActions.toProto(e.Action), Method: e.Method, Actor: e.Actor, Time: timestamp(e.Time),
		FromTownCode: e.FromTownCode, ToTownCode: e.ToTownCode, OtherHousehold: e.OtherHousehold,
		Reason: e.Reason, Moved: e.Moved,
	}
}

func ruleIDs(ids []domain.RuleID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, string(id))
	}
	return out
}

// HouseholdFromProto copies the writable fields of p onto h. An approval
// date that is not a whole calendar date is dropped: the caller checks it
// first (ApprovalDate).
func HouseholdFromProto(p *pb.Household, h *repository.Household) {
	sm := p.GetServicemember()
	h.ServicememberName = sm.GetName()
	h.ServicememberIDNumber = sm.GetIdNumber()
	h.ServiceBranch = branches.fromProto(sm.GetServiceBranch())
	h.RankCategory = ranks.fromProto(sm.GetRankCategory())
	h.PostType = postTypes.fromProto(sm.GetPostType())
	h.Unit = sm.GetUnit()
	h.ServicememberStatus = serviceStatuses.fromProto(sm.GetStatus())
	h.DisabilityGrade = int(sm.GetDisabilityGrade())
	h.Decorated = sm.GetDecorated()
	h.Honour = sm.GetHonour()
	h.HardshipGrade = int(sm.GetHardshipGrade())
	h.Category = categories.fromProto(p.GetCategory())
	h.TownCode = p.GetTownCode()
	h.Address = p.GetAddress()
	h.Phone = p.GetPhone()
	h.Hardship = p.GetHardship()
	h.HardshipNote = p.GetHardshipNote()
	a := p.GetAccompanimentApproval()
	h.ApprovalNumber, h.ApprovalUnit, h.ApprovalDate = a.GetNumber(), a.GetApprovingUnit(), nil
	if d, err := TimeOfDate("", a.GetApproveDate()); err == nil {
		h.ApprovalDate = &d
	}
	h.SettledAtHome = p.GetSettledAtHome()
	h.PreferentialCertificateNumber = p.GetPreferentialCertificateNumber()
}

// ApprovalDate checks the approval date a household sends, if any, naming
// it by its path under prefix ("household").
func ApprovalDate(prefix string, p *pb.Household) error {
	d := p.GetAccompanimentApproval().GetApproveDate()
	if d == nil {
		return nil
	}
	_, err := TimeOfDate(prefix+".accompaniment_approval.approve_date", d)
	return err
}

// MemberToProto renders a member in full; masking is the caller's.
// servicemember is the household's servicemember's ID number, which the
// sex of a spouse's number is compared with for the warnings ("" when not
// known: a spouse is then not compared).
func MemberToProto(m *repository.Member, servicemember string) *pb.Member {
	out := &pb.Member{
		Name:                    names.Member{HouseholdID: m.HouseholdID, ID: m.ID}.String(),
		Relation:                relations.toProto(m.Relation),
		DisplayName:             m.DisplayName,
		IdNumber:                m.IDNumber,
		BirthDate:               DateOf(m.BirthDate),
		Phone:                   m.Phone,
		Accompanying:            m.Accompanying,
		CannotLiveIndependently: m.CannotLiveIndependently,
		IdNumberConverted:       m.IDNumberConverted,
		Etag:                    repository.Etag(m.Revision),
		CreateTime:              timestamp(m.CreateTime),
		UpdateTime:              timestamp(m.UpdateTime),
	}
	out.Warnings = ruleIDs(domain.MemberWarnings(m.Relation, m.IDNumber, servicemember))
	return out
}

// MemberFromProto copies the writable fields of p onto m; the birth date
// must already have been checked by the caller.
func MemberFromProto(p *pb.Member, birth time.Time, m *repository.Member) {
	m.Relation = relations.fromProto(p.GetRelation())
	m.DisplayName = p.GetDisplayName()
	m.IDNumber = p.GetIdNumber()
	m.BirthDate = birth
	m.Phone = p.GetPhone()
	m.Accompanying = p.GetAccompanying()
	m.CannotLiveIndependently = p.GetCannotLiveIndependently()
}

// StatusChangeToProto renders a recorded change of status.
func StatusChangeToProto(c *repository.StatusChange) *pb.ServicememberStatusChange {
	return &pb.ServicememberStatusChange{
		Name:                names.StatusChange{HouseholdID: c.HouseholdID, ID: c.ID}.String(),
		Kind:                changeKinds.toProto(c.Kind),
		EffectiveDate:       DateOf(c.EffectiveDate),
		FromStatus:          serviceStatuses.toProto(c.FromStatus),
		ToStatus:            serviceStatuses.toProto(c.ToStatus),
		FromPostType:        postTypes.toProto(c.FromPostType),
		ToPostType:          postTypes.toProto(c.ToPostType),
		FromDisabilityGrade: int32(c.FromDisabilityGrade),
		ToDisabilityGrade:   int32(c.ToDisabilityGrade),
		Note:                c.Note,
		Recorder:            c.Recorder,
		RecordTime:          timestamp(c.RecordTime),
	}
}

// CaseDetails returns the kind and the one detail message that a case sets.
func CaseDetails(c *pb.Case) (domain.Kind, proto.Message) {
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

// StoreDetails writes a case's one detail message, and the kind it
// decides, into row. The columns derived from the details are the store's
// to fill.
func StoreDetails(row *repository.Case, kind domain.Kind, detail proto.Message) error {
	raw, err := detailsJSON.Marshal(detail)
	if err != nil {
		return err
	}
	row.Kind, row.Details = kind, string(raw)
	return nil
}

// SetDetails reads stored details of the kind into c's detail field; a kind
// it does not know leaves c without details.
func SetDetails(c *pb.Case, kind domain.Kind, raw string) error {
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

// CaseToProto renders a case, naming its town from table (nil: the shipped
// table); it fails only on details that do not parse.
func CaseToProto(c *repository.Case, table *towns.Table, now time.Time) (*pb.Case, error) {
	out := &pb.Case{
		TownName:      TownName(table, c.TownCode),
		Name:          names.Case{ID: c.ID}.String(),
		CaseNumber:    c.CaseNumber,
		Household:     names.Household{ID: c.HouseholdID}.String(),
		Subject:       names.Member{HouseholdID: c.HouseholdID, ID: c.SubjectID}.String(),
		CaseType:      kinds.toProto(c.Kind),
		Status:        statuses.toProto(c.Status),
		Assignee:      c.Assignee,
		TownCode:      c.TownCode,
		Priority:      priorityToProto(c.Priority),
		DueTime:       optTimestamp(c.DueTime),
		StatusReason:  c.StatusReason,
		Etag:          repository.Etag(c.Revision),
		CreateTime:    timestamp(c.CreateTime),
		UpdateTime:    timestamp(c.UpdateTime),
		SubmitTime:    optTimestamp(c.SubmitTime),
		ResolveTime:   optTimestamp(c.ResolveTime),
		Creator:       c.Creator,
		SourceContact: c.SourceContact,
		Hold:          holdToProto(c),
		HoldCount:     int32(c.HoldCount), //nolint:gosec // a count of holds, bounded by the case's life
	}
	open, waiting := domain.CaseDays(caseTimes(c), now)
	out.DaysOpen, out.DaysWaiting = int32(open), int32(waiting) //nolint:gosec // whole days, far below 2^31
	for _, r := range c.PriorityReasons {
		out.PriorityReasons = append(out.PriorityReasons, reasons.toProto(r))
	}
	if c.OutcomeResult != "" {
		out.Outcome = &pb.CaseOutcome{
			Result:  results.toProto(c.OutcomeResult),
			Summary: c.OutcomeSummary,
		}
	}
	renderRules(c, out)
	if err := SetDetails(out, c.Kind, c.Details); err != nil {
		return nil, err
	}
	return out, nil
}

// holdToProto renders the hold in force, nil when the case is not held.
func holdToProto(c *repository.Case) *pb.CaseHold {
	if !c.Held() || c.HoldStartTime == nil {
		return nil
	}
	return &pb.CaseHold{Reason: c.HoldReason, StartTime: timestamp(*c.HoldStartTime),
		EndTime: timestamp(*c.HoldEndTime), Holder: c.HoldHolder}
}

// caseTimes are the times a case's days are counted from.
func caseTimes(c *repository.Case) domain.CaseTimes {
	t := domain.CaseTimes{Status: c.Status, Submit: c.SubmitTime, Resolve: c.ResolveTime, Update: c.UpdateTime,
		Held: time.Duration(c.HeldSeconds) * time.Second}
	if c.Held() {
		t.HoldStart = c.HoldStartTime
	}
	return t
}

// OutcomeFromProto records a resolution's outcome on c.
func OutcomeFromProto(o *pb.CaseOutcome, c *repository.Case) {
	c.OutcomeResult = results.fromProto(o.GetResult())
	c.OutcomeSummary = o.GetSummary()
}

// HistoryToProto renders one entry of a case's history.
func HistoryToProto(h *repository.HistoryEntry) *pb.CaseHistoryEntry {
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

// NoteToProto renders a note.
func NoteToProto(n *repository.Note) *pb.Note {
	return &pb.Note{
		Name:       names.Note{CaseID: n.CaseID, ID: n.ID}.String(),
		Body:       n.Body,
		Author:     n.Author,
		CreateTime: timestamp(n.CreateTime),
	}
}

// NoteFromProto copies the writable fields of p onto n.
func NoteFromProto(p *pb.Note, n *repository.Note) {
	n.Body = p.GetBody()
}
