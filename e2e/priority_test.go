package e2e

import (
	"slices"
	"testing"
	"time"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

const day24 = 24 * time.Hour

// testPriorityAndDue: priority is computed from the household, with its
// reasons, and the due time is set at submit from the case type.
func testPriorityAndDue(t *testing.T, e *env) {
	e.eachClient(t, func(t *testing.T, c *client) {
		tests := []struct {
			name     string
			mod      func(*pb.Household)
			priority pb.CasePriority
			reasons  []pb.PriorityReason
		}{
			{"martyr_family", func(h *pb.Household) {
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR
			}, pb.CasePriority_CASE_PRIORITY_FIRST, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_MARTYR_FAMILY}},
			{"martyr_family_by_legacy_category", func(h *pb.Household) {
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_UNSPECIFIED
				h.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MARTYR_FAMILY
			}, pb.CasePriority_CASE_PRIORITY_FIRST, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_MARTYR_FAMILY}},
			{"died_of_illness", func(h *pb.Household) {
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_DIED_OF_ILLNESS
			}, pb.CasePriority_CASE_PRIORITY_SECOND, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_DIED_OF_ILLNESS}},
			{"disabled_veteran", func(h *pb.Household) {
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_VETERAN
				h.Servicemember.DisabilityGrade = 5
			}, pb.CasePriority_CASE_PRIORITY_SECOND, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_DISABLED}},
			{"border", func(h *pb.Household) { h.Servicemember.PostType = pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE },
				pb.CasePriority_CASE_PRIORITY_FIRST, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_BORDER_COASTAL_DEFENCE}},
			{"mission_unit", func(h *pb.Household) { h.Servicemember.PostType = pb.PostType_POST_TYPE_MISSION_UNIT },
				pb.CasePriority_CASE_PRIORITY_SECOND, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_MISSION_UNIT}},
			{"hardship_area", func(h *pb.Household) { h.Servicemember.PostType = pb.PostType_POST_TYPE_HARDSHIP_AREA },
				pb.CasePriority_CASE_PRIORITY_SECOND, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_HARDSHIP_AREA}},
			{"hardship_household", func(h *pb.Household) { h.Hardship = true },
				pb.CasePriority_CASE_PRIORITY_SECOND, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_HARDSHIP_HOUSEHOLD}},
			// A martyr's last post decides nothing more: posts count while
			// the servicemember serves (domain.ComputePriority).
			{"martyr_and_mission", func(h *pb.Household) {
				h.Servicemember.Status = pb.ServicememberStatus_SERVICEMEMBER_STATUS_MARTYR
				h.Servicemember.PostType = pb.PostType_POST_TYPE_MISSION_UNIT
			}, pb.CasePriority_CASE_PRIORITY_FIRST, []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_MARTYR_FAMILY}},
			{"decorated_on_a_mission", func(h *pb.Household) {
				h.Servicemember.Decorated, h.Servicemember.Honour = true, "二等功"
				h.Servicemember.PostType = pb.PostType_POST_TYPE_MISSION_UNIT
			}, pb.CasePriority_CASE_PRIORITY_SECOND, []pb.PriorityReason{
				pb.PriorityReason_PRIORITY_REASON_MISSION_UNIT, pb.PriorityReason_PRIORITY_REASON_MERITORIOUS}},
			{"border_and_hardship_household", func(h *pb.Household) {
				h.Servicemember.PostType = pb.PostType_POST_TYPE_BORDER_COASTAL_DEFENCE
				h.Hardship = true
			}, pb.CasePriority_CASE_PRIORITY_FIRST, []pb.PriorityReason{
				pb.PriorityReason_PRIORITY_REASON_BORDER_COASTAL_DEFENCE, pb.PriorityReason_PRIORITY_REASON_HARDSHIP_HOUSEHOLD}},
			{"regular", nil, pb.CasePriority_CASE_PRIORITY_NORMAL, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var mods []func(*pb.Household)
				if tt.mod != nil {
					mods = append(mods, tt.mod)
				}
				h := must(c.CreateHousehold(e.newHousehold(mods...))).ok(t)
				spouse := must(c.CreateMember(h.GetName(), e.newMember(pb.Relation_RELATION_SPOUSE, "李娜", spouseBirth))).ok(t)
				cs := must(c.CreateCase(legalAidCase(family{household: h}, spouse))).ok(t)
				for _, got := range []*pb.Case{cs, must(c.GetCase(cs.GetName())).ok(t)} {
					if got.GetPriority() != tt.priority || !slices.Equal(got.GetPriorityReasons(), tt.reasons) {
						t.Errorf("priority = %v %v, want %v %v", got.GetPriority(), got.GetPriorityReasons(), tt.priority, tt.reasons)
					}
				}
			})
		}

		t.Run("typed_in_priority_is_ignored_or_refused", func(t *testing.T) {
			f := e.family(t, c)
			cs := legalAidCase(f, f.spouse)
			cs.Priority = pb.CasePriority_CASE_PRIORITY_FIRST
			got, err := c.CreateCase(cs)
			if err == nil && got.GetPriority() != pb.CasePriority_CASE_PRIORITY_NORMAL {
				t.Errorf("a typed-in priority was kept: %v", got.GetPriority())
			}
		})

		t.Run("recomputed_at_submit", func(t *testing.T) {
			f := e.family(t, c)
			cs := must(c.CreateCase(legalAidCase(f, f.spouse))).ok(t)
			fresh := must(c.GetHousehold(f.household.GetName())).ok(t)
			fresh.Category = pb.HouseholdCategory_HOUSEHOLD_CATEGORY_MARTYR_FAMILY
			must(c.UpdateHousehold(fresh, "category")).ok(t)
			sub := must(c.Submit(cs.GetName(), "")).ok(t)
			if sub.GetPriority() != pb.CasePriority_CASE_PRIORITY_FIRST ||
				!slices.Equal(sub.GetPriorityReasons(), []pb.PriorityReason{pb.PriorityReason_PRIORITY_REASON_MARTYR_FAMILY}) {
				t.Errorf("after the household became a martyr's family, submit gave %v %v", sub.GetPriority(), sub.GetPriorityReasons())
			}
		})

		// Due times as the law and the county count them from a submission
		// on Monday 2 March 2026 (clockBase, China time): legal aid's
		// decision 7 days (Civil Code day counting), medical help 3 days,
		// school enrolment 30 days, a placement the end of its year's plan.
		t.Run("due_times", func(t *testing.T) {
			e.setClock(clockBase)
			f := e.family(t, c)
			endOf := func(y int, m time.Month, d int) time.Time {
				return time.Date(y, m, d+1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).UTC()
			}
			for _, tt := range []struct {
				name string
				cs   *pb.Case
				kind pb.ClockKind
				rule string
				due  time.Time
			}{
				{"legal_aid_7_days", legalAidCase(f, f.child), pb.ClockKind_CLOCK_KIND_DECISION, "LEGAL_AID_DECISION_7D", endOf(2026, 3, 9)},
				{"elder_medical_help_3_days", elderCase(f), pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, "ELDER_SERVICE_TARGET", endOf(2026, 3, 5)},
				{"employment_placement_plan_end", employmentCase(f), pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, "PLACEMENT_PLAN_END", endOf(2026, 12, 31)},
				{"school_enrollment_30_days", schoolCase(f), pb.ClockKind_CLOCK_KIND_SERVICE_TARGET, "SCHOOL_SERVICE_TARGET", endOf(2026, 4, 1)},
			} {
				t.Run(tt.name, func(t *testing.T) {
					cs := must(c.CreateCase(tt.cs)).ok(t)
					before := e.clock.Now()
					sub := must(c.Submit(cs.GetName(), cs.GetEtag())).ok(t)
					after := e.clock.Now()
					st := sub.GetSubmitTime().AsTime()
					if st.Before(before.Add(-time.Millisecond)) || st.After(after.Add(time.Millisecond)) {
						t.Errorf("submitTime %v not within the submit call [%v, %v]", st, before, after)
					}
					stored := must(c.GetCase(cs.GetName())).ok(t)
					if !stored.GetSubmitTime().AsTime().Equal(st) || !stored.GetDueTime().AsTime().Equal(sub.GetDueTime().AsTime()) {
						t.Errorf("SubmitCase answered submitTime %v dueTime %v, but the stored case has %v %v",
							st, sub.GetDueTime().AsTime(), stored.GetSubmitTime().AsTime(), stored.GetDueTime().AsTime())
					}
					for _, got := range []*pb.Case{sub, stored} {
						if !got.GetDueTime().AsTime().Equal(tt.due) {
							t.Errorf("dueTime %v, want %v", got.GetDueTime().AsTime(), tt.due)
						}
						if len(got.GetClocks()) != 1 || got.GetClocks()[0].GetKind() != tt.kind || got.GetClocks()[0].GetPolicy() != tt.rule ||
							got.GetClocks()[0].GetState() != pb.ClockState_CLOCK_STATE_RUNNING {
							t.Errorf("clocks %v, want one running %s by %s", got.GetClocks(), tt.kind, tt.rule)
						}
						if !slices.Contains(got.GetPolicyBasis(), tt.rule) {
							t.Errorf("policy basis %v lacks %s", got.GetPolicyBasis(), tt.rule)
						}
					}
				})
			}
			// The school year caps the due time at the start of term (the
			// end of 31 August, China time) when that comes first.
			e.clock.Advance(time.Date(2026, 8, 20, 2, 0, 0, 0, time.UTC).Sub(e.clock.Now()))
			sc := schoolCase(f)
			sc.Subject = e.another(t, c, f).GetName() // the child's first school case is open
			sc.GetSchoolEnrollment().SchoolYear = "2026-2027"
			cs := must(c.CreateCase(sc)).ok(t)
			sub := must(c.Submit(cs.GetName(), "")).ok(t)
			if want := endOf(2026, 8, 31); !sub.GetDueTime().AsTime().Equal(want) {
				t.Errorf("school year 2026-2027 submitted 20 Aug: dueTime %v, want %v", sub.GetDueTime().AsTime(), want)
			}
		})
	})
}
