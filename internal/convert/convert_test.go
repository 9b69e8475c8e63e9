package convert

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/repository"
)

// A round trip fills every field a client may write, converts the message
// to a row and renders the row back: each writable field must come back as
// it went in. A field added to a message and forgotten on either way fails
// here without the test being touched. Output-only fields are the server's,
// not the client's: TestRenderings holds them to the row.
type roundTrip struct {
	name string
	msg  proto.Message // an empty message of the type to fill
	// oneofs is how many times to run, setting each member of the
	// message's oneofs in turn.
	oneofs int
	// explicit are writable fields this package does not convert, each
	// with what becomes of it; check tests the ones it can.
	explicit map[protoreflect.Name]string
	check    func(t *testing.T, sent, got proto.Message)
	// via converts the filled message to a row and renders it again.
	via func(t *testing.T, p proto.Message) (proto.Message, error)
}

const etagIsTheHandlers = "a precondition the handler compares with the row's revision; rendered from the revision"

var roundTrips = []roundTrip{
	{
		name: "Household", msg: &pb.Household{},
		explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var h repository.Household
			HouseholdFromProto(p.(*pb.Household), &h)
			return HouseholdToProto(&h, nil), nil
		},
	},
	{
		name: "Member", msg: &pb.Member{},
		explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			birth, err := TimeOfDate("member.birth_date", p.(*pb.Member).GetBirthDate())
			if err != nil {
				return nil, err
			}
			var m repository.Member
			MemberFromProto(p.(*pb.Member), birth, &m)
			return MemberToProto(&m, ""), nil
		},
	},
	{
		name: "Case", msg: &pb.Case{}, oneofs: 4,
		explicit: map[protoreflect.Name]string{
			"etag":      etagIsTheHandlers,
			"household": "a resource name the handler resolves to the row's household id; rendered from it",
			"subject":   "a resource name the handler resolves, and checks, to the row's subject id; rendered from it",
		},
		via: func(t *testing.T, p proto.Message) (proto.Message, error) {
			kind, detail := CaseDetails(p.(*pb.Case))
			if detail == nil {
				t.Fatalf("CaseDetails found no detail in %v", p)
			}
			var c repository.Case
			if err := StoreDetails(&c, kind, detail); err != nil {
				return nil, err
			}
			return CaseToProto(&c, nil, time.Time{})
		},
		check: func(t *testing.T, sent, got proto.Message) {
			if kind, _ := CaseDetails(sent.(*pb.Case)); kinds.toProto(kind) != got.(*pb.Case).GetCaseType() {
				t.Errorf("details of kind %s rendered as case type %s", kind, got.(*pb.Case).GetCaseType())
			}
		},
	},
	{
		// Output-only on the case, the outcome is written by ResolveCase.
		name: "CaseOutcome", msg: &pb.CaseOutcome{},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var c repository.Case
			OutcomeFromProto(p.(*pb.CaseOutcome), &c)
			out, err := CaseToProto(&c, nil, time.Time{})
			return out.GetOutcome(), err
		},
	},
	{
		name: "Note", msg: &pb.Note{},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var n repository.Note
			NoteFromProto(p.(*pb.Note), &n)
			return NoteToProto(&n), nil
		},
	},
	{
		name: "Attachment", msg: &pb.Attachment{},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var a repository.Attachment
			AttachmentFromProto(p.(*pb.Attachment), &a)
			return AttachmentToProto(&a), nil
		},
	},
	{
		name: "Campaign", msg: &pb.Campaign{},
		explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var c repository.Campaign
			if err := CampaignFromProto("campaign", p.(*pb.Campaign), &c); err != nil {
				return nil, err
			}
			return CampaignToProto(&c), nil
		},
	},
	{
		name: "Visit", msg: &pb.Visit{},
		explicit: map[protoreflect.Name]string{
			"household": "a resource name the handler resolves to the row's household id; rendered from it",
		},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			day, err := TimeOfDate("visit.visit_date", p.(*pb.Visit).GetVisitDate())
			if err != nil {
				return nil, err
			}
			var v repository.CampaignVisit
			VisitFromProto(p.(*pb.Visit), day, &v)
			return VisitToProto(&v), nil
		},
	},
	{
		name: "Organization", msg: &pb.Organization{},
		explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var o repository.Organization
			if err := OrganizationFromProto(p.(*pb.Organization), &o); err != nil {
				return nil, err
			}
			return OrganizationToProto(&o, time.Now()), nil
		},
	},
	{
		name: "Measure", msg: &pb.Measure{},
		explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var m repository.Measure
			if err := MeasureFromProto(p.(*pb.Measure), &m); err != nil {
				return nil, err
			}
			return MeasureToProto(&m, domain.DefaultReviewPeriod, time.Now()), nil
		},
	},
	{
		name: "Complaint", msg: &pb.Complaint{},
		explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var c repository.Complaint
			ComplaintFromProto(p.(*pb.Complaint), &c)
			return ComplaintToProto(&c), nil
		},
	},
	{
		name: "RecruitmentEvent", msg: &pb.RecruitmentEvent{},
		explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var e repository.RecruitmentEvent
			if err := RecruitmentEventFromProto(p.(*pb.RecruitmentEvent), &e); err != nil {
				return nil, err
			}
			return RecruitmentEventToProto(&e), nil
		},
	},
	{
		name: "ApiKey", msg: &pb.ApiKey{},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var k repository.APIKey
			APIKeyFromProto(p.(*pb.ApiKey), &k)
			return APIKeyToProto(&k, time.Now()), nil
		},
	},
	{
		name: "Webhook", msg: &pb.Webhook{},
		explicit: map[protoreflect.Name]string{
			"secret":      "goes to the store apart from the row, to be sealed, and is never rendered",
			"start_after": "becomes the position delivered, rendered as delivered_position",
		},
		via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
			var w repository.Webhook
			WebhookFromProto(p.(*pb.Webhook), &w)
			return WebhookToProto(&w), nil
		},
		check: func(t *testing.T, sent, got proto.Message) {
			if s, g := sent.(*pb.Webhook), got.(*pb.Webhook); g.GetDeliveredPosition() != s.GetStartAfter() || g.GetSecret() != "" {
				t.Errorf("start_after %d rendered as delivered_position %d; secret rendered: %v",
					s.GetStartAfter(), g.GetDeliveredPosition(), g.GetSecret() != "")
			}
		},
	},
}

func TestRoundTrips(t *testing.T) {
	for _, rt := range roundTrips {
		for oneof := range max(rt.oneofs, 1) {
			sent := rt.msg.ProtoReflect().New().Interface()
			f := &filler{t: t, oneof: oneof, skip: func(fd protoreflect.FieldDescriptor) bool { return !writable(fd) }}
			f.fill(sent.ProtoReflect())
			t.Run(rt.name+oneofMembers(sent.ProtoReflect()), func(t *testing.T) {
				checkExplicit(t, sent.ProtoReflect().Descriptor(), rt.explicit)
				got, err := rt.via(t, proto.Clone(sent))
				if err != nil {
					t.Fatalf("converting %v: %v", sent, err)
				}
				ignore := func(fd protoreflect.FieldDescriptor) bool {
					_, ok := rt.explicit[fd.Name()]
					return ok || !writable(fd) || has(fd, annotations.FieldBehavior_INPUT_ONLY)
				}
				missing := map[protoreflect.FullName]bool{}
				for _, d := range diff(rt.name, sent.ProtoReflect(), got.ProtoReflect(), ignore) {
					if _, ok := pendingFields[d.field]; ok {
						missing[d.field] = true
						continue
					}
					t.Errorf("a writable field did not survive the round trip: %s", d.text)
				}
				for name := range pendingFields {
					if f.set[name] && !missing[name] {
						t.Errorf("%s survives the round trip now: take it off pendingFields", name)
					}
				}
				if rt.check != nil {
					rt.check(t, sent, got)
				}
			})
		}
	}
}

// oneofMembers names the oneof members m sets, for a subtest's name.
func oneofMembers(m protoreflect.Message) string {
	var out string
	oneofs := m.Descriptor().Oneofs()
	for i := range oneofs.Len() {
		if fd := m.WhichOneof(oneofs.Get(i)); fd != nil && !oneofs.Get(i).IsSynthetic() {
			out += "/" + string(fd.Name())
		}
	}
	return out
}

// checkExplicit makes every INPUT_ONLY field of the message's own level
// say what becomes of it (it cannot come back), and keeps the explicit list
// to fields that exist.
func checkExplicit(t *testing.T, md protoreflect.MessageDescriptor, explicit map[protoreflect.Name]string) {
	t.Helper()
	for name := range explicit {
		if md.Fields().ByName(name) == nil {
			t.Errorf("%s has no field %s, which the test says is handled explicitly", md.FullName(), name)
		}
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if _, ok := explicit[fd.Name()]; !ok && has(fd, annotations.FieldBehavior_INPUT_ONLY) {
			t.Errorf("%s is INPUT_ONLY and cannot come back: list it as explicit with what becomes of it", fd.FullName())
		}
	}
}

// A rendering fills every field of a stored row with a valid value, renders
// it, and requires every field of the message to be set (a field added to a
// message and not rendered fails) and every field of the row to reach the
// message (a row field the rendering forgets fails), but the storage-only
// ones listed with their reasons.
type rendering struct {
	name string
	row  func() any
	// fix makes the filled row consistent where fields depend on each
	// other (a case's details must parse as its kind).
	fix         func(t *testing.T, row any)
	render      func(row any) (proto.Message, error)
	storageOnly map[string]string
}

// now is the clock an API key's state is decided by.
var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func renderings() []rendering {
	out := []rendering{
		{
			name: "Household", row: func() any { return &repository.Household{} },
			// town_name is the name of a town the table has.
			fix: func(_ *testing.T, row any) {
				h := row.(*repository.Household)
				due := "2026-06-01" // a date, as the store writes it
				h.TownCode, h.NextContactDue, h.TransferToTown = "500230101", &due, "500230102"
			},
			render: func(row any) (proto.Message, error) { return HouseholdToProto(row.(*repository.Household), nil), nil },
			storageOnly: map[string]string{
				"ServicememberIDIndex": "the keyed blind index lookups and the uniqueness rule use; never shown",
				"NameBirthIndex":       "a keyed blind index of the fuzzy duplicate check; never shown",
				"NamePhoneIndex":       "a keyed blind index of the fuzzy duplicate check; never shown",
				"EraseTime":            "an erased household reads as a deleted one whose people's fields are empty; when the retention schedule erased it is in the audit log",
			},
		},
		{
			name: "Member", row: func() any { return &repository.Member{} },
			// warnings come from a real number that contradicts the
			// relation: a father whose number is a woman's.
			fix: func(_ *testing.T, row any) {
				m := row.(*repository.Member)
				m.Relation, m.IDNumber = domain.RelationFather, idnumber.Make("500230", time.Date(1960, 1, 2, 0, 0, 0, 0, time.UTC), 2)
			},
			render: func(row any) (proto.Message, error) { return MemberToProto(row.(*repository.Member), ""), nil },
			storageOnly: map[string]string{
				"IDNumberIndex":  "the keyed blind index lookups use; never shown",
				"NameBirthIndex": "a keyed blind index of the fuzzy duplicate check; never shown",
				"NamePhoneIndex": "a keyed blind index of the fuzzy duplicate check; never shown",
				"DeleteTime":     "a deleted member is never read back, and the API's member has no delete_time",
				"EraseTime":      "only deleted members are erased, and they are never read back",
			},
		},
		{
			name: "CaseHistoryEntry", row: func() any { return &repository.HistoryEntry{} },
			render: func(row any) (proto.Message, error) { return HistoryToProto(row.(*repository.HistoryEntry)), nil },
			storageOnly: map[string]string{
				"ID":     "the entry's sequence, the list's cursor",
				"CaseID": "the case the history was asked for",
			},
		},
		{
			name: "Note", row: func() any { return &repository.Note{} },
			render: func(row any) (proto.Message, error) { return NoteToProto(row.(*repository.Note)), nil },
		},
		{
			name: "Attachment", row: func() any { return &repository.Attachment{} },
			// The kind is one of the enum's, as the handler stores it.
			fix:    func(_ *testing.T, row any) { row.(*repository.Attachment).Kind = "COURT_PAPER" },
			render: func(row any) (proto.Message, error) { return AttachmentToProto(row.(*repository.Attachment)), nil },
		},
		{
			name: "ServicememberStatusChange", row: func() any { return &repository.StatusChange{} },
			render: func(row any) (proto.Message, error) {
				return StatusChangeToProto(row.(*repository.StatusChange)), nil
			},
		},
		{
			name: "HouseholdHistoryEntry", row: func() any { return &repository.HouseholdHistory{} },
			fix: func(_ *testing.T, row any) {
				e := row.(*repository.HouseholdHistory)
				e.Action = domain.TransferAccepted
			},
			render: func(row any) (proto.Message, error) {
				return HouseholdHistoryToProto(row.(*repository.HouseholdHistory)), nil
			},
			storageOnly: map[string]string{
				"ID":          "the entry's id, the list's cursor",
				"HouseholdID": "the household the history was asked for",
			},
		},
		{
			name: "Event", row: func() any { return &repository.EventRecord{} },
			render: func(row any) (proto.Message, error) { return EventToProto(row.(*repository.EventRecord)), nil },
		},
		{
			name: "Organization", row: func() any { return &repository.Organization{} },
			render: func(row any) (proto.Message, error) {
				return OrganizationToProto(row.(*repository.Organization), now), nil
			},
		},
		{
			name: "Measure", row: func() any { return &repository.Measure{} },
			fix: func(_ *testing.T, row any) {
				// Read in the state it is stored in, and reviewed long ago,
				// so that review_overdue is set.
				m := row.(*repository.Measure)
				m.EffectiveState, m.State = domain.MeasureActive, domain.MeasureActive
				m.CreateTime = now.Add(-3 * domain.DefaultReviewPeriod)
				last := now.Add(-2 * domain.DefaultReviewPeriod)
				m.LastReviewDate = &last
			},
			render: func(row any) (proto.Message, error) {
				return MeasureToProto(row.(*repository.Measure), domain.DefaultReviewPeriod, now), nil
			},
			storageOnly: map[string]string{
				"ReviewedTime":   "the store's column for the review_overdue filter; the answer computes it from last_review_date",
				"EffectiveState": "the state reads answer, which is State unless the agreement expired (rendered as state)",
				"State":          "rendered as the effective state, which reads always carry",
			},
		},
		{
			name: "MeasureHistoryEntry", row: func() any { return &repository.MeasureHistory{} },
			render: func(row any) (proto.Message, error) {
				return MeasureHistoryToProto(row.(*repository.MeasureHistory)), nil
			},
			storageOnly: map[string]string{"ID": "keys the row; entries are listed, never named", "MeasureID": "the parent the list was asked for"},
		},
		{
			name: "MeasureReview", row: func() any { return &repository.MeasureReview{} },
			render: func(row any) (proto.Message, error) {
				return MeasureReviewToProto(row.(*repository.MeasureReview)), nil
			},
		},
		{
			name: "Complaint", row: func() any { return &repository.Complaint{} },
			render: func(row any) (proto.Message, error) { return ComplaintToProto(row.(*repository.Complaint)), nil },
			storageOnly: map[string]string{"RetiredDescription": retired, "RetiredResolution": retired,
				"EraseTime": "an erased complaint reads with its complainant, description and resolution empty; when the retention schedule erased it is in the audit log"},
		},
		{
			name: "ApiKey", row: func() any { return &repository.APIKey{} },
			render: func(row any) (proto.Message, error) { return APIKeyToProto(row.(*repository.APIKey), now), nil },
			storageOnly: map[string]string{
				"SecretHash":    "only the hash of the secret is kept, and it never leaves the store",
				"NeedsApproval": "shows only through state, which a revoke decides first (TestAPIKeyState)",
			},
		},
		{
			name: "Webhook", row: func() any { return &repository.Webhook{} },
			render: func(row any) (proto.Message, error) { return WebhookToProto(row.(*repository.Webhook)), nil },
			storageOnly: map[string]string{
				"SealedSecret": "the sealed HMAC key; never part of an answer",
				"LeaseOwner":   "the dispatcher's lease, its own bookkeeping",
				"LeaseUntil":   "the dispatcher's lease, its own bookkeeping",
			},
		},
		{
			name: "WebhookDelivery", row: func() any { return &repository.WebhookDelivery{} },
			render: func(row any) (proto.Message, error) {
				return DeliveryToProto(row.(*repository.WebhookDelivery)), nil
			},
		},
		{
			name: "AuditLog", row: func() any { return &repository.AuditRecord{} },
			render: func(row any) (proto.Message, error) { return AuditLogToProto(row.(*repository.AuditRecord)), nil },
		},
		{
			name: "AuditLogHead", row: func() any { return &audit.Head{} },
			render: func(row any) (proto.Message, error) { return AuditHeadToProto(*row.(*audit.Head)), nil },
		},
	}
	out = append(out, ledgerRenderings()...)
	// A case renders its details from JSON of its kind: once per kind, with
	// details whose every field is set.
	for i, kind := range domain.Kinds() {
		out = append(out, rendering{
			name: "Case/" + string(kind), row: func() any { return &repository.Case{} },
			fix: func(t *testing.T, row any) {
				c := &pb.Case{}
				(&filler{t: t, oneof: i}).fill(c.ProtoReflect())
				k, detail := CaseDetails(c)
				if k != kind {
					t.Fatalf("oneof member %d is %s, not %s: keep domain.Kinds in the oneof's order", i, k, kind)
				}
				if err := StoreDetails(row.(*repository.Case), k, detail); err != nil {
					t.Fatal(err)
				}
				// town_name is the name of a town the table has.
				row.(*repository.Case).TownCode = "500230101"
				// Ages count in whole days: times days apart, so that each
				// of them, and the time held, moves one.
				holdDays(row.(*repository.Case))
			},
			render: func(row any) (proto.Message, error) { return CaseToProto(row.(*repository.Case), nil, time.Time{}) },
			storageOnly: map[string]string{
				"PlacementYear": "a filter column the store derives from the details",
			},
		})
	}
	return out
}

func TestRenderings(t *testing.T) {
	for _, r := range renderings() {
		t.Run(r.name, func(t *testing.T) {
			row := r.row()
			(&rowFiller{t: t}).fill(row)
			if r.fix != nil {
				r.fix(t, row)
			}
			full, err := r.render(row)
			if err != nil {
				t.Fatalf("rendering a full row: %v", err)
			}
			for _, problem := range unset(r.name, full.ProtoReflect()) {
				t.Error(problem)
			}
			rv := reflect.ValueOf(row).Elem()
			for name := range r.storageOnly {
				if !rv.FieldByName(name).IsValid() {
					t.Errorf("the row has no field %s, which the test calls storage-only", name)
				}
			}
			for i := range rv.NumField() {
				field := rv.Type().Field(i)
				if _, ok := r.storageOnly[field.Name]; ok || !field.IsExported() {
					continue
				}
				zeroed := reflect.New(rv.Type())
				zeroed.Elem().Set(rv)
				zeroed.Elem().Field(i).SetZero()
				got, err := r.render(zeroed.Interface())
				if err == nil && proto.Equal(got, full) {
					t.Errorf("%s.%s does not reach the rendering: render it, or list it as storage-only with the reason", rv.Type().Name(), field.Name)
				}
			}
		})
	}
}

// TestAPIKeyState covers what the renderings cannot: the state a key's
// times and approval decide, in the order they decide it.
func TestAPIKeyState(t *testing.T) {
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	for _, tc := range []struct {
		name string
		key  repository.APIKey
		want pb.ApiKeyState
	}{
		{"live", repository.APIKey{ExpireTime: future}, pb.ApiKeyState_API_KEY_STATE_ACTIVE},
		{"expired", repository.APIKey{ExpireTime: now}, pb.ApiKeyState_API_KEY_STATE_EXPIRED},
		{"awaiting approval", repository.APIKey{ExpireTime: future, NeedsApproval: true}, pb.ApiKeyState_API_KEY_STATE_PENDING_APPROVAL},
		{"approved", repository.APIKey{ExpireTime: future, NeedsApproval: true, ApproveTime: &past}, pb.ApiKeyState_API_KEY_STATE_ACTIVE},
		{"expired awaiting approval", repository.APIKey{ExpireTime: past, NeedsApproval: true}, pb.ApiKeyState_API_KEY_STATE_EXPIRED},
		{"revoked", repository.APIKey{ExpireTime: past, NeedsApproval: true, RevokeTime: &past}, pb.ApiKeyState_API_KEY_STATE_REVOKED},
	} {
		if got := APIKeyToProto(&tc.key, now).GetState(); got != tc.want {
			t.Errorf("%s: state %s, want %s", tc.name, got, tc.want)
		}
	}
}

// holdDays gives a filled case a submission, a resolution ten days later
// and five days on hold (three ended, two in force), so days_open and
// days_waiting each depend on every time they are counted from.
func holdDays(c *repository.Case) {
	at := func(d int) *time.Time {
		t := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		return &t
	}
	c.SubmitTime, c.ResolveTime, c.HoldStartTime, c.HoldEndTime = at(0), at(10), at(8), at(9)
	c.HeldSeconds = 3 * 24 * 3600
}
