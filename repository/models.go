package repository

import (
	"strconv"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// Household is a row of households. Enumerations are stored as the domain
// package's names (e.g. "MARTYR_FAMILY"), so the database reads without the
// API's enum prefixes and survives renumbering in the protos; the fields
// have the domain's types, so nothing else can be stored in them by
// mistake.
type Household struct {
	ID                string `gorm:"primaryKey"`
	ServicememberName string
	// ServicememberIDNumber and Phone are sealed at rest; the index is the
	// keyed blind index that lookups and the uniqueness rule use.
	ServicememberIDNumber string
	ServicememberIDIndex  string
	ServiceBranch         domain.Branch
	RankCategory          domain.Rank
	PostType              domain.PostType
	Unit                  string
	Category              domain.Category
	TownCode              string
	Address               string
	Phone                 string
	Hardship              bool
	HardshipNote          string
	// ServicememberStatus is "" only on rows from before statuses existed
	// whose category said none (see docs/migrations.md); Category is then
	// theirs, otherwise it is derived from the status and Decorated.
	ServicememberStatus domain.ServiceStatus
	DisabilityGrade     int
	Decorated           bool
	Honour              string
	HardshipGrade       int
	// The accompaniment (随军) approval; ApprovalDate is a calendar date.
	ApprovalNumber string
	ApprovalDate   *time.Time
	ApprovalUnit   string
	SettledAtHome  bool
	// PreferentialCertificateNumber (优待证) is sealed at rest.
	PreferentialCertificateNumber string
	Revision                      int64
	CreateTime                    time.Time
	UpdateTime                    time.Time
	DeleteTime                    *time.Time
	// MemberCount is computed on read, not stored.
	MemberCount int `gorm:"->;-:migration"`
	// NextContactDue (YYYY-MM-DD) is computed from the contact policy, the
	// household's class and its latest contact; the store writes it after
	// every write that may move it (refreshContactDue), whatever the row held.
	NextContactDue *string
	// A pending transfer (TransferHousehold): the receiving town, sealed
	// reason, who asked and when; TransferToTown is "" when none is
	// pending. Reads reach the household from the receiving town too.
	TransferToTown    string
	TransferReason    string
	TransferRequester string
	TransferTime      *time.Time
	// MergedInto is the survivor's id once the household was merged into
	// it (the row is then soft-deleted too).
	MergedInto string
	// Keyed blind indexes of the servicemember's name with their birth
	// date and with the household's phone, for the fuzzy duplicate check.
	NameBirthIndex string
	NamePhoneIndex string
	// EraseTime is when the retention schedule erased the personal data
	// of the household, deleted long enough before, and of its members and
	// cases: the row is an anonymous shell from then on (EraseDeleted).
	EraseTime *time.Time
}

// Member is a row of members.
type Member struct {
	ID            string `gorm:"primaryKey"`
	HouseholdID   string
	Relation      domain.Relation
	DisplayName   string
	IDNumber      string // sealed at rest
	IDNumberIndex string
	BirthDate     time.Time
	Phone         string
	Accompanying  bool
	// CannotLiveIndependently marks an adult who cannot live independently
	// (不能独立生活), family under 地位法 Arts 42 and 68.
	CannotLiveIndependently bool
	// IDNumberConverted: the number was given as a 15-digit one and stored
	// converted to 18 digits.
	IDNumberConverted bool
	// Keyed blind indexes of the name with the birth date and with the
	// phone, for the fuzzy duplicate check.
	NameBirthIndex string
	NamePhoneIndex string
	Revision       int64
	CreateTime     time.Time
	UpdateTime     time.Time
	DeleteTime     *time.Time
	// EraseTime is when the retention schedule erased the personal data
	// of the member, deleted long enough before (EraseMembers), or of its
	// household (EraseHouseholds).
	EraseTime *time.Time
}

// Case is a row of cases. Details holds the type-specific fields as JSON;
// the fields that lists filter on are columns of their own. PlacementYear
// is such a column and no data of its own: the store fills it from Details
// on every write, replacing whatever the caller left in it.
type Case struct {
	ID              string `gorm:"primaryKey"`
	CaseNumber      string
	HouseholdID     string
	SubjectID       string
	Kind            domain.Kind
	Details         string
	PlacementYear   *int
	Status          domain.Status
	Assignee        string
	TownCode        string
	Priority        domain.Priority
	PriorityReasons List[domain.Reason]
	DueTime         *time.Time
	OutcomeResult   domain.Result // "" until resolved
	OutcomeSummary  string
	StatusReason    string
	// PolicyBasis lists the rules that decided the case's eligibility,
	// priority and due times.
	PolicyBasis List[domain.RuleID]
	// Clocks are the case's periods; DueTime is the earliest running
	// one's due, kept as a column for the overdue filter and ordering.
	Clocks            JSON[domain.Clocks]
	OutcomeHistory    JSON[[]domain.OutcomeRecord]
	Eligibility       JSON[*domain.EligibilityDecision]
	WithdrawalReason  domain.WithdrawalReason
	RejectionReason   domain.RejectionReason
	TerminationGround domain.TerminationGround
	Objection         JSON[*domain.Objection]
	Creator           string
	// SourceContact names the contact whose follow-up opened the case.
	SourceContact string
	Revision      int64
	CreateTime    time.Time
	UpdateTime    time.Time
	SubmitTime    *time.Time
	ResolveTime   *time.Time
	// The hold in force (CASE_HOLD): HoldStartTime and HoldEndTime are
	// both set exactly while the case is held.
	HoldStartTime *time.Time
	HoldEndTime   *time.Time
	HoldReason    string
	HoldHolder    string
	// HeldSeconds is the time spent on holds that ended; HoldCount how
	// many holds there have been.
	HeldSeconds int64
	HoldCount   int
}

// HistoryEntry is one change to a case, written in the same transaction as
// the change.
type HistoryEntry struct {
	ID            int64 `gorm:"primaryKey;autoIncrement"`
	CaseID        string
	Time          time.Time
	Actor         string
	Method        string
	FromStatus    domain.Status // "" for the entry that created the case
	ToStatus      domain.Status
	ChangedFields List[string]
	Reason        string
}

// TableName names HistoryEntry's table for gorm.
func (HistoryEntry) TableName() string { return "case_history" }

// StatusChange is a recorded change of a household's servicemember status
// (households/{h}/statusChanges/{id}), kept as the household's history.
type StatusChange struct {
	ID          string `gorm:"primaryKey"`
	HouseholdID string
	Kind        domain.StatusChangeKind
	// EffectiveDate is the calendar date the change took effect.
	EffectiveDate       time.Time
	FromStatus          domain.ServiceStatus
	ToStatus            domain.ServiceStatus
	FromPostType        domain.PostType
	ToPostType          domain.PostType
	FromDisabilityGrade int
	ToDisabilityGrade   int
	Note                string
	Recorder            string
	RecordTime          time.Time
}

// Note is a caseworker's note on a case.
type Note struct {
	ID         string `gorm:"primaryKey"`
	CaseID     string
	Body       string
	Author     string
	CreateTime time.Time
}

// TableName names Note's table for gorm.
func (Note) TableName() string { return "case_notes" }

// caseNumberSequence holds the last case number handed out in a year.
type caseNumberSequence struct {
	Year      int `gorm:"primaryKey;autoIncrement:false"`
	LastValue int64
}

// TableName names caseNumberSequence's table for gorm.
func (caseNumberSequence) TableName() string { return "case_number_sequences" }

// APIKey is a system's credential; only the hash of its secret is kept.
type APIKey struct {
	ID         string `gorm:"primaryKey"`
	Account    string
	Roles      List[principal.Role]
	Towns      List[string]
	SecretHash string
	ExpireTime time.Time
	RevokeTime *time.Time
	CreateTime time.Time
	Creator    string
	// NeedsApproval marks a key carrying a people's role: it works only
	// once an admin other than its creator approved it.
	NeedsApproval bool
	Approver      string
	ApproveTime   *time.Time
}

// AuditRecord is a row of the append-only audit log.
type AuditRecord struct {
	Seq        int64 `gorm:"primaryKey;autoIncrement:false"`
	Time       time.Time
	Principal  string
	Roles      string
	Credential string
	Method     string
	Resource   string
	Action     string
	RequestID  string
	ClientAddr string
	Outcome    string
	Fields     string
	PrevHash   string
	// KeyID names the audit key Hash is a MAC under; "" for entries from
	// before the chain was keyed.
	KeyID string
	Hash  string
}

// TableName names AuditRecord's table for gorm.
func (AuditRecord) TableName() string { return "audit_log" }

// auditHead is the last link of the audit chain.
type auditHead struct {
	ID   int `gorm:"primaryKey;autoIncrement:false"`
	Seq  int64
	Hash string
}

// TableName names auditHead's table for gorm.
func (auditHead) TableName() string { return "audit_head" }

// Models lists every persisted model; the schema test checks each against the
// migrated tables.
func Models() []any {
	return []any{&Household{}, &Member{}, &Case{}, &HistoryEntry{}, &Note{}, &caseNumberSequence{},
		&APIKey{}, &AuditRecord{}, &auditHead{}, &EventRecord{}, &eventHead{}, &RequestRecord{},
		&Webhook{}, &WebhookDelivery{}, &StatusChange{},
		&Campaign{}, &campaignTown{}, &CampaignTarget{}, &CampaignVisit{},
		&Assignee{}, &assigneeTown{},
		&Contact{}, &Assistance{}, &ContactPolicy{},
		&RecruitmentEvent{}, &recruitmentEventTown{}, &Invitation{}, &Application{},
		&Operation{}, &operationFile{},
		&Agency{}, &Referral{}, &Alert{},
		&HouseholdHistory{},
		&Attachment{}, &blobPart{},
		&CaseFact{}}
}

// Etag renders a revision as the opaque etag clients see.
func Etag(revision int64) string { return "v" + strconv.FormatInt(revision, 10) }

// ParseEtag reads an etag made by Etag. An etag that is not ours parses as
// revision 0, which no row has, so it can only ever be stale. Only Etag's
// own spelling is ours: ParseInt alone would also take "v01" or "v+1" for
// v1, and an etag is an opaque token compared exactly, not a number.
func ParseEtag(etag string) int64 {
	if len(etag) < 2 || etag[0] != 'v' {
		return 0
	}
	n, err := strconv.ParseInt(etag[1:], 10, 64)
	if err != nil || n < 0 || Etag(n) != etag {
		return 0
	}
	return n
}
