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

// Policy is `policies/{policy}`: a rule of the table, by its id.
type Policy struct{ ID string }

// Town is `towns/{town}`: a town or sub-district, by its code.
type Town struct{ Code string }

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
func (n Policy) String() string           { return "policies/" + n.ID }
func (n Town) String() string             { return "towns/" + n.Code }
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
func (Policy) Collection() string           { return "policies/{policy}" }
func (Town) Collection() string             { return "towns/{town}" }
func (RecruitmentEvent) Collection() string { return "recruitmentEvents/{recruitment_event}" }
func (Invitation) Collection() string {
	return "recruitmentEvents/{recruitment_event}/invitations/{invitation}"
}
func (Application) Collection() string {
	return "recruitmentEvents/{recruitment_event}/applications/{application}"
}

// Household returns the member's household.
func (n Member) Household() Household { return Household{n.HouseholdID} }

// Case returns the note's case.
func (n Note) Case() Case { return Case{n.CaseID} }

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
	{[]string{"apiKeys"}, []*regexp.Regexp{apiKeyID}, func(ids []string) Name { return APIKey{ids[0]} }},
	{[]string{"webhooks"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return Webhook{ids[0]} }},
	{[]string{"webhooks", "deliveries"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Delivery{ids[0], ids[1]} }},
	{[]string{"households", "statusChanges"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return StatusChange{ids[0], ids[1]} }},
	{[]string{"policies"}, []*regexp.Regexp{policyID}, func(ids []string) Name { return Policy{ids[0]} }},
	{[]string{"towns"}, []*regexp.Regexp{townCode}, func(ids []string) Name { return Town{ids[0]} }},
	{[]string{"recruitmentEvents"}, []*regexp.Regexp{uuidID}, func(ids []string) Name { return RecruitmentEvent{ids[0]} }},
	{[]string{"recruitmentEvents", "invitations"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Invitation{ids[0], ids[1]} }},
	{[]string{"recruitmentEvents", "applications"}, []*regexp.Regexp{uuidID, uuidID}, func(ids []string) Name { return Application{ids[0], ids[1]} }},
	{[]string{"auditLogs"}, []*regexp.Regexp{seqID}, func(ids []string) Name {
		n, _ := strconv.ParseInt(ids[0], 10, 64)
		return AuditLog{n}
	}},
}

// Parse reads any name this server issues.
func Parse(s string) (Name, error) {
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
