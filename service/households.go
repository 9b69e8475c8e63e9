package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"buf.build/go/protovalidate"

	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// HouseholdStore is what the household service needs from storage.
type HouseholdStore interface {
	CreateHousehold(ctx context.Context, h *repository.Household) error
	GetHousehold(ctx context.Context, id string, showDeleted bool) (*repository.Household, error)
	ListHouseholds(ctx context.Context, q repository.HouseholdQuery) ([]repository.Household, *repository.Cursor, error)
	UpdateHousehold(ctx context.Context, id, etag string, fn func(ctx context.Context, h *repository.Household) error) (*repository.Household, error)
	DeleteHousehold(ctx context.Context, id, etag string) (*repository.Household, error)
	UndeleteHousehold(ctx context.Context, id, etag string) (*repository.Household, error)
	LookupHousehold(ctx context.Context, idNumber string) (*repository.Household, error)
	GetHouseholds(ctx context.Context, ids []string) ([]repository.Household, error)
	CreateHouseholds(ctx context.Context, hs []*repository.Household) error
	// HouseholdsByServicemember and LookupHouseholds answer, parallel to
	// the ID numbers asked, the household in the caller's towns each
	// belongs to (as the servicemember's; or as anyone's), nil for none.
	HouseholdsByServicemember(ctx context.Context, idNumbers []string) ([]*repository.Household, error)
	LookupHouseholds(ctx context.Context, idNumbers []string) ([]*repository.Household, error)
	// InTx joins the store calls made with fn's context into one
	// transaction: a batch is all or nothing.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	Auditor
	CreateMember(ctx context.Context, m *repository.Member) error
	// CreateMembers adds many members in one bulk insert (an import's).
	CreateMembers(ctx context.Context, ms []*repository.Member) error
	GetMember(ctx context.Context, householdID, id string) (*repository.Member, error)
	ListMembers(ctx context.Context, householdID string, page repository.Page) ([]repository.Member, *repository.Cursor, error)
	// MembersOf reads the members of many households at once (an
	// import's chunk).
	MembersOf(ctx context.Context, householdIDs []string) ([]repository.Member, error)
	UpdateMember(ctx context.Context, householdID, id, etag string, fn func(ctx context.Context, m *repository.Member) error) (*repository.Member, error)
	DeleteMember(ctx context.Context, householdID, id, etag string) error
	CreateStatusChange(ctx context.Context, c *repository.StatusChange) error
	ListStatusChanges(ctx context.Context, householdID string, page repository.Page) ([]repository.StatusChange, *repository.Cursor, error)
	// OpenCases and MutateCase re-evaluate the priority of a household's
	// open cases when its status changes, inside the household's
	// transaction.
	OpenCases(ctx context.Context, householdID string) ([]repository.Case, error)
	MutateCase(ctx context.Context, id, etag string, fn func(ctx context.Context, c *repository.Case) (*repository.HistoryEntry, error)) (*repository.Case, error)
	TransferStore
}

// Households implements pb.HouseholdServiceServer.
type Households struct {
	pb.UnimplementedHouseholdServiceServer
	base
	store HouseholdStore
	towns *towns.Table
}

// NewHouseholds builds the household service over the county's towns (nil:
// the table shipped with the program), which town codes are checked
// against and named from.
func NewHouseholds(store HouseholdStore, t *towns.Table, v protovalidate.Validator, o Options) *Households {
	if t == nil {
		t = towns.Default()
	}
	return &Households{base: newBase(v, o), store: store, towns: t}
}

var householdUpdatable = updatable{
	"servicemember": true, "category": true, "town_code": true, "address": true,
	"phone": true, "hardship": true, "hardship_note": true, "accompaniment_approval": true,
	"settled_at_home": true, "preferential_certificate_number": true,
}

var memberUpdatable = updatable{
	"relation": true, "display_name": true, "id_number": true, "birth_date": true,
	"phone": true, "accompanying": true, "cannot_live_independently": true,
}

// checkIDNumber applies the ID-number rules (domain.CheckIDNumber) to an
// ID number field, leaving it in place in its 18-character form.
func (b base) checkIDNumber(field string, v *string, required bool) (domain.IDNumber, error) {
	*v = idnumber.Normalize(*v)
	if *v == "" {
		if required {
			return domain.IDNumber{}, domain.Invalid(field, "is required")
		}
		return domain.IDNumber{}, nil
	}
	id, err := domain.CheckIDNumber(field, *v, b.now())
	if err != nil {
		return domain.IDNumber{}, err
	}
	*v = id.Number
	return id, nil
}

// render renders a household in full, its town named from the county's
// table; masked is the view every answer but an audited full one gets.
func (s *Households) render(h *repository.Household) *pb.Household {
	return convert.HouseholdToProto(h, s.towns)
}

func (s *Households) masked(h *repository.Household, err error) (*pb.Household, error) {
	if err != nil {
		return nil, err
	}
	return maskHousehold(s.render(h)), nil
}

func (s *Households) CreateHousehold(ctx context.Context, req *pb.CreateHouseholdRequest) (*pb.Household, error) {
	h, err := s.newHousehold(req)
	if err != nil {
		return nil, err
	}
	if err := s.checkDuplicates(ctx, req.GetConfirmPossibleDuplicate(), h.MatchKeys(), h.ServicememberIDNumber, true); err != nil {
		return nil, err
	}
	return s.masked(h, s.store.CreateHousehold(ctx, h))
}

// newHousehold is the row a create request asks for, once the rules that
// need no storage pass: single and batch creates share it. The status is
// required, or read from a category a client written before statuses
// existed sends (domain.StatusOf); the category is then derived from it.
func (s *Households) newHousehold(req *pb.CreateHouseholdRequest) (*repository.Household, error) {
	p := req.GetHousehold()
	if p.GetServicemember() == nil {
		return nil, domain.Invalid("household.servicemember", "is required")
	}
	if err := domain.CheckTownCode("household.town_code", p.GetTownCode(), s.towns); err != nil {
		return nil, err
	}
	if _, err := s.checkIDNumber("household.servicemember.id_number", &p.Servicemember.IdNumber, true); err != nil {
		return nil, err
	}
	if err := checkHouseholdFields(p); err != nil {
		return nil, err
	}
	h := &repository.Household{ID: newID()}
	convert.HouseholdFromProto(p, h)
	status, decorated, err := domain.StatusOf("household.servicemember.status", h.ServicememberStatus, h.Category, h.RankCategory)
	if err != nil {
		return nil, err
	}
	r := h.Record()
	r.Status, r.Decorated = status, r.Decorated || decorated
	if err := domain.CheckHousehold("household", r, s.now()); err != nil {
		return nil, err
	}
	h.SetRecord(r)
	return h, nil
}

// checkHouseholdFields applies the rules on single fields that conversion
// cannot: a whole approval date, the certificate number's form.
func checkHouseholdFields(p *pb.Household) error {
	if err := convert.ApprovalDate("household", p); err != nil {
		return err
	}
	return domain.CheckCertificateNumber("household.preferential_certificate_number", p.GetPreferentialCertificateNumber())
}

func (s *Households) GetHousehold(ctx context.Context, req *pb.GetHouseholdRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	h, err := s.store.GetHousehold(ctx, id, false)
	if err != nil {
		if h, err = s.mergedHousehold(ctx, id, err); err != nil {
			return nil, err
		}
	}
	return s.householdView(ctx, h, req.GetView())
}

// householdView renders h masked, or in full when asked for, allowed and
// audited.
func (s *Households) householdView(ctx context.Context, h *repository.Household, view pb.View) (*pb.Household, error) {
	full, err := fullView(ctx, s.store, view, names.Household{ID: h.ID}.String(), h.TownCode,
		"servicemember.id_number", "phone", "preferential_certificate_number")
	if err != nil {
		return nil, err
	}
	out := s.render(h)
	if full {
		return out, nil
	}
	return maskHousehold(out), nil
}

func (s *Households) ListHouseholds(ctx context.Context, req *pb.ListHouseholdsRequest) (*pb.ListHouseholdsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.HouseholdFilter)
	if err != nil {
		return nil, filterError(err)
	}
	order, err := parseOrderBy(req.GetOrderBy(), "create_time", "next_contact_due")
	if err != nil {
		return nil, err
	}
	query := listQuery("households", req.GetFilter(), req.GetOrderBy(), req.GetShowDeleted())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListHouseholds(ctx, repository.HouseholdQuery{
		Filter: f, Order: order, ShowDeleted: req.GetShowDeleted(),
		Page: repository.Page{Size: int(req.GetPageSize()), After: after},
	})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListHouseholdsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Households = append(resp.Households, maskHousehold(s.render(&rows[i])))
	}
	return resp, nil
}

func (s *Households) UpdateHousehold(ctx context.Context, req *pb.UpdateHouseholdRequest) (*pb.Household, error) {
	patch := req.GetHousehold()
	n, paths, err := updateOf[names.Household]("household", patch, req.GetUpdateMask(), householdUpdatable)
	if err != nil {
		return nil, err
	}
	return s.masked(s.store.UpdateHousehold(ctx, n.ID, patch.GetEtag(), func(ctx context.Context, row *repository.Household) error {
		return s.changeHousehold(ctx, row, patch, paths, "UpdateHousehold")
	}))
}

// changeHousehold applies patch's fields under paths to the stored row,
// under every rule of UpdateHousehold; method names the call in the status
// history a change of the servicemember's facts records. ctx is the
// household's transaction's. A change that leaves the row as it was is
// written by nobody (see repository's update).
func (s *Households) changeHousehold(ctx context.Context, row *repository.Household, patch *pb.Household, paths []string, method string) error {
	before := *row
	if err := s.mergeHousehold(row, patch, paths); err != nil {
		return err
	}
	if fields := factFields(&before, row); len(fields) > 0 {
		c := domain.StatusChange{Kind: domain.ChangeCorrection, Effective: domain.Today(s.now()),
			Status: row.ServicememberStatus, Post: row.PostType, DisabilityGrade: row.DisabilityGrade}
		return s.statusChanged(ctx, &before, row, c, "recorded by "+method+": "+strings.Join(fields, ", "), method, fields)
	}
	return nil
}

// mergeHousehold is changeHousehold without what it writes beside the
// row: the row the update leaves, or the rule it breaks. Whatever it
// leaves equal to the stored row (repository.ChangedFields) is a change
// that writes nothing, and then neither does changeHousehold, since the
// status history follows fields of the row.
func (s *Households) mergeHousehold(row *repository.Household, patch *pb.Household, paths []string) error {
	before := *row
	merged := s.render(row)
	if err := applyMask(merged, patch, paths); err != nil {
		return err
	}
	if merged.Servicemember != nil {
		keepIfMasked(&merged.Servicemember.IdNumber, row.ServicememberIDNumber, idnumber.Mask)
	}
	keepIfMasked(&merged.Phone, row.Phone, idnumber.MaskPhone)
	keepIfMasked(&merged.PreferentialCertificateNumber, row.PreferentialCertificateNumber, idnumber.Mask)
	if err := s.validate("household", merged); err != nil {
		return err
	}
	if merged.GetTownCode() != row.TownCode {
		if err := domain.CheckTownChange(row.TransferState(), merged.GetTownCode()); err != nil {
			return err
		}
		if err := domain.CheckTownCode("household.town_code", merged.GetTownCode(), s.towns); err != nil {
			return err
		}
	}
	// A number stored before is not checked again: it passed the rules
	// of its day, and a record must stay editable.
	if n := idnumber.Normalize(merged.Servicemember.GetIdNumber()); n != row.ServicememberIDNumber {
		if _, err := s.checkIDNumber("household.servicemember.id_number", &merged.Servicemember.IdNumber, true); err != nil {
			return err
		}
	}
	if err := checkHouseholdFields(merged); err != nil {
		return err
	}
	convert.HouseholdFromProto(merged, row)
	r, err := updatedRecord(&before, row)
	if err != nil {
		return err
	}
	if err := domain.CheckHousehold("household", r, s.now()); err != nil {
		return err
	}
	row.SetRecord(r)
	return nil
}

// updatedRecord is the record an update leaves, its status decided: the
// status sent; or, when a client that knows no statuses changed only the
// category, the status that category names (as on create); a status once
// recorded is not cleared.
func updatedRecord(before, row *repository.Household) (domain.HouseholdRecord, error) {
	r := row.Record()
	if r.Status == before.ServicememberStatus && row.Category != before.Category {
		st, decorated, ok := domain.StatusFromCategory(row.Category, row.RankCategory)
		if !ok {
			return r, domain.Invalid("household.category", "names no servicemember status (an active-duty category needs the rank category officer, NCO or conscript): send servicemember.status instead")
		}
		r.Status, r.Decorated = st, decorated
	}
	if r.Status == "" && before.ServicememberStatus != "" {
		return r, domain.Invalid("household.servicemember.status", "is required")
	}
	return r, nil
}

// factFields names the facts the priority rules read that differ between
// two versions of a household: a change of any is a change of status.
func factFields(before, after *repository.Household) []string {
	var out []string
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"servicemember_status", before.ServicememberStatus != after.ServicememberStatus},
		{"post_type", before.PostType != after.PostType},
		{"disability_grade", before.DisabilityGrade != after.DisabilityGrade},
		{"decorated", before.Decorated != after.Decorated},
		{"hardship", before.Hardship != after.Hardship},
	} {
		if f.changed {
			out = append(out, f.name)
		}
	}
	return out
}

// ChangeServicememberStatus records a change of the servicemember's status
// with the date it took effect, applies it to the household and re-evaluates
// the priority of its open cases, all in one transaction.
func (s *Households) ChangeServicememberStatus(ctx context.Context, req *pb.ChangeServicememberStatusRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	effective, err := convert.TimeOfDate("effective_date", req.GetEffectiveDate())
	if err != nil {
		return nil, err
	}
	c := domain.StatusChange{
		Kind: convert.StatusChangeKindOf(req.GetKind()), Effective: effective,
		Status: convert.ServiceStatusOf(req.GetStatus()), Post: convert.PostTypeOf(req.GetPostType()),
		DisabilityGrade: int(req.GetDisabilityGrade()), Honour: req.GetHonour(),
	}
	return s.masked(s.store.UpdateHousehold(ctx, id, req.GetEtag(), func(ctx context.Context, row *repository.Household) error {
		before := *row
		after, err := domain.ApplyStatusChange(row.Record(), c, s.now())
		if err != nil {
			return err
		}
		if err := domain.CheckHousehold("household", after, s.now()); err != nil {
			return err
		}
		row.SetRecord(after)
		return s.statusChanged(ctx, &before, row, c, req.GetNote(), "ChangeServicememberStatus", factFields(&before, row))
	}))
}

// statusChanged records the change c that took the household from before
// to after, and re-evaluates the priority of its open cases (rule
// STATUS_CHANGE_REEVALUATES_PRIORITY), each with a history entry saying
// why; ctx is the household's transaction's, so all of it commits or none.
func (s *Households) statusChanged(ctx context.Context, before, after *repository.Household, c domain.StatusChange, note, method string, fields []string) error {
	err := s.store.CreateStatusChange(ctx, &repository.StatusChange{
		ID: newID(), HouseholdID: after.ID, Kind: c.Kind, EffectiveDate: c.Effective,
		FromStatus: before.ServicememberStatus, ToStatus: after.ServicememberStatus,
		FromPostType: before.PostType, ToPostType: after.PostType,
		FromDisabilityGrade: before.DisabilityGrade, ToDisabilityGrade: after.DisabilityGrade,
		Note: note, Recorder: s.actor(ctx),
	})
	if err != nil {
		return err
	}
	cases, err := s.store.OpenCases(ctx, after.ID)
	if err != nil {
		return err
	}
	facts, cause := after.Facts(), c.Cause(fields...)
	for _, oc := range cases {
		if _, ok := domain.ReevaluatePriority(openCase(&oc), facts, cause); !ok {
			continue
		}
		_, err := s.store.MutateCase(ctx, oc.ID, "", func(ctx context.Context, row *repository.Case) (*repository.HistoryEntry, error) {
			r, ok := domain.ReevaluatePriority(openCase(row), facts, cause)
			if !ok {
				return nil, errPriorityStands
			}
			row.Priority, row.PriorityReasons, row.PolicyBasis = r.Priority, r.Reasons, r.Basis
			return &repository.HistoryEntry{Actor: s.actor(ctx), Method: method, FromStatus: row.Status, ToStatus: row.Status,
				ChangedFields: repository.List[string]{"priority", "priority_reasons", "policy_basis"}, Reason: r.Why}, nil
		})
		if err != nil && !errors.Is(err, errPriorityStands) {
			return err
		}
	}
	return nil
}

// openCase is what re-evaluating its priority reads of a stored case.
func openCase(c *repository.Case) domain.OpenCase {
	return domain.OpenCase{Kind: c.Kind, Status: c.Status, Priority: c.Priority, Reasons: c.PriorityReasons,
		Basis: c.PolicyBasis, Clocks: c.Clocks.V}
}

// errPriorityStands leaves a case untouched that, locked, turned out to
// need no change after all.
var errPriorityStands = errors.New("the case's priority stands")

func (s *Households) ListStatusChanges(ctx context.Context, req *pb.ListStatusChangesRequest) (*pb.ListStatusChangesResponse, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("statusChanges", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListStatusChanges(ctx, hid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListStatusChangesResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.StatusChanges = append(resp.StatusChanges, convert.StatusChangeToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Households) DeleteHousehold(ctx context.Context, req *pb.DeleteHouseholdRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	return s.masked(s.store.DeleteHousehold(ctx, id, req.GetEtag()))
}

func (s *Households) UndeleteHousehold(ctx context.Context, req *pb.UndeleteHouseholdRequest) (*pb.Household, error) {
	id, err := householdID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	return s.masked(s.store.UndeleteHousehold(ctx, id, req.GetEtag()))
}

func (s *Households) LookupHousehold(ctx context.Context, req *pb.LookupHouseholdRequest) (*pb.Household, error) {
	if idnumber.Normalize(req.GetIdNumber()) == "" {
		return nil, domain.Invalid("id_number", "is required")
	}
	// A 15-digit number finds the record stored from it, converted.
	n, err := domain.FindableIDNumber("id_number", req.GetIdNumber(), s.now())
	if err != nil {
		return nil, err
	}
	h, err := s.store.LookupHousehold(ctx, n)
	if err := s.auditLookup(ctx, n, h, err); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return s.householdView(ctx, h, req.GetView())
}

// auditLookup records a lookup, found or not, before it is answered: each
// one tells the caller whether a number is registered, so the audit log
// must be able to show who searched for how many. The number itself is
// never recorded. A number registered in a town beyond the caller's reach
// is answered as not found, and recorded as the scope refusal it is.
func (s *Households) auditLookup(ctx context.Context, idNumber string, found *repository.Household, lookupErr error) error {
	resource, outcome := "", audit.OutcomeOK
	switch {
	case lookupErr == nil:
		resource = names.Household{ID: found.ID}.String()
	case errors.Is(lookupErr, repository.ErrNotFound):
		outcome = audit.OutcomeNotFound
		// Deliberately county-wide, for the record only: the answer stays
		// "not found".
		if h, err := s.store.LookupHousehold(principal.WithScope(ctx, principal.Scope{All: true}), idNumber); err == nil {
			resource, outcome = names.Household{ID: h.ID}.String(), audit.OutcomeOutOfScope
		} else if !errors.Is(err, repository.ErrNotFound) {
			return err
		}
	default:
		return nil // the lookup failed; its error is the answer
	}
	return s.store.AppendAudit(ctx, audit.FromContext(ctx).Entry(audit.ActionLookup, resource, outcome, nil))
}

// checkMember applies the rules a member must satisfy beyond its
// protovalidate rules, leaving its ID number in its 18-character form, and
// returns the birth date to store and whether the number was converted from
// 15 digits. stored is the member as it was (nil on create): a number it
// already held is not checked again, and keeps its converted mark.
func (s *Households) checkMember(prefix string, m *pb.Member, stored *repository.Member) (birth time.Time, converted bool, err error) {
	m.IdNumber = idnumber.Normalize(m.GetIdNumber())
	var info idnumber.Info
	switch {
	case m.IdNumber == "":
	case stored != nil && m.IdNumber == stored.IDNumber:
		converted = stored.IDNumberConverted
		if info, err = idnumber.Parse(m.IdNumber, s.now().In(domain.ChinaTime)); err != nil {
			return birth, false, domain.Invalid(prefix+".id_number", "%s", err.Error())
		}
	default:
		id, err := s.checkIDNumber(prefix+".id_number", &m.IdNumber, false)
		if err != nil {
			return birth, false, err
		}
		info, converted = id.Info, id.Converted
	}
	b, err := convert.TimeOfDate(prefix+".birth_date", m.GetBirthDate())
	if err != nil {
		return birth, false, err
	}
	if b.After(s.now()) {
		return birth, false, domain.Invalid(prefix+".birth_date", "is in the future")
	}
	if m.IdNumber != "" && !info.BirthDate.Equal(b) {
		return birth, false, domain.Invalid(prefix+".birth_date", "does not agree with the birth date in the ID number")
	}
	return b, converted, nil
}

// servicememberOf is the ID number of the household's servicemember, which
// a spouse's number is compared with for the sex warning.
func (s *Households) servicememberOf(ctx context.Context, householdID string) (string, error) {
	h, err := s.store.GetHousehold(ctx, householdID, false)
	if err != nil {
		return "", err
	}
	return h.ServicememberIDNumber, nil
}

func (s *Households) CreateMember(ctx context.Context, req *pb.CreateMemberRequest) (*pb.Member, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	p := req.GetMember()
	birth, converted, err := s.checkMember("member", p, nil)
	if err != nil {
		return nil, err
	}
	m := &repository.Member{ID: newID(), HouseholdID: hid, IDNumberConverted: converted}
	convert.MemberFromProto(p, birth, m)
	if err := s.checkDuplicates(ctx, req.GetConfirmPossibleDuplicate(), m.MatchKeys(), m.IDNumber, false); err != nil {
		return nil, err
	}
	if err := s.store.CreateMember(ctx, m); err != nil {
		return nil, err
	}
	return s.maskedMember(ctx, m, nil)
}

// maskedMember renders m masked, with its warnings; sm is the household's
// servicemember's ID number, read when nil.
func (s *Households) maskedMember(ctx context.Context, m *repository.Member, sm *string) (*pb.Member, error) {
	if sm == nil {
		n, err := s.servicememberOf(ctx, m.HouseholdID)
		if err != nil {
			return nil, err
		}
		sm = &n
	}
	return maskMember(convert.MemberToProto(m, *sm)), nil
}

func (s *Households) GetMember(ctx context.Context, req *pb.GetMemberRequest) (*pb.Member, error) {
	hid, mid, err := memberIDs("name", req.GetName())
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMember(ctx, hid, mid)
	if err != nil {
		return nil, err
	}
	h, err := s.store.GetHousehold(ctx, hid, false)
	if err != nil {
		return nil, err
	}
	if req.GetView() != pb.View_VIEW_FULL {
		return s.maskedMember(ctx, m, &h.ServicememberIDNumber)
	}
	// Whether the full view is allowed depends on the household's town.
	if _, err := fullView(ctx, s.store, req.GetView(), req.GetName(), h.TownCode, "id_number", "birth_date", "phone"); err != nil {
		return nil, err
	}
	return convert.MemberToProto(m, h.ServicememberIDNumber), nil
}

func (s *Households) ListMembers(ctx context.Context, req *pb.ListMembersRequest) (*pb.ListMembersResponse, error) {
	hid, err := householdID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("members", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListMembers(ctx, hid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	sm, err := s.servicememberOf(ctx, hid)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListMembersResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Members = append(resp.Members, maskMember(convert.MemberToProto(&rows[i], sm)))
	}
	return resp, nil
}

func (s *Households) UpdateMember(ctx context.Context, req *pb.UpdateMemberRequest) (*pb.Member, error) {
	patch := req.GetMember()
	if patch == nil {
		return nil, domain.Invalid("member", "is required")
	}
	hid, mid, err := memberIDs("member.name", patch.GetName())
	if err != nil {
		return nil, err
	}
	if patch.GetEtag() == "" {
		return nil, domain.Invalid("member.etag", "is required: read the member and send its etag")
	}
	paths, err := maskPaths(req.GetUpdateMask(), patch, memberUpdatable)
	if err != nil {
		return nil, err
	}
	m, err := s.store.UpdateMember(ctx, hid, mid, patch.GetEtag(), func(_ context.Context, row *repository.Member) error {
		merged := convert.MemberToProto(row, "")
		if err := applyMask(merged, patch, paths); err != nil {
			return err
		}
		keepIfMasked(&merged.IdNumber, row.IDNumber, idnumber.Mask)
		keepIfMasked(&merged.Phone, row.Phone, idnumber.MaskPhone)
		keepDateIfMasked(&merged.BirthDate, convert.DateOf(row.BirthDate))
		if err := s.validate("member", merged); err != nil {
			return err
		}
		birth, converted, err := s.checkMember("member", merged, row)
		if err != nil {
			return err
		}
		convert.MemberFromProto(merged, birth, row)
		row.IDNumberConverted = converted
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.maskedMember(ctx, m, nil)
}

func (s *Households) DeleteMember(ctx context.Context, req *pb.DeleteMemberRequest) (*emptypb.Empty, error) {
	hid, mid, err := memberIDs("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteMember(ctx, hid, mid, req.GetEtag()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// listQuery fingerprints a list request, so that a page token is only
// accepted back with the same filter, order and parent.
func listQuery(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(strings.ReplaceAll(fmt.Sprint(p), "\x00", ""))
		b.WriteByte(0)
	}
	return b.String()
}
