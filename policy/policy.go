// Package policy is the one table of who may call what. Every RPC is listed
// with the roles allowed to call it; a method missing from the table is
// refused, so a new RPC stays closed until someone decides who may use it.
// A test walks every RPC of every service against every role.
package policy

import (
	"slices"

	"github.com/fengdu-county/casework/principal"
)

const (
	householdSvc = "/casework.v1.HouseholdService/"
	caseSvc      = "/casework.v1.CaseService/"
	apiKeySvc    = "/casework.v1.ApiKeyService/"
	auditSvc     = "/casework.v1.AuditService/"
	eventSvc     = "/casework.v1.EventService/"
	webhookSvc   = "/casework.v1.WebhookService/"
)

var (
	// readers see households and cases (each within their scope).
	readers = roles(principal.Caseworker, principal.Supervisor, principal.Auditor, principal.Integration, principal.Batch)
	// registrars keep the household register.
	registrars = roles(principal.Caseworker, principal.Supervisor, principal.Batch)
	// openers may open a case: the veterans-affairs system too.
	openers = roles(principal.Caseworker, principal.Supervisor, principal.Integration, principal.Batch)
	// workers move a case through its daily work.
	workers = roles(principal.Caseworker, principal.Supervisor)
	// deciders accept, reject, close and reopen.
	deciders = roles(principal.Supervisor)
	admins   = roles(principal.Admin)
	auditors = roles(principal.Auditor, principal.Admin)
	// followers read the change feed: names and etags, never values. The
	// service refuses credentials limited to some towns, as the feed is
	// county-wide.
	followers = roles(principal.Supervisor, principal.Auditor, principal.Integration, principal.Batch)
	// anchorers read the audit chain's head to record it outside the
	// database: a hash and a sequence number, nothing about anyone.
	anchorers = roles(principal.Auditor, principal.Admin, principal.Integration)
)

func roles(r ...principal.Role) []principal.Role { return r }

// Table maps each RPC's full method name to the roles that may call it.
var Table = map[string][]principal.Role{
	householdSvc + "CreateHousehold":       registrars,
	householdSvc + "GetHousehold":          readers,
	householdSvc + "ListHouseholds":        readers,
	householdSvc + "UpdateHousehold":       registrars,
	householdSvc + "DeleteHousehold":       registrars,
	householdSvc + "UndeleteHousehold":     registrars,
	householdSvc + "LookupHousehold":       readers,
	householdSvc + "BatchCreateHouseholds": registrars,
	householdSvc + "BatchGetHouseholds":    readers,
	householdSvc + "CreateMember":          registrars,
	householdSvc + "GetMember":             readers,
	householdSvc + "ListMembers":           readers,
	householdSvc + "UpdateMember":          registrars,
	householdSvc + "DeleteMember":          registrars,

	caseSvc + "CreateCase":       openers,
	caseSvc + "BatchCreateCases": openers,
	caseSvc + "BatchGetCases":    readers,
	caseSvc + "GetCase":          readers,
	caseSvc + "ListCases":        readers,
	caseSvc + "UpdateCase":       workers,
	caseSvc + "SubmitCase":       workers,
	caseSvc + "AcceptCase":       deciders,
	caseSvc + "RejectCase":       deciders,
	caseSvc + "AssignCase":       workers,
	caseSvc + "StartCase":        workers,
	caseSvc + "ResolveCase":      workers,
	caseSvc + "CloseCase":        deciders,
	caseSvc + "ReopenCase":       deciders,
	caseSvc + "WithdrawCase":     workers,
	caseSvc + "CreateNote":       workers,
	caseSvc + "ListNotes":        readers,
	caseSvc + "ListCaseHistory":  readers,

	apiKeySvc + "CreateApiKey": admins,
	apiKeySvc + "GetApiKey":    admins,
	apiKeySvc + "ListApiKeys":  admins,
	apiKeySvc + "RevokeApiKey": admins,

	auditSvc + "ListAuditLogs":   auditors,
	auditSvc + "GetAuditLogHead": anchorers,

	eventSvc + "WatchEvents": followers,
	eventSvc + "ListEvents":  followers,

	webhookSvc + "CreateWebhook":         admins,
	webhookSvc + "GetWebhook":            admins,
	webhookSvc + "ListWebhooks":          admins,
	webhookSvc + "DeleteWebhook":         admins,
	webhookSvc + "ListWebhookDeliveries": admins,
}

// Public methods need no credentials: health checks and reflection, which
// reveal nothing but the API's shape.
var Public = map[string]bool{
	"/grpc.health.v1.Health/Check":                                   true,
	"/grpc.health.v1.Health/Watch":                                   true,
	"/grpc.health.v1.Health/List":                                    true,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
}

// Allowed reports whether p may call method.
func Allowed(p *principal.Principal, method string) bool {
	if p == nil {
		return false
	}
	for _, r := range Table[method] {
		if p.Has(r) {
			return true
		}
	}
	return false
}

// FullViewRoles may ask for unmasked ID and phone numbers, each view audited.
var FullViewRoles = roles(principal.Caseworker, principal.Supervisor)

// MayViewFull reports whether p may see sensitive fields unmasked.
func MayViewFull(p *principal.Principal) bool {
	return p != nil && slices.ContainsFunc(FullViewRoles, p.Has)
}
