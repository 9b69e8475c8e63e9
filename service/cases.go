package service

import (
	"context"
	"errors"
	"math"
	"time"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// CaseStore is what the case service needs from storage.
type CaseStore interface {
	GetHousehold(ctx context.Context, id string, showDeleted bool) (*repository.Household, error)
	GetMember(ctx context.Context, householdID, id string) (*repository.Member, error)
	CreateCase(ctx context.Context, c *repository.Case, h *repository.HistoryEntry) error
	GetCase(ctx context.Context, id string) (*repository.Case, error)
	GetCases(ctx context.Context, ids []string) ([]repository.Case, error)
	CreateCases(ctx context.Context, cs []*repository.Case, hists []*repository.HistoryEntry) error
	ListCases(ctx context.Context, q repository.CaseQuery) ([]repository.Case, *repository.Cursor, error)
	MutateCase(ctx context.Context, id, etag string, fn func(ctx context.Context, c *repository.Case) (*repository.HistoryEntry, error)) (*repository.Case, error)
	MutateCases(ctx context.Context, edits []repository.CaseEdit, fn func(ctx context.Context, i int, c *repository.Case) (*repository.HistoryEntry, error)) ([]*repository.Case, error)
	CreateNote(ctx context.Context, n *repository.Note) error
	ListNotes(ctx context.Context, caseID string, page repository.Page) ([]repository.Note, *repository.Cursor, error)
	ListHistory(ctx context.Context, caseID string, page repository.Page) ([]repository.HistoryEntry, *repository.Cursor, error)
	EndedHolds(ctx context.Context, now time.Time, limit int) ([]repository.Case, error)
	CountCases(ctx context.Context, f filter.Filter) (int64, error)
	DirectoryAssignee(ctx context.Context, id string) (*repository.Assignee, error)
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Cases implements pb.CaseServiceServer.
type Cases struct {
	pb.UnimplementedCaseServiceServer
	base
	store     CaseStore
	towns     *towns.Table
	deadlines domain.Deadlines
}

// NewCases builds the case service.
func NewCases(store CaseStore, t *towns.Table, v protovalidate.Validator, o Options) *Cases {
	d := o.Deadlines
	if d.Calendar == nil {
		def := domain.DefaultDeadlines()
		d.Calendar = def.Calendar
	}
	return &Cases{base: newBase(v, o), store: store, towns: t, deadlines: d}
}

var caseUpdatable = updatable{
	"subject": true, "employment_placement": true, "school_enrollment": true,
	"elder_medical_help": true, "legal_aid": true,
}

// subjectOf loads the subject member named by name and checks that it
// belongs to the household; eligible checks that it fits the case.
func (s *Cases) subjectOf(ctx context.Context, householdID, name string) (*repository.Member, error) {
	hid, mid, err := memberIDs("case.subject", name)
	if err != nil {
		return nil, err
	}
	if hid != householdID {
		return nil, domain.Invalid("case.subject", "must be a member of the case's household")
	}
	m, err := s.store.GetMember(ctx, hid, mid)
	if err != nil {
		if errors.Is(err, repository.ErrNotFound) {
			return nil, domain.Invalid("case.subject", "no such member in the household")
		}
		return nil, err
	}
	return m, nil
}

// subjectFacts is what the rules read of a stored member.
func subjectFacts(m *repository.Member) domain.Subject {
	return domain.Subject{Relation: m.Relation, BirthDate: m.BirthDate, Accompanying: m.Accompanying,
		CannotLiveIndependently: m.CannotLiveIndependently}
}

// eligible applies the eligibility rules to the case p asks for, for member
// m of household h, and writes what they derive onto p's details (the
// placement route, the school basis and benefit, urgency). It returns the
// rules that decided.
func (s *Cases) eligible(h *repository.Household, m *repository.Member, p *pb.Case) ([]domain.RuleID, error) {
	d, err := domain.CheckEligibility(householdFacts(h), subjectFacts(m), convert.Request(p), s.now().In(domain.ChinaTime))
	if err != nil {
		return nil, err
	}
	convert.ApplyDecided(p, d)
	return d.Rules, nil
}

// keepServerFields puts back, on the details p carries, the fields the
// server alone sets (from stored, nil for a new case): a client's value for
// them is ignored.
func keepServerFields(p, stored *pb.Case) {
	switch d := p.GetDetails().(type) {
	case *pb.Case_EmploymentPlacement:
		d.EmploymentPlacement.Eligible = stored.GetEmploymentPlacement().GetEligible()
	case *pb.Case_LegalAid:
		d.LegalAid.MissingMaterials = stored.GetLegalAid().GetMissingMaterials()
		d.LegalAid.MaterialsDueDate = stored.GetLegalAid().GetMaterialsDueDate()
	}
}

// householdFacts is what the rules read of a stored household: its stored
// status, post, disability, honours, hardship, settlement and approval.
func householdFacts(h *repository.Household) domain.Household {
	return h.Facts()
}

// prioritize sets the case's tier and reasons from its household as it is
// now, and returns the rules they come from.
func prioritize(c *repository.Case, h *repository.Household) []domain.RuleID {
	p, reasons, rules := domain.CasePriority(c.Kind, householdFacts(h))
	c.Priority, c.PriorityReasons = p, reasons
	return rules
}

func (s *Cases) CreateCase(ctx context.Context, req *pb.CreateCaseRequest) (*pb.Case, error) {
	row, hist, err := s.newCase(ctx, req, "CreateCase")
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateCase(ctx, row, hist); err != nil {
		return nil, err
	}
	return convert.CaseToProto(row, s.towns, s.now())
}

// newCase is the case a create request asks for, with its first history
// entry by method, once the household and subject are found and fit it:
// single and batch creates share it.
func (s *Cases) newCase(ctx context.Context, req *pb.CreateCaseRequest, method string) (*repository.Case, *repository.HistoryEntry, error) {
	p := req.GetCase()
	kind, detail := convert.CaseDetails(p)
	if detail == nil {
		return nil, nil, domain.Invalid("case.details", "exactly one of employment_placement, school_enrollment, elder_medical_help or legal_aid is required")
	}
	hid, err := householdID("case.household", p.GetHousehold())
	if err != nil {
		return nil, nil, err
	}
	h, err := s.store.GetHousehold(ctx, hid, false)
	if err != nil {
		if errors.Is(err, repository.ErrNotFound) {
			return nil, nil, domain.Invalid("case.household", "no such household")
		}
		return nil, nil, err
	}
	m, err := s.subjectOf(ctx, hid, p.GetSubject())
	if err != nil {
		return nil, nil, err
	}
	keepServerFields(p, nil)
	rules, err := s.eligible(h, m, p)
	if err != nil {
		return nil, nil, err
	}
	actor := s.actor(ctx)
	row := &repository.Case{
		ID: newID(), HouseholdID: hid, SubjectID: m.ID, Status: domain.StatusDraft,
		TownCode: h.TownCode, Kind: kind, Creator: actor,
	}
	row.PolicyBasis = domain.PolicyBasis(rules, prioritize(row, h), nil)
	if err := convert.StoreDetails(row, kind, detail); err != nil {
		return nil, nil, err
	}
	return row, &repository.HistoryEntry{Actor: actor, Method: method, ToStatus: row.Status}, nil
}

func (s *Cases) GetCase(ctx context.Context, req *pb.GetCaseRequest) (*pb.Case, error) {
	id, err := caseID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCase(ctx, id)
	if err != nil {
		return nil, err
	}
	return convert.CaseToProto(c, s.towns, s.now())
}

func (s *Cases) ListCases(ctx context.Context, req *pb.ListCasesRequest) (*pb.ListCasesResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.CaseFilter)
	if err != nil {
		return nil, filterError(err)
	}
	order, err := parseOrderBy(req.GetOrderBy(), "create_time", "due_time")
	if err != nil {
		return nil, err
	}
	query := listQuery("cases", req.GetFilter(), req.GetOrderBy())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListCases(ctx, repository.CaseQuery{
		Filter: f, Order: order, Page: repository.Page{Size: int(req.GetPageSize()), After: after},
	})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListCasesResponse{NextPageToken: s.pages.encode(next, query)}
	if byAssignee(f) {
		n, err := s.store.CountCases(ctx, f)
		if err != nil {
			return nil, err
		}
		resp.TotalSize = int32(min(n, math.MaxInt32)) //nolint:gosec // clamped
	}
	for i := range rows {
		c, err := convert.CaseToProto(&rows[i], s.towns, s.now())
		if err != nil {
			return nil, err
		}
		resp.Cases = append(resp.Cases, c)
	}
	return resp, nil
}

func (s *Cases) UpdateCase(ctx context.Context, req *pb.UpdateCaseRequest) (*pb.Case, error) {
	patch := req.GetCase()
	n, paths, err := updateOf[names.Case]("case", patch, req.GetUpdateMask(), caseUpdatable)
	if err != nil {
		return nil, err
	}
	c, err := s.store.MutateCase(ctx, n.ID, patch.GetEtag(), func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
		return s.changeCase(ctx, row, patch, paths, "UpdateCase")
	})
	if err != nil {
		return nil, err
	}
	return convert.CaseToProto(c, s.towns, s.now())
}

// changeCase applies the paths of patch to the stored case row under the
// case's rules (open, same type, valid, eligible) and returns its history
// entry by method. A caseworker's UpdateCase and the placement an accepted
// recruitment offer records both go through it, so both are checked and
// recorded alike.
func (s *Cases) changeCase(ctx context.Context, row *repository.Case, patch *pb.Case, paths []string, method string) (*repository.HistoryEntry, error) {
	if !row.Status.Open() {
		return nil, &domain.PreconditionError{Type: "CASE_NOT_OPEN", Subject: names.Case{ID: row.ID}.String(),
			Description: "details can be changed only while a case is open; it is CASE_STATUS_" + string(row.Status)}
	}
	merged, err := convert.CaseToProto(row, s.towns, s.now())
	if err != nil {
		return nil, err
	}
	if err := applyMask(merged, patch, paths); err != nil {
		return nil, err
	}
	kind, detail := convert.CaseDetails(merged)
	if detail == nil || kind != row.Kind {
		return nil, domain.Invalid("case.details", "the case type cannot change; open a new case instead")
	}
	if err := s.validate("case", merged); err != nil {
		return nil, err
	}
	stored, err := convert.CaseToProto(row, s.towns, s.now())
	if err != nil {
		return nil, err
	}
	keepServerFields(merged, stored)
	m, err := s.subjectOf(ctx, row.HouseholdID, merged.GetSubject())
	if err != nil {
		return nil, err
	}
	h, err := s.store.GetHousehold(ctx, row.HouseholdID, true)
	if err != nil {
		return nil, err
	}
	rules, err := s.eligible(h, m, merged)
	if _, ok := domain.AsNotEligible(err); ok && row.Status != domain.StatusDraft && m.ID == row.SubjectID {
		// Eligibility was settled at submission; a household that
		// changed since (a discharge, say) does not stop the county
		// recording what it did for the same subject.
		rules, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	row.SubjectID = m.ID
	if err := convert.StoreDetails(row, kind, detail); err != nil {
		return nil, err
	}
	s.rebasis(row, rules)
	return &repository.HistoryEntry{Actor: s.actor(ctx), Method: method, FromStatus: row.Status,
		ToStatus: row.Status, ChangedFields: paths}, nil
}

// RecordPlacement records on an employment-placement case where its spouse
// was placed, as a caseworker's UpdateCase of those fields would, with the
// history entry by method. ctx may be bound to a transaction the placement
// joins (an accepted recruitment offer is recorded with it).
func (s *Cases) RecordPlacement(ctx context.Context, caseID string, p *pb.EmploymentPlacement, method string) (*repository.Case, error) {
	patch := &pb.Case{Details: &pb.Case_EmploymentPlacement{EmploymentPlacement: p}}
	paths := []string{"employment_placement.employer", "employment_placement.position",
		"employment_placement.placement_date", "employment_placement.channel", "employment_placement.route"}
	return s.store.MutateCase(ctx, caseID, "", func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
		if row.Kind != domain.KindEmploymentPlacement {
			return nil, domain.Invalid("case", "is not an employment-placement case")
		}
		return s.changeCase(ctx, row, patch, paths, method)
	})
}
