package service

import (
	"context"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
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
	CreateNote(ctx context.Context, n *repository.Note) error
	ListNotes(ctx context.Context, caseID string, page repository.Page) ([]repository.Note, *repository.Cursor, error)
	ListHistory(ctx context.Context, caseID string, page repository.Page) ([]repository.HistoryEntry, *repository.Cursor, error)
}

// Cases implements pb.CaseServiceServer.
type Cases struct {
	pb.UnimplementedCaseServiceServer
	base
	store CaseStore
}

// NewCases builds the case service.
func NewCases(store CaseStore, v protovalidate.Validator, o Options) *Cases {
	return &Cases{base: newBase(v, o), store: store}
}

var caseUpdatable = updatable{
	"subject": true, "employment_placement": true, "school_enrollment": true,
	"elder_medical_help": true, "legal_aid": true,
}

// subjectOf loads the subject member named by name and checks that it
// belongs to the household and fits the case type.
func (s *Cases) subjectOf(ctx context.Context, householdID, name string, kind domain.Kind) (*repository.Member, error) {
	hid, mid, err := memberIDs("case.subject", name)
	if err != nil {
		return nil, err
	}
	if hid != householdID {
		return nil, domain.Invalid("case.subject", "must be a member of the case's household")
	}
	m, err := s.store.GetMember(ctx, hid, mid)
	if err != nil {
		if err == repository.ErrNotFound {
			return nil, domain.Invalid("case.subject", "no such member in the household")
		}
		return nil, err
	}
	subject := domain.Subject{Relation: m.Relation, BirthDate: m.BirthDate, Accompanying: m.Accompanying}
	if err := domain.CheckSubject(kind, subject, s.now().In(domain.ChinaTime)); err != nil {
		return nil, err
	}
	return m, nil
}

func priorityOf(h *repository.Household) (domain.Priority, []domain.Reason) {
	return domain.ComputePriority(domain.PriorityInput{Category: h.Category, Post: h.PostType, Hardship: h.Hardship})
}

func (s *Cases) CreateCase(ctx context.Context, req *pb.CreateCaseRequest) (*pb.Case, error) {
	row, hist, err := s.newCase(ctx, req, "CreateCase")
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateCase(ctx, row, hist); err != nil {
		return nil, err
	}
	return convert.CaseToProto(row)
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
		if err == repository.ErrNotFound {
			return nil, nil, domain.Invalid("case.household", "no such household")
		}
		return nil, nil, err
	}
	m, err := s.subjectOf(ctx, hid, p.GetSubject(), kind)
	if err != nil {
		return nil, nil, err
	}
	priority, reasons := priorityOf(h)
	actor := s.actor(ctx)
	row := &repository.Case{
		ID: newID(), HouseholdID: hid, SubjectID: m.ID, Status: domain.StatusDraft,
		TownCode: h.TownCode, Priority: priority, PriorityReasons: reasons, Creator: actor,
	}
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
	return convert.CaseToProto(c)
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
	for i := range rows {
		c, err := convert.CaseToProto(&rows[i])
		if err != nil {
			return nil, err
		}
		resp.Cases = append(resp.Cases, c)
	}
	return resp, nil
}

func (s *Cases) UpdateCase(ctx context.Context, req *pb.UpdateCaseRequest) (*pb.Case, error) {
	patch := req.GetCase()
	if patch == nil {
		return nil, domain.Invalid("case", "is required")
	}
	id, err := caseID("case.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("case.etag", "is required: read the case and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, caseUpdatable)
	if err != nil {
		return nil, err
	}
	c, err := s.store.MutateCase(ctx, id, patch.GetEtag(), func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
		if !row.Status.Open() {
			return nil, &domain.PreconditionError{Type: "CASE_NOT_OPEN", Subject: names.Case{ID: id}.String(),
				Description: "details can be changed only while a case is open; it is CASE_STATUS_" + string(row.Status)}
		}
		merged, err := convert.CaseToProto(row)
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
		if merged.GetSubject() != (names.Member{HouseholdID: row.HouseholdID, ID: row.SubjectID}).String() {
			m, err := s.subjectOf(ctx, row.HouseholdID, merged.GetSubject(), kind)
			if err != nil {
				return nil, err
			}
			row.SubjectID = m.ID
		}
		if err := convert.StoreDetails(row, kind, detail); err != nil {
			return nil, err
		}
		return &repository.HistoryEntry{Actor: s.actor(ctx), Method: "UpdateCase", FromStatus: row.Status,
			ToStatus: row.Status, ChangedFields: paths}, nil
	})
	if err != nil {
		return nil, err
	}
	return convert.CaseToProto(c)
}

// move is the one path for every state change: the domain's state machine
// decides whether the action is allowed from the stored status, then apply
// makes the action's own changes, all in one transaction with its history.
func (s *Cases) move(ctx context.Context, name, etag string, action domain.Action, method, reason string,
	apply func(ctx context.Context, c *repository.Case, h *repository.HistoryEntry) error) (*pb.Case, error) {
	id, err := caseID("name", name)
	if err != nil {
		return nil, err
	}
	actor := s.actor(ctx)
	c, err := s.store.MutateCase(ctx, id, etag, func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
		from := row.Status
		to, err := domain.Transition(from, action)
		if err != nil {
			if p, ok := domain.AsPrecondition(err); ok && p.Subject == "" {
				p.Subject = names.Case{ID: id}.String()
			}
			return nil, err
		}
		h := &repository.HistoryEntry{Actor: actor, Method: method, FromStatus: from, ToStatus: to, Reason: reason}
		if from != to {
			h.ChangedFields = append(h.ChangedFields, "status")
		}
		if apply != nil {
			if err := apply(ctx, row, h); err != nil {
				return nil, err
			}
		}
		row.Status = to
		return h, nil
	})
	if err != nil {
		return nil, err
	}
	return convert.CaseToProto(c)
}

func addChanged(h *repository.HistoryEntry, fields ...string) {
	h.ChangedFields = append(h.ChangedFields, fields...)
}

// submitted stamps a (re)submission: the due time is computed from the case
// type, and the priority from the household as it is now.
func (s *Cases) submitted(ctx context.Context, c *repository.Case, e *repository.HistoryEntry) error {
	h, err := s.store.GetHousehold(ctx, c.HouseholdID, true)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	schoolYear := ""
	if c.Kind == domain.KindSchoolEnrollment {
		stored := &pb.Case{}
		if err := convert.SetDetails(stored, c.Kind, c.Details); err != nil {
			return err
		}
		schoolYear = stored.GetSchoolEnrollment().GetSchoolYear()
	}
	due := domain.DueTime(c.Kind, now, schoolYear)
	c.SubmitTime, c.DueTime = &now, &due
	c.Priority, c.PriorityReasons = priorityOf(h)
	addChanged(e, "submit_time", "due_time", "priority")
	return nil
}

func (s *Cases) SubmitCase(ctx context.Context, req *pb.SubmitCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionSubmit, "SubmitCase", "", s.submitted)
}

func (s *Cases) AcceptCase(ctx context.Context, req *pb.AcceptCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionAccept, "AcceptCase", "", nil)
}

func (s *Cases) RejectCase(ctx context.Context, req *pb.RejectCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionReject, "RejectCase", req.GetReason(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.StatusReason = req.GetReason()
			addChanged(e, "status_reason")
			return nil
		})
}

func (s *Cases) AssignCase(ctx context.Context, req *pb.AssignCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionAssign, "AssignCase", "",
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.Assignee = req.GetAssignee()
			addChanged(e, "assignee")
			return nil
		})
}

func (s *Cases) StartCase(ctx context.Context, req *pb.StartCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionStart, "StartCase", "",
		func(_ context.Context, c *repository.Case, _ *repository.HistoryEntry) error {
			err := domain.CheckStart(c.Assignee)
			if p, ok := domain.AsPrecondition(err); ok {
				p.Subject = names.Case{ID: c.ID}.String()
			}
			return err
		})
}

func (s *Cases) ResolveCase(ctx context.Context, req *pb.ResolveCaseRequest) (*pb.Case, error) {
	out := req.GetOutcome()
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionResolve, "ResolveCase", "",
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			stored := &pb.Case{}
			if err := convert.SetDetails(stored, c.Kind, c.Details); err != nil {
				return err
			}
			_, detail := convert.CaseDetails(stored)
			achieved := out.GetResult() != pb.OutcomeResult_OUTCOME_RESULT_NOT_ACHIEVED
			if err := domain.CheckResolve(c.Kind, achieved, fieldPresent(stored, detail)); err != nil {
				return err
			}
			now := s.now().UTC()
			convert.OutcomeFromProto(out, c)
			c.ResolveTime = &now
			addChanged(e, "outcome", "resolve_time")
			return nil
		})
}

// fieldPresent reports whether a path such as "legal_aid.stage" is set on
// the case's detail message.
func fieldPresent(c *pb.Case, detail proto.Message) func(string) bool {
	return func(path string) bool {
		if detail == nil {
			return false
		}
		_, field, ok := strings.Cut(path, ".")
		if !ok {
			return false
		}
		m := detail.ProtoReflect()
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(field))
		return fd != nil && m.Has(fd)
	}
}

func (s *Cases) CloseCase(ctx context.Context, req *pb.CloseCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionClose, "CloseCase", "", nil)
}

func (s *Cases) ReopenCase(ctx context.Context, req *pb.ReopenCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionReopen, "ReopenCase", req.GetReason(),
		func(ctx context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.StatusReason = req.GetReason()
			addChanged(e, "status_reason")
			if c.Status == domain.StatusRejected {
				// A rejected case comes back as a fresh submission, with a
				// new clock.
				return s.submitted(ctx, c, e)
			}
			c.OutcomeResult, c.OutcomeSummary, c.ResolveTime = "", "", nil
			addChanged(e, "outcome", "resolve_time")
			return nil
		})
}

func (s *Cases) WithdrawCase(ctx context.Context, req *pb.WithdrawCaseRequest) (*pb.Case, error) {
	return s.move(ctx, req.GetName(), req.GetEtag(), domain.ActionWithdraw, "WithdrawCase", req.GetReason(),
		func(_ context.Context, c *repository.Case, e *repository.HistoryEntry) error {
			c.StatusReason = req.GetReason()
			addChanged(e, "status_reason")
			return nil
		})
}

func (s *Cases) CreateNote(ctx context.Context, req *pb.CreateNoteRequest) (*pb.Note, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	n := &repository.Note{ID: newID(), CaseID: cid, Author: s.actor(ctx)}
	convert.NoteFromProto(req.GetNote(), n)
	if err := s.store.CreateNote(ctx, n); err != nil {
		return nil, err
	}
	return convert.NoteToProto(n), nil
}

func (s *Cases) ListNotes(ctx context.Context, req *pb.ListNotesRequest) (*pb.ListNotesResponse, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("notes", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListNotes(ctx, cid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListNotesResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Notes = append(resp.Notes, convert.NoteToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Cases) ListCaseHistory(ctx context.Context, req *pb.ListCaseHistoryRequest) (*pb.ListCaseHistoryResponse, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("history", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListHistory(ctx, cid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListCaseHistoryResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Entries = append(resp.Entries, convert.HistoryToProto(&rows[i]))
	}
	return resp, nil
}
