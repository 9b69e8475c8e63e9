package policy

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/principal"
)

// rpcs lists every method of every casework.v1 service, from the compiled
// descriptors: a method added to a proto shows up here without anyone
// remembering to list it.
func rpcs(t *testing.T) []string {
	t.Helper()
	var out []string
	protoregistry.GlobalFiles.RangeFilesByPackage("casework.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			svc := fd.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				out = append(out, "/"+string(svc.FullName())+"/"+string(svc.Methods().Get(j).Name()))
			}
		}
		return true
	})
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
	isRead := strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Lookup") ||
		strings.HasPrefix(name, "BatchGet")
	switch svc {
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
		switch role {
		case principal.Caseworker, principal.Supervisor, principal.Batch:
			return true
		case principal.Auditor, principal.Integration:
			return isRead
		}
		return false
	case "/casework.v1.CaseService":
		decision := map[string]bool{"AcceptCase": true, "RejectCase": true, "CloseCase": true, "ReopenCase": true}[name]
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
	case "/casework.v1.EventService":
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

func TestNoCasewriteMethodIsPublic(t *testing.T) {
	for m := range Public {
		if strings.HasPrefix(m, "/casework.") {
			t.Errorf("%s is public", m)
		}
	}
}
