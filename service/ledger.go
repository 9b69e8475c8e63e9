package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// LedgerStore is what the household ledger needs from storage.
type LedgerStore interface {
	GetHousehold(ctx context.Context, id string, showDeleted bool) (*repository.Household, error)
	ListMembers(ctx context.Context, householdID string, page repository.Page) ([]repository.Member, *repository.Cursor, error)
	CreateContact(ctx context.Context, c *repository.Contact) error
	GetContact(ctx context.Context, householdID, id string) (*repository.Contact, error)
	ListContacts(ctx context.Context, q repository.LedgerQuery) ([]repository.Contact, *repository.Cursor, error)
	UpdateContact(ctx context.Context, householdID, id, etag string, fn func(ctx context.Context, c *repository.Contact) error) (*repository.Contact, error)
	CreateAssistance(ctx context.Context, a *repository.Assistance) error
	GetAssistance(ctx context.Context, householdID, id string) (*repository.Assistance, error)
	ListAssistance(ctx context.Context, q repository.LedgerQuery) ([]repository.Assistance, *repository.Cursor, error)
	GetContactPolicy(ctx context.Context) (*repository.ContactPolicy, error)
	UpdateContactPolicy(ctx context.Context, etag string, fn func(ctx context.Context, p *repository.ContactPolicy) error) (*repository.ContactPolicy, error)
	HouseholdLedger(ctx context.Context, householdID string, caseLimit int) (*repository.LedgerSummary, error)
	// CreateCase and InTx open the cases a contact's follow-ups ask for
	// in the contact's transaction.
	CreateCase(ctx context.Context, c *repository.Case, h *repository.HistoryEntry) error
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Ledger implements pb.LedgerServiceServer: the household ledger of
// regular contact and hardship help.
type Ledger struct {
	pb.UnimplementedLedgerServiceServer
	base
	store LedgerStore
	// cases opens the cases follow-ups ask for, under CreateCase's rules.
	cases *Cases
	towns *towns.Table
}

// NewLedger builds the ledger service over the county's towns (nil: the
// table shipped with the program), which households are rendered with;
// cases is the case service whose rules a follow-up's case is opened under.
func NewLedger(store LedgerStore, cases *Cases, t *towns.Table, v protovalidate.Validator, o Options) *Ledger {
	if t == nil {
		t = towns.Default()
	}
	return &Ledger{base: newBase(v, o), store: store, cases: cases, towns: t}
}

// What GetHouseholdLedger returns at most of each list; the counts say
// how many there are.
const (
	ledgerContacts   = 50
	ledgerAssistance = 50
	ledgerCases      = 100
	ledgerMembers    = 500
)

var contactUpdatable = updatable{"contact_date": true, "channel": true, "raised": true, "follow_ups": true}

var policyUpdatable = updatable{"border_mission_interval_days": true, "hardship_interval_days": true}

func (s *Ledger) CreateContact(ctx context.Context, req *pb.CreateContactRequest) (*pb.Contact, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	p := req.GetContact()
	for _, f := range p.GetFollowUps() {
		f.OpenedCase = "" // the server's
	}
	c := &repository.Contact{ID: newID(), HouseholdID: hid, RecordedBy: s.actor(ctx)}
	if err := s.contactFrom("contact", p, c); err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		for i, f := range p.GetFollowUps() {
			if f.GetOpenCase() == nil {
				continue
			}
			name, err := s.openCase(ctx, c, f.GetOpenCase(), "CreateContact")
			if err != nil {
				return renameViolations(err, "case.", fmt.Sprintf("contact.follow_ups[%d].open_case.", i))
			}
			c.FollowUps.V[i].Case = name
		}
		return s.store.CreateContact(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return convert.ContactToProto(c), nil
}

// OpenContactCase opens a case for a follow-up of an existing contact, as
// CreateContact does for one that asks for it: the case's rules are
// CreateCase's, and the case, its history and the contact's change commit
// together.
func (s *Ledger) OpenContactCase(ctx context.Context, req *pb.OpenContactCaseRequest) (*pb.Contact, error) {
	n, err := nameOf[names.Contact]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	i := int(req.GetFollowUp())
	c, err := s.store.UpdateContact(ctx, n.HouseholdID, n.ID, req.GetEtag(), func(ctx context.Context, c *repository.Contact) error {
		if i >= len(c.FollowUps.V) {
			return domain.Invalid("follow_up", "the contact has %d follow-ups", len(c.FollowUps.V))
		}
		if c.FollowUps.V[i].Case != "" {
			return domain.Invalid("follow_up", "has opened %s already", c.FollowUps.V[i].Case)
		}
		name, err := s.openCase(ctx, c, req.GetCase(), "OpenContactCase")
		if err != nil {
			return err
		}
		// A new slice: the stored row's copy shares the old one, and a
		// change made in place would compare as no change.
		followUps := slices.Clone(c.FollowUps.V)
		followUps[i].Case = name
		c.FollowUps.V = followUps
		return nil
	})
	if err != nil {
		return nil, err
	}
	return convert.ContactToProto(c), nil
}

// openCase opens the case a follow-up of contact c asks for, under the
// rules of CreateCase, recording c as its source; ctx is the contact's
// transaction.
func (s *Ledger) openCase(ctx context.Context, c *repository.Contact, p *pb.Case, method string) (string, error) {
	household := names.Household{ID: c.HouseholdID}.String()
	if p.GetHousehold() == "" {
		p.Household = household
	}
	if p.GetHousehold() != household {
		return "", domain.Invalid("case.household", "must be the contact's household, or empty")
	}
	row, hist, err := s.cases.newCase(ctx, &pb.CreateCaseRequest{Case: p}, method)
	if err != nil {
		return "", err
	}
	row.SourceContact = names.Contact{HouseholdID: c.HouseholdID, ID: c.ID}.String()
	if err := s.store.CreateCase(ctx, row, hist); err != nil {
		return "", err
	}
	return names.Case{ID: row.ID}.String(), nil
}

// renameViolations names a refused follow-up's case fields by their path
// in the contact request ("case.subject" → "contact.follow_ups[0].
// open_case.subject").
func renameViolations(err error, from, to string) error {
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		return err
	}
	out := &domain.ValidationError{Violations: slices.Clone(v.Violations)}
	for i := range out.Violations {
		if rest, ok := strings.CutPrefix(out.Violations[i].Field, from); ok {
			out.Violations[i].Field = to + rest
		}
	}
	return out
}

// contactFrom copies a contact's fields onto c under the ledger's rules.
func (s *Ledger) contactFrom(field string, p *pb.Contact, c *repository.Contact) error {
	if err := convert.ContactFromProto(field, p, c); err != nil {
		return err
	}
	return domain.CheckLedgerDate(field+".contact_date", c.ContactDate, s.now())
}

func (s *Ledger) GetContact(ctx context.Context, req *pb.GetContactRequest) (*pb.Contact, error) {
	n, err := nameOf[names.Contact]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetContact(ctx, n.HouseholdID, n.ID)
	if err != nil {
		return nil, err
	}
	return convert.ContactToProto(c), nil
}

func (s *Ledger) ListContacts(ctx context.Context, req *pb.ListContactsRequest) (*pb.ListContactsResponse, error) {
	q, query, err := s.ledgerQuery("contacts", req.GetParent(), req.GetFilter(), req.GetPageToken(), req.GetPageSize(), repository.ContactFilter)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListContacts(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListContactsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Contacts = append(resp.Contacts, convert.ContactToProto(&rows[i]))
	}
	return resp, nil
}

// ledgerQuery reads a ledger list's parent, filter and page token; the
// token is bound to the list it was issued for.
func (s *Ledger) ledgerQuery(list, parent, f, token string, size int32, schema filter.Schema) (repository.LedgerQuery, string, error) {
	hid, err := householdID("parent", parent)
	if err != nil {
		return repository.LedgerQuery{}, "", err
	}
	parsed, err := filter.Parse(f, schema)
	if err != nil {
		return repository.LedgerQuery{}, "", filterError(err)
	}
	query := listQuery(list, parent, f)
	after, err := s.pages.decode(token, query)
	if err != nil {
		return repository.LedgerQuery{}, "", err
	}
	return repository.LedgerQuery{HouseholdID: hid, Filter: parsed, Page: repository.Page{Size: int(size), After: after}}, query, nil
}

func (s *Ledger) UpdateContact(ctx context.Context, req *pb.UpdateContactRequest) (*pb.Contact, error) {
	patch := req.GetContact()
	if patch == nil {
		return nil, domain.Invalid("contact", "is required")
	}
	n, err := nameOf[names.Contact]("contact.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("contact.etag", "is required: read the contact and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, contactUpdatable)
	if err != nil {
		return nil, err
	}
	c, err := s.store.UpdateContact(ctx, n.HouseholdID, n.ID, patch.GetEtag(), func(_ context.Context, row *repository.Contact) error {
		if slices.Contains(paths, "follow_ups") && openedCases(row) {
			return domain.Invalid("update_mask", "follow_ups of a contact whose follow-ups opened cases cannot be changed; record a new contact")
		}
		merged := convert.ContactToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		if err := s.validate("contact", merged); err != nil {
			return err
		}
		for _, f := range merged.GetFollowUps() {
			if f.GetOpenCase() != nil {
				return domain.Invalid("contact.follow_ups", "a case is opened when a contact is recorded, not by an update")
			}
			if slices.Contains(paths, "follow_ups") {
				f.OpenedCase = "" // the server's; the stored ones opened none
			}
		}
		return s.contactFrom("contact", merged, row)
	})
	if err != nil {
		return nil, err
	}
	return convert.ContactToProto(c), nil
}

func (s *Ledger) CreateAssistance(ctx context.Context, req *pb.CreateAssistanceRequest) (*pb.Assistance, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	a := &repository.Assistance{ID: newID(), HouseholdID: hid, RecordedBy: s.actor(ctx)}
	if err := convert.AssistanceFromProto("assistance", req.GetAssistance(), a); err != nil {
		return nil, err
	}
	if err := domain.CheckLedgerDate("assistance.assistance_date", a.AssistanceDate, s.now()); err != nil {
		return nil, err
	}
	if err := s.store.CreateAssistance(ctx, a); err != nil {
		return nil, err
	}
	return convert.AssistanceToProto(a), nil
}

func (s *Ledger) GetAssistance(ctx context.Context, req *pb.GetAssistanceRequest) (*pb.Assistance, error) {
	n, err := nameOf[names.Assistance]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAssistance(ctx, n.HouseholdID, n.ID)
	if err != nil {
		return nil, err
	}
	return convert.AssistanceToProto(a), nil
}

func (s *Ledger) ListAssistance(ctx context.Context, req *pb.ListAssistanceRequest) (*pb.ListAssistanceResponse, error) {
	q, query, err := s.ledgerQuery("assistance", req.GetParent(), req.GetFilter(), req.GetPageToken(), req.GetPageSize(), repository.AssistanceFilter)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListAssistance(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListAssistanceResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Assistance = append(resp.Assistance, convert.AssistanceToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Ledger) GetContactPolicy(ctx context.Context, req *pb.GetContactPolicyRequest) (*pb.ContactPolicy, error) {
	if _, err := nameOf[names.ContactPolicy]("name", req.GetName()); err != nil {
		return nil, err
	}
	p, err := s.store.GetContactPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return convert.ContactPolicyToProto(p), nil
}

func (s *Ledger) UpdateContactPolicy(ctx context.Context, req *pb.UpdateContactPolicyRequest) (*pb.ContactPolicy, error) {
	patch := req.GetContactPolicy()
	if _, err := nameOf[names.ContactPolicy]("contact_policy.name", patch.GetName()); err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("contact_policy.etag", "is required: read the policy and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, policyUpdatable)
	if err != nil {
		return nil, err
	}
	p, err := s.store.UpdateContactPolicy(ctx, patch.GetEtag(), func(_ context.Context, row *repository.ContactPolicy) error {
		merged := convert.ContactPolicyToProto(row)
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		if err := s.validate("contact_policy", merged); err != nil {
			return err
		}
		convert.ContactPolicyFromProto(merged, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return convert.ContactPolicyToProto(p), nil
}

// GetHouseholdLedger reads the household and each part of its ledger.
// They are separate reads, not one snapshot: a contact recorded between
// them may show in the count and not the list, which the next read
// settles.
func (s *Ledger) GetHouseholdLedger(ctx context.Context, req *pb.GetHouseholdLedgerRequest) (*pb.HouseholdLedger, error) {
	n, err := nameOf[names.Ledger]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	h, err := s.store.GetHousehold(ctx, n.HouseholdID, false)
	if err != nil {
		return nil, err
	}
	out := &pb.HouseholdLedger{Name: n.String(), Household: maskHousehold(convert.HouseholdToProto(h, s.towns))}
	members, _, err := s.store.ListMembers(ctx, h.ID, repository.Page{Size: ledgerMembers})
	if err != nil {
		return nil, err
	}
	for i := range members {
		out.Members = append(out.Members, maskMember(convert.MemberToProto(&members[i], h.ServicememberIDNumber)))
	}
	contacts, _, err := s.store.ListContacts(ctx, repository.LedgerQuery{HouseholdID: h.ID, Page: repository.Page{Size: ledgerContacts}})
	if err != nil {
		return nil, err
	}
	for i := range contacts {
		out.Contacts = append(out.Contacts, convert.ContactToProto(&contacts[i]))
	}
	help, _, err := s.store.ListAssistance(ctx, repository.LedgerQuery{HouseholdID: h.ID, Page: repository.Page{Size: ledgerAssistance}})
	if err != nil {
		return nil, err
	}
	for i := range help {
		out.Assistance = append(out.Assistance, convert.AssistanceToProto(&help[i]))
	}
	sum, err := s.store.HouseholdLedger(ctx, h.ID, ledgerCases)
	if err != nil {
		return nil, err
	}
	out.ContactCount, out.AssistanceCount, out.AssistanceTotalFen = int32(sum.Contacts), int32(sum.Assistance), sum.TotalFen
	out.OpenCaseCount, out.ClosedCaseCount = int32(sum.OpenCases), int32(sum.ClosedCases)
	for i := range sum.Cases {
		out.Cases = append(out.Cases, convert.LedgerCaseToProto(&sum.Cases[i]))
	}
	return out, nil
}

// openedCases reports whether any of c's follow-ups opened a case.
func openedCases(c *repository.Contact) bool {
	return slices.ContainsFunc(c.FollowUps.V, func(f domain.FollowUp) bool { return f.Case != "" })
}
