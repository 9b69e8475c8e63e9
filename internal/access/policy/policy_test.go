package policy

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// rpcs lists every method of every casework.v1 service, from the compiled
// descriptors: a method added to a proto shows up here without anyone
// remembering to list it.
func rpcs(t *testing.T) []string {
	t.Helper()
	var out []string
	// google.longrunning serves the operations too, through the same chain.
	for _, pkg := range []protoreflect.FullName{"casework.v1", "google.longrunning"} {
		protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
			for i := 0; i < fd.Services().Len(); i++ {
				svc := fd.Services().Get(i)
				for j := 0; j < svc.Methods().Len(); j++ {
					out = append(out, "/"+string(svc.FullName())+"/"+string(svc.Methods().Get(j).Name()))
				}
			}
			return true
		})
	}
	if len(out) < 30 {
		t.Fatalf("found only %d RPCs; are the generated packages linked?", len(out))
	}
	return out
}

func TestEveryRPCHasARule(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range rpcs(t) {
		seen[m] = true
		if len(Table[m]) == 0 {
			t.Errorf("%s has no policy rule: it would be refused to everyone", m)
		}
	}
	for m := range Table {
		if !seen[m] {
			t.Errorf("policy names %s, which no service has", m)
		}
	}
}

// expected is the roles table of SECURITY.md written out independently of
// Table: for each role, what it may do, by method-name pattern.
func expected(role principal.Role, method string) bool {
	name := method[strings.LastIndex(method, "/")+1:]
	svc := method[:strings.LastIndex(method, "/")]
	isRead := strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "BatchGet")
	isDelete := strings.HasPrefix(name, "Delete") || strings.HasPrefix(name, "Undelete")
	switch svc {
	case "/casework.v1.PolicyService", "/casework.v1.TownService":
		return true
	case "/casework.v1.SpreadsheetService":
		// Imports write as CreateHousehold does; exports read as lists do.
		if name == "ImportHouseholds" {
			return role == principal.Caseworker || role == principal.Supervisor || role == principal.Batch
		}
		return role == principal.Caseworker || role == principal.Supervisor || role == principal.Auditor || role == principal.Batch
	case "/casework.v1.OperationService", "/google.longrunning.Operations":
		// Whoever may start an operation follows it.
		return role == principal.Caseworker || role == principal.Supervisor || role == principal.Auditor || role == principal.Batch
	case "/casework.v1.AttachmentService":
		// The people who work a case keep its documents; an auditor sees
		// that they are there, never their contents; systems nothing.
		if role == principal.Auditor {
			return isRead
		}
		return role == principal.Caseworker || role == principal.Supervisor
	case "/casework.v1.ReportService":
		// The statistics: those who do or check the work, and nightly
		// jobs; the veterans-affairs system follows cases, not figures.
		return role == principal.Caseworker || role == principal.Supervisor || role == principal.Auditor || role == principal.Batch
	case "/casework.v1.TemplateService":
		// Those who register households: the same as CreateHousehold.
		return role == principal.Caseworker || role == principal.Supervisor || role == principal.Batch
	case "/casework.v1.ApiKeyService", "/casework.v1.WebhookService":
		return role == principal.Admin
	case "/casework.v1.AuditService":
		// The head is a hash and a number: the veterans-affairs system may
		// record it outside the county's database.
		if name == "GetAuditLogHead" {
			return role == principal.Auditor || role == principal.Admin || role == principal.Integration
		}
		return role == principal.Auditor || role == principal.Admin
	case "/casework.v1.HouseholdService":
		// Transfers are people's work; merging two families' records is a
		// supervisor's decision.
		transfer := strings.Contains(name, "Transfer")
		switch role {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return name != "MergeHouseholds"
		case principal.Batch:
			return !isDelete && !transfer && name != "MergeHouseholds"
		case principal.Integration:
			return isRead || name == "LookupHousehold" || name == "BatchLookupHouseholds"
		case principal.Auditor:
			return isRead
		}
		return false
	case "/casework.v1.CaseService":
		decision := map[string]bool{"AcceptCase": true, "RejectCase": true, "CloseCase": true, "ReopenCase": true,
			"DecideEligibility": true, "TerminateCase": true, "DecideObjection": true, "BatchAssignCases": true}[name]
		switch role {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return !decision
		case principal.Auditor:
			return isRead
		case principal.Integration, principal.Batch:
			return isRead || name == "CreateCase" || name == "BatchCreateCases"
		}
		return false
	case "/casework.v1.AssigneeService":
		// Supervisors keep the directory; readers of cases read it.
		switch role {
		case principal.Supervisor:
			return true
		case principal.Caseworker, principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
		return false
	case "/casework.v1.CampaignService":
		switch role {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return isRead || name == "CreateVisit"
		case principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
		return false
	case "/casework.v1.LedgerService":
		switch role {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return name != "UpdateContactPolicy"
		case principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
		return false
	case "/casework.v1.MeasureService":
		switch role {
		case principal.Supervisor:
			return true
		case principal.Caseworker:
			return name != "ApproveMeasure" && name != "ExitMeasure"
		case principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
		return false
	case "/casework.v1.RecruitmentService":
		// Caseworkers and supervisors run recruitment; readers follow it.
		switch role {
		case principal.Caseworker, principal.Supervisor:
			return true
		case principal.Auditor, principal.Integration, principal.Batch:
			return isRead
		}
		return false
	case "/casework.v1.ReferralService":
		// Agencies: everyone reads, admins and supervisors keep them.
		// Referrals: read and written as cases' notes are.
		switch {
		case strings.HasSuffix(name, "Agency") || name == "ListAgencies":
			return isRead || role == principal.Admin || role == principal.Supervisor
		case role == principal.Caseworker || role == principal.Supervisor:
			return true
		}
		return isRead && role != principal.Admin
	case "/casework.v1.AlertService":
		return role == principal.Caseworker || role == principal.Supervisor
	case "/casework.v1.EventService":
		if name == "WatchEvents" {
			return role == principal.Supervisor || role == principal.Auditor || role == principal.Integration
		}
		return role != principal.Caseworker && role != principal.Admin
	}
	return false
}

func TestRoleMethodMatrix(t *testing.T) {
	for _, m := range rpcs(t) {
		for _, r := range principal.Roles {
			p := &principal.Principal{ID: "x", Roles: []principal.Role{r}}
			if got, want := Allowed(p, m), expected(r, m); got != want {
				t.Errorf("%s calling %s: allowed = %v, want %v", r, m, got, want)
			}
		}
		if Allowed(nil, m) || Allowed(&principal.Principal{ID: "no-roles"}, m) {
			t.Errorf("%s allowed without a role", m)
		}
	}
}

func TestMayViewFullIn(t *testing.T) {
	worker := &principal.Principal{ID: "w", Roles: []principal.Role{principal.Caseworker}, Towns: []string{"500230101"}}
	countySupervisor := &principal.Principal{ID: "s", Roles: []principal.Role{principal.Supervisor}}
	auditor := &principal.Principal{ID: "a", Roles: []principal.Role{principal.Auditor}}
	for _, tc := range []struct {
		p      *principal.Principal
		towns  []string
		county bool
		want   bool
	}{
		{worker, []string{"500230101"}, false, true},
		{worker, []string{"500230101", "500230102"}, false, false},
		{worker, nil, false, false},
		{worker, nil, true, true},
		{countySupervisor, nil, false, true},
		{countySupervisor, []string{"500230102"}, false, true},
		{auditor, nil, true, false},
		{auditor, []string{"500230101"}, false, false},
	} {
		if got := MayViewFullIn(tc.p, tc.towns, tc.county); got != tc.want {
			t.Errorf("%s, towns %v, county %v: %v, want %v", tc.p.ID, tc.towns, tc.county, got, tc.want)
		}
	}
}

func TestNoCasewriteMethodIsPublic(t *testing.T) {
	for m := range Public {
		if strings.HasPrefix(m, "/casework.") {
			t.Errorf("%s is public", m)
		}
	}
}

func towns(ts ...string) principal.Scope { return principal.Scope{Towns: ts} }

var countyScope = principal.Scope{All: true}

// TestMixedRoleScope checks that each right reaches only as far as the
// role that grants it, whatever else the caller holds.
func TestMixedRoleScope(t *testing.T) {
	const (
		getHousehold    = householdSvc + "GetHousehold"
		updateHousehold = householdSvc + "UpdateHousehold"
		createNote      = caseSvc + "CreateNote"
		acceptCase      = caseSvc + "AcceptCase"
		listEvents      = eventSvc + "ListEvents"
		lookup          = householdSvc + "LookupHousehold"
	)
	tests := []struct {
		name   string
		roles  []principal.Role
		towns  []string
		method string
		want   principal.Scope
	}{
		{"caseworker alone", roles(principal.Caseworker), []string{"500230001"}, getHousehold, towns("500230001")},
		{"caseworker of no town", roles(principal.Caseworker), nil, getHousehold, towns()},
		{"caseworker+auditor reads county-wide", roles(principal.Caseworker, principal.Auditor), []string{"500230001"}, getHousehold, countyScope},
		{"caseworker+auditor writes in own towns", roles(principal.Caseworker, principal.Auditor), []string{"500230001"}, updateHousehold, towns("500230001")},
		{"caseworker+auditor looks up in own towns", roles(principal.Caseworker, principal.Auditor), []string{"500230001"}, lookup, towns("500230001")},
		{"caseworker+integration notes in own towns", roles(principal.Caseworker, principal.Integration), []string{"500230001"}, createNote, towns("500230001")},
		{"caseworker+integration named towns read there", roles(principal.Caseworker, principal.Integration), []string{"500230001"}, getHousehold, towns("500230001")},
		{"supervisor county-wide", roles(principal.Supervisor), nil, acceptCase, countyScope},
		{"supervisor limited to towns", roles(principal.Supervisor), []string{"500230002"}, getHousehold, towns("500230002")},
		{"supervisor limited decides there", roles(principal.Supervisor), []string{"500230002"}, acceptCase, towns("500230002")},
		{"integration county-wide", roles(principal.Integration), nil, getHousehold, countyScope},
		{"batch with towns", roles(principal.Batch), []string{"500230003"}, updateHousehold, towns("500230003")},
		{"auditor with towns is still county-wide", roles(principal.Auditor), []string{"500230003"}, getHousehold, countyScope},
		{"auditor+supervisor limited: feed county-wide by the auditor", roles(principal.Auditor, principal.Supervisor), []string{"500230002"}, listEvents, countyScope},
		{"role that may not call gets nothing", roles(principal.Admin), nil, getHousehold, principal.Scope{}},
	}
	for _, tt := range tests {
		p := &principal.Principal{ID: "x", Roles: tt.roles, Towns: tt.towns}
		got := Scope(p, tt.method)
		if got.All != tt.want.All || !slices.Equal(got.Towns, tt.want.Towns) {
			t.Errorf("%s: Scope(%s) = %+v, want %+v", tt.name, tt.method, got, tt.want)
		}
	}
}

func TestCountyWideOnlyMethods(t *testing.T) {
	for _, tt := range []struct {
		roles []principal.Role
		towns []string
		ok    bool
	}{
		{roles(principal.Supervisor), nil, true},
		{roles(principal.Supervisor), []string{"500230001"}, false},
		{roles(principal.Integration), []string{"500230001"}, false},
		{roles(principal.Batch), nil, true},
		{roles(principal.Auditor), []string{"500230001"}, true},
	} {
		p := &principal.Principal{ID: "x", Roles: tt.roles, Towns: tt.towns}
		_, err := Admit(p, eventSvc+"ListEvents")
		if (err == nil) != tt.ok {
			t.Errorf("%v towns %v reading the feed: err = %v, want ok = %v", tt.roles, tt.towns, err, tt.ok)
		}
	}
}

func TestFullViewScope(t *testing.T) {
	for _, tt := range []struct {
		name  string
		roles []principal.Role
		towns []string
		town  string
		want  bool
	}{
		{"caseworker in own town", roles(principal.Caseworker), []string{"500230001"}, "500230001", true},
		{"caseworker elsewhere", roles(principal.Caseworker), []string{"500230001"}, "500230002", false},
		{"caseworker+auditor elsewhere", roles(principal.Caseworker, principal.Auditor), []string{"500230001"}, "500230002", false},
		{"supervisor county-wide", roles(principal.Supervisor), nil, "500230002", true},
		{"supervisor limited elsewhere", roles(principal.Supervisor), []string{"500230001"}, "500230002", false},
		{"auditor", roles(principal.Auditor), nil, "500230001", false},
		{"integration", roles(principal.Integration), nil, "500230001", false},
		{"batch", roles(principal.Batch), nil, "500230001", false},
	} {
		p := &principal.Principal{ID: "x", Roles: tt.roles, Towns: tt.towns}
		if got := MayViewFull(p, tt.town); got != tt.want {
			t.Errorf("%s: MayViewFull = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestKeyGrants(t *testing.T) {
	for _, tt := range []struct {
		roles       []principal.Role
		peopleRoles bool
		approval    bool
		refused     bool
	}{
		{roles(principal.Integration), false, false, false},
		{roles(principal.Batch, principal.Integration), false, false, false},
		{roles(principal.Supervisor), false, false, true},
		{roles(principal.Integration, principal.Caseworker), false, false, true},
		{roles(principal.Admin), false, false, true},
		{roles(principal.Auditor), true, true, false},
		{roles(principal.Batch), true, false, false},
	} {
		approval, err := KeyNeedsApproval(tt.roles, tt.peopleRoles)
		if approval != tt.approval || (err != nil) != tt.refused {
			t.Errorf("%v (people roles %v): approval %v, err %v; want %v, refused %v", tt.roles, tt.peopleRoles, approval, err, tt.approval, tt.refused)
		}
	}
}

// TestBatchUpdateNeedsUpdateRights: BatchCreateHouseholds in UPDATE mode
// changes registered households as UpdateHousehold does, so whoever may
// call the one must be allowed the other; and a batch lookup is a lookup.
func TestBatchUpdateNeedsUpdateRights(t *testing.T) {
	for batch, single := range map[string]string{
		householdSvc + "BatchCreateHouseholds": householdSvc + "UpdateHousehold",
		householdSvc + "BatchLookupHouseholds": householdSvc + "LookupHousehold",
		householdSvc + "BatchCreateMembers":    householdSvc + "CreateMember",
	} {
		if !slices.Equal(Table[batch], Table[single]) {
			t.Errorf("%s is allowed to %v, %s to %v", batch, Table[batch], single, Table[single])
		}
	}
}
