package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/idnumber"
)

// --- HouseholdService: status changes ---------------------------------------

func (c *client) ChangeServicememberStatus(req *pb.ChangeServicememberStatusRequest) (*pb.Household, error) {
	out := &pb.Household{}
	return out, c.call("HouseholdService/ChangeServicememberStatus", post(req.GetName()+":changeServicememberStatus", req), req, out)
}

func (c *client) ListStatusChanges(parent string, size int32, token string) (*pb.ListStatusChangesResponse, error) {
	out := &pb.ListStatusChangesResponse{}
	return out, c.call("HouseholdService/ListStatusChanges", get(parent+"/statusChanges", pageQuery(size, token)),
		&pb.ListStatusChangesRequest{Parent: parent, PageSize: size, PageToken: token}, out)
}

// violationRules maps each field of the status's BadRequest that breaks a
// rule of the table to the rule's id, checking that the violation's reason
// is RULE_VIOLATED, the description ends with the id, and the ErrorInfo's
// metadata lists it among the rules.
func violationRules(t *testing.T, st *status.Status) map[string]string {
	t.Helper()
	out := map[string]string{}
	var listed []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			listed = strings.Split(d.GetMetadata()["rules"], ",")
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				m := ruleInDescription.FindStringSubmatch(v.GetDescription())
				if m == nil {
					continue
				}
				if v.GetReason() != pb.ErrorReason_RULE_VIOLATED.String() {
					t.Errorf("%s breaks rule %s but its reason is %q", v.GetField(), m[1], v.GetReason())
				}
				out[v.GetField()] = m[1]
			}
		}
	}
	for field, rule := range out {
		if !slices.Contains(listed, rule) {
			t.Errorf("%s: rule %s missing from the ErrorInfo's rules %v", field, rule, listed)
		}
	}
	return out
}

// ruleInDescription finds the rule id a violation's description ends with.
var ruleInDescription = regexp.MustCompile(`\(rule ([A-Z0-9_]+)\)$`)

// wantRule checks that the refusal names field and the rule, in the
// violation (its reason RULE_VIOLATED) and in the message a person reads.
func wantRule(t *testing.T, st *status.Status, field, rule string) {
	t.Helper()
	wantViolation(t, st, field)
	if got := violationRules(t, st)[field]; got != rule {
		t.Errorf("%s: rule %q, want %s", field, got, rule)
	}
	if !strings.Contains(st.Message(), rule) {
		t.Errorf("message %q does not name rule %s", st.Message(), rule)
	}
}

// legacyIDNumber is a 15-digit first-generation number born on birth (in
// the 1900s), unique within the env and tracked like every number, and the
// 18-digit number it converts to. male picks the sex digit.
func (e *env) legacyIDNumber(birth time.Time, male bool) (fifteen, eighteen string) {
	seq := 2*int(e.seq.Add(1)%490) + 2
	if male {
		seq++
	}
	fifteen = region + birth.Format("060102") + fmt.Sprintf("%03d", seq)
	eighteen = idnumber.Make(region, birth, seq)
	e.leaks.track(fifteen, eighteen)
	return fifteen, eighteen
}

// idNumberOfSex is a valid 18-digit number of the sex asked for, tracked.
func (e *env) idNumberOfSex(birth time.Time, male bool) string {
	seq := 2*int(e.seq.Add(1)%490) + 2
	if male {
		seq++
	}
	n := idnumber.Make(region, birth, seq)
	e.leaks.track(n)
	return n
}

// testHouseholdRules: issue 11's household side through the API, on both
// transports: a household created with its status (category derived, town
// named, certificate masked and shown whole only in the audited full view),
// one created by a legacy category, the refusals naming their field and
// rule (no status, an unknown province, a town not in the county's table),
// a 15-digit member number stored converted, the sex warning, and a death
// recorded as a status change that moves an open case to the first tier
// with a history entry saying why.
func testHouseholdRules(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		cert := "CQ-YDZ-" + strconv.FormatInt(e.seq.Add(1)+100000, 10)
		e.leaks.track(cert)

		t.Run("created_with_a_status", func(t *testing.T) {
			req := e.newHousehold(func(h *pb.Household) {
				h.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_UNSPECIFIED
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_OFFICER
				h.Servicemember.PostType = pb.PostType_POST_TYPE_ISLAND_FIRST
				h.TownCode = "500230002"
				h.PreferentialCertificateNumber = cert
			})
			h := must(c.CreateHousehold(req)).ok(t)
			if h.GetCategory() != pb.HouseholdCategory_HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY || h.GetTownName() != "名山街道" ||
				!slices.Equal(h.GetPriorityBasis(), []string{"PRIORITY_BORDER_ISLAND"}) {
				t.Errorf("category %v town %q basis %v", h.GetCategory(), h.GetTownName(), h.GetPriorityBasis())
			}
			if h.GetPreferentialCertificateNumber() != idnumber.Mask(cert) || strings.Contains(h.GetPreferentialCertificateNumber(), cert[:8]) {
				t.Errorf("certificate in the masked view: %q", h.GetPreferentialCertificateNumber())
			}
			read := []*pb.Household{must(c.GetHousehold(h.GetName())).ok(t)}
			for _, l := range must(c.ListHouseholds(&pb.ListHouseholdsRequest{
				Filter: `status = ACTIVE_OFFICER AND town_code = "500230002"`})).ok(t).GetHouseholds() {
				if l.GetName() == h.GetName() {
					read = append(read, l)
				}
			}
			if len(read) != 2 {
				t.Error("the status filter does not find the household")
			}
			for _, got := range read {
				if got.GetPreferentialCertificateNumber() != idnumber.Mask(cert) || got.GetTownName() != "名山街道" {
					t.Errorf("read back: certificate %q town %q", got.GetPreferentialCertificateNumber(), got.GetTownName())
				}
			}
			full := must(c.GetHouseholdView(h.GetName(), pb.View_VIEW_FULL)).ok(t)
			if full.GetPreferentialCertificateNumber() != cert {
				t.Error("the full view does not show the certificate number")
			}
		})

		t.Run("created_by_a_legacy_category", func(t *testing.T) {
			h := must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) {
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_UNSPECIFIED
				h.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MARTYR_FAMILY
			}))).ok(t)
			if h.GetServicemember().GetStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR ||
				!slices.Equal(h.GetPriorityBasis(), []string{"PRIORITY_MARTYR_DIED_ON_DUTY"}) || h.GetTownName() != "虎威镇" {
				t.Errorf("status %v basis %v town %q", h.GetServicemember().GetStatus(), h.GetPriorityBasis(), h.GetTownName())
			}
		})

		t.Run("refusals_name_field_and_rule", func(t *testing.T) {
			st := must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) {
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_UNSPECIFIED
				h.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_OTHER_ENTITLED
			}))).fails(t, codes.InvalidArgument)
			wantViolation(t, st, "household.servicemember.status")

			unknown := idnumber.Make("990101", servicememberBirth, int(e.seq.Add(1)%900))
			e.leaks.track(unknown)
			st = must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.Servicemember.IdNumber = unknown }))).
				fails(t, codes.InvalidArgument)
			wantRule(t, st, "household.servicemember.id_number", "ID_NUMBER_REGION_GBT2260")

			st = must(c.CreateHousehold(e.newHousehold(func(h *pb.Household) { h.TownCode = "500230108" }))).
				fails(t, codes.InvalidArgument)
			wantRule(t, st, "household.town_code", "TOWN_CODE")
			if strings.Contains(st.Message(), "500230108") {
				t.Error("the refusal repeats the town code")
			}
		})

		f := e.family(t, c)
		t.Run("15_digits_converted", func(t *testing.T) {
			fifteen, eighteen := e.legacyIDNumber(day(1960, 1, 20), true)
			m := must(c.CreateMember(f.household.GetName(), &pb.Member{Relation: pb.Relation_RELATION_FATHER,
				DisplayName: "张老汉", IdNumber: fifteen, BirthDate: dateOf(day(1960, 1, 20))})).ok(t)
			if !m.GetIdNumberConverted() || m.GetIdNumber() != idnumber.Mask(eighteen) || len(m.GetWarnings()) != 0 {
				t.Errorf("converted %v number %q warnings %v", m.GetIdNumberConverted(), m.GetIdNumber(), m.GetWarnings())
			}
			full := must(c.GetMemberView(m.GetName(), pb.View_VIEW_FULL)).ok(t)
			if full.GetIdNumber() != eighteen || !full.GetIdNumberConverted() {
				t.Error("the member's number is not stored in its 18-digit form")
			}
		})

		t.Run("sex_warning", func(t *testing.T) {
			m := must(c.CreateMember(f.household.GetName(), &pb.Member{Relation: pb.Relation_RELATION_MOTHER,
				DisplayName: "王秀英", IdNumber: e.idNumberOfSex(day(1963, 2, 2), true), BirthDate: dateOf(day(1963, 2, 2)),
				CannotLiveIndependently: true})).ok(t)
			want := []string{"ID_NUMBER_SEX_MATCHES_RELATION"}
			if !slices.Equal(m.GetWarnings(), want) || !slices.Equal(must(c.GetMember(m.GetName())).ok(t).GetWarnings(), want) ||
				!m.GetCannotLiveIndependently() {
				t.Errorf("warnings %v, cannot live independently %v", m.GetWarnings(), m.GetCannotLiveIndependently())
			}
		})

		t.Run("status_change_reprioritises_an_open_case", func(t *testing.T) {
			cs := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
			cs = must(c.Submit(cs.GetName(), cs.GetEtag())).ok(t)
			if cs.GetPriority() != pb.CasePriority_CASE_PRIORITY_NORMAL {
				t.Fatalf("a regular NCO's case has priority %v", cs.GetPriority())
			}
			yesterday := e.clock.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1)
			tomorrow := yesterday.AddDate(0, 0, 2)
			st := must(c.ChangeServicememberStatus(&pb.ChangeServicememberStatusRequest{Name: f.household.GetName(),
				Kind: pb.StatusChangeKind_STATUS_CHANGE_KIND_DEATH, Status: pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR,
				EffectiveDate: dateOf(tomorrow)})).fails(t, codes.InvalidArgument)
			wantRule(t, st, "effective_date", "STATUS_CHANGE_REEVALUATES_PRIORITY")

			death := &pb.ChangeServicememberStatusRequest{Name: f.household.GetName(),
				Kind: pb.StatusChangeKind_STATUS_CHANGE_KIND_DEATH, Status: pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR,
				EffectiveDate: dateOf(yesterday), Note: "烈士评定通知", DisabilityGrade: -1,
				RequestId: "death-" + strings.TrimPrefix(f.household.GetName(), "households/")}
			h := must(c.ChangeServicememberStatus(death)).ok(t)
			// A retry with the same request id is answered from the record:
			// the change is not made, nor recorded, twice (AIP-155).
			if again := must(c.ChangeServicememberStatus(death)).ok(t); again.GetEtag() != h.GetEtag() {
				t.Errorf("a retried change answered etag %s, want the first answer's %s", again.GetEtag(), h.GetEtag())
			}
			if h.GetServicemember().GetStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR ||
				h.GetCategory() != pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MARTYR_FAMILY {
				t.Errorf("household after the death: %v %v", h.GetServicemember().GetStatus(), h.GetCategory())
			}
			got := must(c.GetCase(cs.GetName())).ok(t)
			if got.GetPriority() != pb.CasePriority_CASE_PRIORITY_FIRST ||
				!slices.Equal(got.GetPriorityReasons(), []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_MARTYR_FAMILY}) ||
				got.GetStatus() != submitted || got.GetEtag() == cs.GetEtag() {
				t.Errorf("case after the death: %v %v %v etag %s", got.GetPriority(), got.GetPriorityReasons(), got.GetStatus(), got.GetEtag())
			}
			if !slices.Contains(got.GetPolicyBasis(), "STATUS_CHANGE_REEVALUATES_PRIORITY") ||
				!slices.Contains(got.GetPolicyBasis(), "PRIORITY_MARTYR_DIED_ON_DUTY") || !slices.Contains(got.GetPolicyBasis(), "LEGAL_AID_DECISION_7D") {
				t.Errorf("policy basis after the death: %v", got.GetPolicyBasis())
			}
			entries := must(c.History(cs.GetName())).ok(t).GetEntries()
			last := entries[len(entries)-1]
			if last.GetMethod() != "ChangeServicememberStatus" || last.GetActor() != supervisorUser ||
				!strings.Contains(last.GetReason(), "STATUS_CHANGE_REEVALUATES_PRIORITY") || !strings.Contains(last.GetReason(), "NORMAL → FIRST") ||
				last.GetFromStatus() != submitted || last.GetToStatus() != submitted {
				t.Errorf("history entry %v", last)
			}
			changes := must(c.ListStatusChanges(f.household.GetName(), 0, "")).ok(t).GetStatusChanges()
			if len(changes) != 1 || changes[0].GetKind() != pb.StatusChangeKind_STATUS_CHANGE_KIND_DEATH ||
				changes[0].GetFromStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_ACTIVE_NCO ||
				changes[0].GetToStatus() != pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR || changes[0].GetNote() != "烈士评定通知" ||
				changes[0].GetRecorder() != supervisorUser || changes[0].GetEffectiveDate().GetDay() != int32(yesterday.Day()) {
				t.Errorf("status changes %v", changes)
			}
		})
	})
}
