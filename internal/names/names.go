// Package names is the one place resource names are built and parsed
// (AIP-122): `households/{household}`, `cases/{case}/notes/{note}` and the
// rest. Each kind of name is a type, so a case's id cannot be passed where
// a household's is wanted, and nothing else concatenates the strings.
//
// Parsing accepts only ids this server issues (UUIDs in canonical form; for
// API keys, 12 lower-case base32 characters), so a name that could hold an
// ID or phone number never reaches a query, a log or the audit trail.
package names

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// The ids the server issues.
var (
	uuidID   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	apiKeyID = regexp.MustCompile(`^[a-z2-7]{12}$`)
	seqID    = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	// Rule ids and town codes are the county's, not issued per request.
	policyID = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,63}$`)
	townCode = regexp.MustCompile(`^[0-9]{9}$`)
	// agencyID is an agency's short code, chosen when it is added.
	agencyID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)
	// Assignee ids are the staff's sign-in names (Case.assignee), chosen
	// by the county, in AIP-122's form; starting with a letter keeps an ID
	// or phone number from ever being one.
	assigneeID = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Name is any resource name.
type Name interface {
	String() string
	// Collection is the name's pattern, e.g. "households/{household}/members/{member}".
	Collection() string
}

// Household is `households/{household}`.
type Household struct{ ID string }

// Member is `households/{household}/members/{member}`.
type Member struct{ HouseholdID, ID string }

// Case is `cases/{case}`.
type Case struct{ ID string }

// Note is `cases/{case}/notes/{note}`.
type Note struct{ CaseID, ID string }

// Attachment is `cases/{case}/attachments/{attachment}`.
type Attachment struct{ CaseID, ID string }

// APIKey is `apiKeys/{api_key}`.
type APIKey struct{ ID string }

// Webhook is `webhooks/{webhook}`.
type Webhook struct{ ID string }

// Delivery is `webhooks/{webhook}/deliveries/{delivery}`.
type Delivery struct{ WebhookID, ID string }

// AuditLog is `auditLogs/{sequence}`.
type AuditLog struct{ Seq int64 }

// StatusChange is `households/{household}/statusChanges/{status_change}`.
type StatusChange struct{ HouseholdID, ID string }

// Organization is `organizations/{organization}`: a signatory of the
// preferential-measures ledger.
type Organization struct{ ID string }

// Measure is `organizations/{organization}/measures/{measure}`.
type Measure struct{ OrganizationID, ID string }

// MeasureReview is `organizations/{organization}/measures/{measure}/reviews/{review}`.
type MeasureReview struct{ OrganizationID, MeasureID, ID string }

// Complaint is `organizations/{organization}/measures/{measure}/complaints/{complaint}`.
type Complaint struct{ OrganizationID, MeasureID, ID string }

// Policy is `policies/{policy}`: a rule of the table, by its id.
type Policy struct{ ID string }

// Town is `towns/{town}`: a town or sub-district, by its code.
type Town struct{ Code string }

// Assignee is `assignees/{assignee}`, an entry of the assignee directory.
type Assignee struct{ ID string }

// AssigneeWorkload is `assignees/{assignee}/workload`, a singleton.
type AssigneeWorkload struct{ AssigneeID string }

// Campaign is `campaigns/{campaign}`.
type Campaign struct{ ID string }

// Visit is `campaigns/{campaign}/visits/{visit}`.
type Visit struct{ CampaignID, ID string }

// CampaignTarget is `campaigns/{campaign}/targets/{target}`, the target's
// id being its household's.
type CampaignTarget struct{ CampaignID, HouseholdID string }

// CampaignCoverage is `campaigns/{campaign}/coverage`, a singleton.
type CampaignCoverage struct{ CampaignID string }

// Contact is a contact with a household (the household ledger).
type Contact struct{ HouseholdID, ID string }

// Assistance is hardship assistance given to a household.
type Assistance struct{ HouseholdID, ID string }

// ContactPolicy is the county's contact policy, a singleton.
type ContactPolicy struct{}

// Ledger is a household's ledger, read whole.
type Ledger struct{ HouseholdID string }

// RecruitmentEvent is `recruitmentEvents/{recruitment_event}`.
type RecruitmentEvent struct{ ID string }

// Invitation is `recruitmentEvents/{recruitment_event}/invitations/{invitation}`.
type Invitation struct{ EventID, ID string }

// Application is `recruitmentEvents/{recruitment_event}/applications/{application}`.
type Application struct{ EventID, ID string }

func (n Household) String() string { return "households/" + n.ID }
func (n Member) String() string    { return Household{n.HouseholdID}.String() + "/members/" + n.ID }
func (n Case) String() string      { return "cases/" + n.ID }
func (n Note) String() string      { return Case{n.CaseID}.String() + "/notes/" + n.ID }
func (n APIKey) String() string    { return "apiKeys/" + n.ID }
func (n Webhook) String() string   { return "webhooks/" + n.ID }
func (n Delivery) String() string  { return Webhook{n.WebhookID}.String() + "/deliveries/" + n.ID }
func (n AuditLog) String() string  { return "auditLogs/" + strconv.FormatInt(n.Seq, 10) }
func (n StatusChange) String() string {
	return Household{n.HouseholdID}.String() + "/statusChanges/" + n.ID
}
func (n Policy) String() string   { return "policies/" + n.ID }
func (n Town) String() string     { return "towns/" + n.Code }
func (n Campaign) String() string { return "campaigns/" + n.ID }
func (n Assignee) String() string { return "assignees/" + n.ID }
func (n AssigneeWorkload) String() string {
	return Assignee{n.AssigneeID}.String() + "/workload"
}
func (n Visit) String() string { return Campaign{n.CampaignID}.String() + "/visits/" + n.ID }
func (n CampaignTarget) String() string {
	return Campaign{n.CampaignID}.String() + "/targets/" + n.HouseholdID
}
func (n CampaignCoverage) String() string { return Campaign{n.CampaignID}.String() + "/coverage" }
func (n Contact) String() string {
	return Household{n.HouseholdID}.String() + "/contacts/" + n.ID
}
func (n Assistance) String() string {
	return Household{n.HouseholdID}.String() + "/assistance/" + n.ID
}
func (ContactPolicy) String() string  { return "contactPolicy" }
func (n Ledger) String() string       { return Household{n.HouseholdID}.String() + "/ledger" }
func (n Organization) String() string { return "organizations/" + n.ID }
func (n Measure) String() string {
	return Organization{n.OrganizationID}.String() + "/measures/" + n.ID
}
func (n MeasureReview) String() string {
	return Measure{n.OrganizationID, n.MeasureID}.String() + "/reviews/" + n.ID
}
func (n Complaint) String() string {
	return Measure{n.OrganizationID, n.MeasureID}.String() + "/complaints/" + n.ID
}
func (n RecruitmentEvent) String() string { return "recruitmentEvents/" + n.ID }
func (n Invitation) String() string {
	return RecruitmentEvent{n.EventID}.String() + "/invitations/" + n.ID
}
func (n Application) String() string {
	return RecruitmentEvent{n.EventID}.String() + "/applications/" + n.ID
}

func (Household) Collection() string { return "households/{household}" }
func (Member) Collection() string    { return "households/{household}/members/{member}" }
func (Case) Collection() string      { return "cases/{case}" }
func (Note) Collection() string      { return "cases/{case}/notes/{note}" }
func (APIKey) Collection() string    { return "apiKeys/{api_key}" }
func (Webhook) Collection() string   { return "webhooks/{webhook}" }
func (Delivery) Collection() string  { return "webhooks/{webhook}/deliveries/{delivery}" }
func (AuditLog) Collection() string  { return "auditLogs/{sequence}" }
func (StatusChange) Collection() string {
	return "households/{household}/statusChanges/{status_change}"
}
func (Policy) Collection() string   { return "policies/{policy}" }
func (Town) Collection() string     { return "towns/{town}" }
func (Campaign) Collection() string { return "campaigns/{campaign}" }
func (Assignee) Collection() string { return "assignees/{assignee}" }
func (AssigneeWorkload) Collection() string {
	return "assignees/{assignee}/workload"
}
func (Visit) Collection() string { return "campaigns/{campaign}/visits/{visit}" }
func (CampaignTarget) Collection() string {
	return "campaigns/{campaign}/targets/{target}"
}
func (CampaignCoverage) Collection() string { return "campaigns/{campaign}/coverage" }
func (Contact) Collection() string {
	return "households/{household}/contacts/{contact}"
}
func (Assistance) Collection() string {
	return "households/{household}/assistance/{assistance}"
}
func (ContactPolicy) Collection() string { return "contactPolicy" }
func (Ledger) Collection() string        { return "households/{household}/ledger" }
func (Organization) Collection() string  { return "organizations/{organization}" }
func (Measure) Collection() string {
	return "organizations/{organization}/measures/{measure}"
}
func (MeasureReview) Collection() string {
	return "organizations/{organization}/measures/{measure}/reviews/{review}"
}
func (Complaint) Collection() string {
	return "organizations/{organization}/measures/{measure}/complaints/{complaint}"
}
func (RecruitmentEvent) Collection() string { return "recruitmentEvents/{recruitment_event}" }
func (Invitation) Collection() string {
	return "recruitmentEvents/{recruitment_event}/invitations/{invitation}"
}
func (Application) Collection() string {
	return "recruitmentEvents/{recruitment_event}/applications/{application}"
}

// Organization returns the measure's organization.
func (n Measure) Organization() Organization { return Organization{n.OrganizationID} }

// Measure returns the complaint's measure.
func (n Complaint) Measure() Measure { return Measure{n.OrganizationID, n.MeasureID} }

// Measure returns the review's measure.
func (n MeasureReview) Measure() Measure { return Measure{n.OrganizationID, n.MeasureID} }

// Agency is `agencies/{agency}`, a partner agency of the county.
type Agency struct{ ID string }

// Referral is `cases/{case}/referrals/{referral}`.
type Referral struct{ CaseID, ID string }

// Alert is `alerts/{alert}`, a warning of a deadline.
type Alert struct{ ID string }

func (n Agency) String() string   { return "agencies/" + n.ID }
func (n Referral) String() string { return Case{n.CaseID}.String() + "/referrals/" + n.ID }
func (n Alert) String() string    { return "alerts/" + n.ID }

func (Agency) Collection() string   { return "agencies/{agency}" }
func (Referral) Collection() string { return "cases/{case}/referrals/{referral}" }
func (Alert) Collection() string    { return "alerts/{alert}" }

// Case returns the referral's case.
func (n Referral) Case() Case { return Case{n.CaseID} }

// Operation is `operations/{operation}`, a long-running operation.
type Operation struct{ ID string }

func (n Operation) String() string   { return "operations/" + n.ID }
func (Operation) Collection() string { return "operations/{operation}" }

// CaseStatistics is `reports/caseStatistics`, a singleton computed per call.
type CaseStatistics struct{}

func (CaseStatistics) String() string     { return "reports/caseStatistics" }
func (CaseStatistics) Collection() string { return "reports/caseStatistics" }

// Household returns the member's household.
func (n Member) Household() Household { return Household{n.HouseholdID} }

// Case returns the note's case.
func (n Note) Case() Case { return Case{n.CaseID} }

// Case returns the attachment's case.
func (n Attachment) Case() Case { return Case{n.CaseID} }

func (n Attachment) String() string { return Case{n.CaseID}.String() + "/attachments/" + n.ID }

// Collection is the attachment's pattern.
func (Attachment) Collection() string { return "cases/{case}/attachments/{attachment}" }

// ErrMalformed refuses a text that is not a name this server issues.
var ErrMalformed = errors.New("not a resource name of this API")

// kind is one pattern: its collection segments and how each id must look.
type kind struct {
	segments []string
	ids      []*regexp.Regexp
	build    func(ids []string) Name
}

var kinds = []kind{
	{[]string{"households"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Household{ids[0]} }},
	{[]string{"households", "members"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Member{ids[0], ids[1]} }},
	{[]string{"cases"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Case{ids[0]} }},
	{[]string{"cases", "notes"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Note{ids[0], ids[1]} }},
	{[]string{"cases", "attachments"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Attachment{ids[0], ids[1]} }},
	{[]string{"apiKeys"}, []*regexp.Regexp{apiKeyID}, func(ids []string) Name { return APIKey{ids[0]} }},
	{[]string{"webhooks"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Webhook{ids[0]} }},
	{[]string{"webhooks", "deliveries"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Delivery{ids[0], ids[1]} }},
	{[]string{"households", "statusChanges"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return StatusChange{ids[0], ids[1]} }},
	{[]string{"organizations"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Organization{ids[0]} }},
	{[]string{"organizations", "measures"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Measure{ids[0], ids[1]} }},
	{[]string{"organizations", "measures", "reviews"}, []*regexp.Regexp{uuidID, uuidID, uuidID}, func(ids []string) Name { return MeasureReview{ids[0], ids[1], ids[2]} }},
	{[]string{"organizations", "measures", "complaints"}, []*regexp.Regexp{uuidID, uuidID, uuidID}, func(ids []string) Name { return Complaint{ids[0], ids[1], ids[2]} }},
	{[]string{"policies"}, []*regexp.Regexp{policyID}, func(ids []string) Name { return Policy{ids[0]} }},
	{[]string{"towns"}, []*regexp.Regexp{townCode}, func(ids []string) Name { return Town{ids[0]} }},
	{[]string{"campaigns"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Campaign{ids[0]} }},
	{[]string{"assignees"}, []*regexp.Regexp{assigneeID}, func(ids []string) Name { return Assignee{ids[0]} }},
	{[]string{"campaigns", "visits"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Visit{ids[0], ids[1]} }},
	{[]string{"campaigns", "targets"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return CampaignTarget{ids[0], ids[1]} }},
	{[]string{"households", "contacts"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Contact{ids[0], ids[1]} }},
	{[]string{"households", "assistance"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Assistance{ids[0], ids[1]} }},
	{[]string{"recruitmentEvents"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return RecruitmentEvent{ids[0]} }},
	{[]string{"recruitmentEvents", "invitations"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Invitation{ids[0], ids[1]} }},
	{[]string{"recruitmentEvents", "applications"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Application{ids[0], ids[1]} }},
	{[]string{"operations"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Operation{ids[0]} }},
	{[]string{"agencies"}, []*regexp.Regexp{agencyID}, func(ids []string) Name { return Agency{ids[0]} }},
	{[]string{"cases", "referrals"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Referral{ids[0], ids[1]} }},
	{[]string{"alerts"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Alert{ids[0]} }},
	{[]string{"auditLogs"}, []*regexp.Regexp{seqID}, func(ids []string) Name {
		n, _ := strconv.ParseInt(ids[0], 10, 64)
		return AuditLog{n}
	}},
}

// Parse reads any name this server issues.
func Parse(s string) (Name, error) {
	switch s {
	case ContactPolicy{}.String():
		return ContactPolicy{}, nil
	case CaseStatistics{}.String():
		return CaseStatistics{}, nil
	}
	if a, ok := strings.CutSuffix(s, "/workload"); ok {
		if n, err := As[Assignee](a); err == nil {
			return AssigneeWorkload{n.ID}, nil
		}
	}
	if h, ok := strings.CutSuffix(s, "/ledger"); ok {
		if n, err := As[Household](h); err == nil {
			return Ledger{n.ID}, nil
		}
	}
	parts := strings.Split(s, "/")
	for _, k := range kinds {
		if ids, ok := k.match(parts); ok {
			return k.build(ids), nil
		}
	}
	return nil, ErrMalformed
}

func (k kind) match(parts []string) ([]string, bool) {
	if len(parts) != 2*len(k.segments) {
		return nil, false
	}
	ids := make([]string, len(k.segments))
	for i, seg := range k.segments {
		if parts[2*i] != seg || !k.ids[i].MatchString(parts[2*i+1]) {
			return nil, false
		}
		ids[i] = parts[2*i+1]
	}
	return ids, true
}

// As parses s as a name of type T.
func As[T Name](s string) (T, error) {
	var zero T
	n, err := Parse(s)
	if err != nil {
		return zero, err
	}
	t, ok := n.(T)
	if !ok {
		return zero, ErrMalformed
	}
	return t, nil
}

// Issued reports whether s is a name this server issues.
func Issued(s string) bool {
	_, err := Parse(s)
	return err == nil
}
