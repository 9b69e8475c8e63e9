package convert

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// A stored enumeration is a domain type whose values are the API enum's
// names without its prefix. A name on one side only would be stored as ""
// or rendered as UNSPECIFIED without a word, so the two must match one to
// one: every API value but UNSPECIFIED has its domain value and maps back to
// itself, and every domain value has its API value.

// checkEnum holds one mapping against the domain's list of values.
func checkEnum[D ~string, P protoEnum](t *testing.T, e enum[D, P], all []D) protoreflect.FullName {
	t.Helper()
	var zero P
	desc := zero.Descriptor()
	values := desc.Values()
	for i := range values.Len() {
		v := values.Get(i)
		if v.Number() == 0 {
			continue
		}
		d := e.fromProto(P(v.Number()))
		if _, ok := pendingEnumValues[v.FullName()]; ok {
			if slices.Contains(all, d) {
				t.Errorf("%s has its domain value now: take it off pendingEnumValues", v.FullName())
			}
			continue
		}
		if !slices.Contains(all, d) {
			t.Errorf("%s has no domain value: %q is not one of %q", v.FullName(), d, all)
		}
		if back := e.toProto(d); back != P(v.Number()) {
			t.Errorf("%s is stored as %q, which reads back as %s", v.FullName(), d, back)
		}
	}
	for i, d := range all {
		if slices.Index(all, d) != i {
			t.Errorf("domain value %q is listed twice", d)
		}
		p := e.toProto(d)
		if p == 0 {
			t.Errorf("domain value %q has no %s value", d, desc.FullName())
			continue
		}
		if e.fromProto(p) != d {
			t.Errorf("domain value %q renders as %s, which is stored as %q", d, p, e.fromProto(p))
		}
	}
	if e.toProto("") != 0 || e.fromProto(0) != "" {
		t.Errorf("%s: UNSPECIFIED and \"\" do not map to each other", desc.FullName())
	}
	return desc.FullName()
}

// notStoredAsDomainValues are the enums of stored resources that have no
// domain type, each with the reason.
var notStoredAsDomainValues = map[protoreflect.FullName]string{
	"casework.v1.ApiKeyState":  "computed on every read from the key's times and approval",
	"casework.v1.WebhookState": "computed on every read from the failure count",
	"casework.v1.CasePriority": "stored as its number, which the domain shares (TestPriorityNumbers)",
	// The details are stored as protojson, which spells these by their API
	// names; no rule reads them.
	"casework.v1.PlacementChannel":        "stored inside the details JSON by its API name",
	"casework.v1.SchoolStage":             "stored inside the details JSON by its API name",
	"casework.v1.EnrollmentPriorityBasis": "stored inside the details JSON by its API name",
	"casework.v1.ElderNeed":               "stored inside the details JSON by its API name",
	"casework.v1.LegalMatterCategory":     "stored inside the details JSON by its API name",
	"casework.v1.LegalStage":              "stored inside the details JSON by its API name",
	"casework.v1.PriorEmployment":         "stored inside the details JSON by its API name",
	"casework.v1.PlacementRoute":          "stored inside the details JSON by its API name",
	"casework.v1.EnrolmentPlace":          "stored inside the details JSON by its API name",
	"casework.v1.SchoolBenefit":           "stored inside the details JSON by its API name",
	"casework.v1.CostSource":              "stored inside the details JSON by its API name",
}

func TestEnumsMatchTheDomain(t *testing.T) {
	checked := map[protoreflect.FullName]bool{}
	for _, name := range []protoreflect.FullName{
		checkEnum(t, categories, domain.Categories()),
		checkEnum(t, postTypes, domain.PostTypes()),
		checkEnum(t, branches, domain.Branches()),
		checkEnum(t, ranks, domain.Ranks()),
		checkEnum(t, relations, domain.Relations()),
		checkEnum(t, applicationStatuses, domain.ApplicationStatuses()),
		checkEnum(t, statuses, domain.Statuses()),
		checkEnum(t, kinds, domain.Kinds()),
		checkEnum(t, reasons, domain.Reasons()),
		checkEnum(t, results, domain.Results()),
		checkEnum(t, roles, principal.Roles),
		checkEnum(t, serviceStatuses, domain.ServiceStatuses()),
		checkEnum(t, changeKinds, domain.StatusChangeKinds()),
		checkEnum(t, clockKinds, domain.ClockKinds()),
		checkEnum(t, clockStates, domain.ClockStates()),
		checkEnum(t, withdrawalReasons, domain.WithdrawalReasons()),
		checkEnum(t, rejectionReasons, domain.RejectionReasons()),
		checkEnum(t, terminationGrounds, domain.TerminationGrounds()),
		checkEnum(t, objectionResults, domain.ObjectionResults()),
		checkEnum(t, festivals, domain.Festivals()),
		checkEnum(t, campaignStates, domain.CampaignStates()),
		checkEnum(t, visitForms, domain.VisitForms()),
		checkEnum(t, targetSources, domain.TargetSources()),
		// An answer's, not stored; mapped the same way.
		checkEnum(t, addOutcomes, repository.AddOutcomes()),
		checkEnum(t, channels, domain.ContactChannels()),
		checkEnum(t, assistanceKinds, domain.AssistanceKinds()),
		checkEnum(t, measureKinds, domain.MeasureKinds()),
		checkEnum(t, measureStates, domain.MeasureStates()),
		checkEnum(t, complaintStates, domain.ComplaintStates()),
		checkEnum(t, referralStates, domain.ReferralStates()),
		checkEnum(t, alertKinds, domain.AlertKinds()),
		// Served from memory rather than stored, mapped the same way.
		checkEnum(t, ruleKinds, domain.RuleKinds()),
		checkEnum(t, townKinds, towns.Kinds()),
	} {
		checked[name] = true
	}
	// Every enum a stored resource carries is checked above, says why not,
	// or waits for its storage: a new one cannot slip by as a bare string.
	stored := storedEnums()
	for _, name := range stored {
		_, notStored := notStoredAsDomainValues[name]
		_, pending := pendingEnums[name]
		switch n := btoi(checked[name]) + btoi(notStored) + btoi(pending); {
		case n == 0:
			t.Errorf("%s is carried by a stored resource but has no domain mapping checked here: give it a domain type and an enum mapping, or list why not", name)
		case n > 1:
			t.Errorf("%s is in more than one of: checked, not stored as domain values, pending", name)
		}
	}
	for _, list := range []map[protoreflect.FullName]string{notStoredAsDomainValues, pendingEnums} {
		for name := range list {
			if !slices.Contains(stored, name) {
				t.Errorf("%s is listed, but no stored resource carries it", name)
			}
		}
	}
}

// TestDetailEnums holds the enums the eligibility rules read from the
// details (stored there by their API names) to the domain's values, so a
// value added on either side cannot be read as "" by the rules.
func TestDetailEnums(t *testing.T) {
	checkEnum(t, priorEmployments, domain.PriorEmployments())
	checkEnum(t, placementRoutes, domain.PlacementRoutes())
	checkEnum(t, schoolStages, domain.SchoolStages())
	checkEnum(t, enrollmentBases, domain.EnrollmentBases())
	checkEnum(t, schoolBenefits, domain.SchoolBenefits())
	checkEnum(t, costSources, domain.CostSources())
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// storedEnums are the enums the messages that render stored rows carry,
// at any depth.
func storedEnums() []protoreflect.FullName {
	var out []protoreflect.FullName
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] || !strings.HasPrefix(string(md.FullName()), "casework.") {
			return
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if ed := fd.Enum(); ed != nil && !slices.Contains(out, ed.FullName()) {
				out = append(out, ed.FullName())
			}
			if fd.Message() != nil {
				walk(fd.Message())
			}
		}
	}
	for _, m := range []protoreflect.ProtoMessage{&pb.Household{}, &pb.Member{}, &pb.Case{}, &pb.CaseHistoryEntry{},
		&pb.Note{}, &pb.Event{}, &pb.ApiKey{}, &pb.Webhook{}, &pb.WebhookDelivery{}, &pb.AuditLog{}, &pb.AuditLogHead{},
		&pb.ServicememberStatusChange{}, &pb.Campaign{}, &pb.CampaignTarget{}, &pb.Visit{}, &pb.CampaignCoverage{},
		&pb.Organization{}, &pb.Measure{}, &pb.MeasureHistoryEntry{}, &pb.MeasureReview{}, &pb.Complaint{}} {
		walk(m.ProtoReflect().Descriptor())
	}
	return out
}

// TestPriorityNumbers holds the tiers, which are stored as numbers, to the
// API's: the same numbers, and the names filters accept.
func TestPriorityNumbers(t *testing.T) {
	values := pb.CasePriority(0).Descriptor().Values()
	for i := range values.Len() {
		v := values.Get(i)
		if v.Number() == 0 {
			continue
		}
		p := domain.Priority(v.Number())
		if !slices.Contains(domain.Priorities(), p) {
			t.Errorf("%s has no domain tier %d", v.FullName(), p)
		}
		name := strings.TrimPrefix(string(v.Name()), "CASE_PRIORITY_")
		if repository.PriorityByName[name] != p {
			t.Errorf("filters read %s as tier %d, want %d", name, repository.PriorityByName[name], p)
		}
	}
	for _, p := range domain.Priorities() {
		if values.ByNumber(protoreflect.EnumNumber(p)) == nil || p == 0 || priorityToProto(p) != pb.CasePriority(p) {
			t.Errorf("domain tier %d has no API value", p)
		}
	}
	if len(repository.PriorityByName) != values.Len()-1 {
		t.Errorf("filters know %d priority names, the API %d", len(repository.PriorityByName), values.Len()-1)
	}
}
