package repository

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/names"
)

// ErrOutOfScope means: a write would put a row in a town the caller may not see.
// Reads never return it: another town's rows are simply not found.
var ErrOutOfScope = errors.New("outside the caller's towns")

// WithScope fixes the towns that store calls made with ctx may reach. The
// server sets it for every call; command-line tools and tests set it here.
func WithScope(ctx context.Context, s principal.Scope) context.Context {
	return principal.WithScope(ctx, s)
}

// scopeOf is the town scope of a call. With none set, nothing is visible: a
// code path that forgets to authorize fails closed.
func scopeOf(ctx context.Context) principal.Scope { return principal.ScopeFrom(ctx) }

// inScope limits q to rows whose town column the scope allows. It is part of
// the query itself, so lists never carry other towns' rows and a row of
// another town is "not found", with no hint that it exists.
func inScope(ctx context.Context, q *gorm.DB, column string) *gorm.DB {
	return scopedBy(ctx, q, column+" IN ?")
}

// scopedBy limits q by cond, a condition whose every parameter is the
// scope's towns; the whole county needs no condition, and no towns
// reach nothing.
func scopedBy(ctx context.Context, q *gorm.DB, cond string) *gorm.DB {
	s := scopeOf(ctx)
	switch {
	case s.All:
		return q
	case len(s.Towns) == 0:
		return q.Where("1 = 0")
	}
	args := make([]any, strings.Count(cond, "?"))
	for i := range args {
		args[i] = s.Towns
	}
	return q.Where(cond, args...)
}

// reachable limits q to households (columns prefixed by table) in the
// caller's towns or in transfer to one of them.
func reachable(ctx context.Context, q *gorm.DB, table string) *gorm.DB {
	return scopedBy(ctx, q, "("+table+"town_code IN ? OR "+table+"transfer_to_town IN ?)")
}

// allows reports whether the call may write a row of town.
func allows(ctx context.Context, town string) error {
	if !scopeOf(ctx).Allows(town) {
		return ErrOutOfScope
	}
	return nil
}

// ResourceExists reports whether the named household, member, case, note,
// campaign or visit exists in any town, deleted or not. It ignores the
// caller's scope on purpose and answers nothing else: the server uses it
// only to record, in the audit log, that a 404 hid a resource of another
// town. Resources that belong to no town (API keys, webhooks) are never
// hidden, so it reports false for them.
func (s *Store) ResourceExists(ctx context.Context, name string) (bool, error) {
	n, err := names.Parse(name)
	if err != nil {
		return false, nil
	}
	var q *gorm.DB
	db := s.conn(ctx)
	switch n := n.(type) {
	case names.Household:
		q = db.Model(&Household{}).Where("id = ?", n.ID)
	case names.Member:
		q = db.Model(&Member{}).Where("id = ? AND household_id = ?", n.ID, n.HouseholdID)
	case names.Case:
		q = db.Model(&Case{}).Where("id = ?", n.ID)
	case names.Note:
		q = db.Model(&Note{}).Where("id = ? AND case_id = ?", n.ID, n.CaseID)
	case names.Attachment:
		q = db.Model(&Attachment{}).Where("id = ? AND case_id = ?", n.ID, n.CaseID)
	case names.Campaign:
		q = db.Model(&Campaign{}).Where("id = ?", n.ID)
	case names.Visit:
		q = db.Model(&CampaignVisit{}).Where("id = ? AND campaign_id = ?", n.ID, n.CampaignID)
	case names.Contact:
		q = db.Model(&Contact{}).Where("id = ? AND household_id = ?", n.ID, n.HouseholdID)
	case names.Assistance:
		q = db.Model(&Assistance{}).Where("id = ? AND household_id = ?", n.ID, n.HouseholdID)
	case names.RecruitmentEvent:
		q = db.Model(&RecruitmentEvent{}).Where("id = ?", n.ID)
	case names.Invitation:
		q = db.Model(&Invitation{}).Where("id = ? AND event_id = ?", n.ID, n.EventID)
	case names.Application:
		q = db.Model(&Application{}).Where("id = ? AND event_id = ?", n.ID, n.EventID)
	default:
		return false, nil
	}
	var count int64
	if err := q.Limit(1).Count(&count).Error; err != nil {
		return false, err
	}
	return count > 0, nil
}
