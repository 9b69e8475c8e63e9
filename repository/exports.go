package repository

import (
	"context"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
)

// The reads of the spreadsheet exports. An export walks a whole ledger in
// keyset pages and fetches each page's related rows with one query per
// kind, so that its cost grows with the rows and its memory with the page.
// Every read is limited to the caller's towns as the list it mirrors is.

// HouseholdKey is the position of a household in the ledger's order:
// town, then servicemember's name, then id.
type HouseholdKey struct {
	Town, Name, ID string
}

// ExportHouseholds returns up to limit of the caller's live households
// that f selects (ListHouseholds' filter), after the key, in the ledger's
// order: by town, then name. MemberCount is left 0.
func (s *Store) ExportHouseholds(ctx context.Context, f filter.Filter, after *HouseholdKey, limit int) ([]Household, error) {
	// Without households' member count: the export counts the members it
	// reads anyway (ExportHouseholdRows), and a subquery per row would
	// double the page's cost.
	q := inScope(ctx, s.conn(ctx).Model(&Household{}), "households.town_code").Where("households.delete_time IS NULL")
	q, err := applyFilter(q, f, HouseholdFilter, householdColumns, s.clock())
	if err != nil {
		return nil, err
	}
	if after != nil {
		q = q.Where("(households.town_code, households.servicemember_name, households.id) > (?, ?, ?)",
			after.Town, after.Name, after.ID)
	}
	var rows []Household
	err = q.Order("households.town_code, households.servicemember_name, households.id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	return rows, s.openRows(rows)
}

// HouseholdRows are the rows an export page shows beside its households.
type HouseholdRows struct {
	// Members are the live members, by household and age of the record.
	Members []Member
	// Contacts and Assistance are every record, by household and date.
	Contacts   []Contact
	Assistance []Assistance
	// OpenCases counts each household's open cases; none: missing.
	OpenCases map[string]int
}

// ExportHouseholdRows reads the members, contacts, assistance and open-case
// counts of a page that ExportHouseholds returned, one query per kind, each
// a range of its table's household index. The page's households are the
// caller's by the scope of the query that read them, so their ids need no
// second look at the households table; the cases, which carry their own
// town, are scoped as the case list is.
func (s *Store) ExportHouseholdRows(ctx context.Context, page []Household) (*HouseholdRows, error) {
	out := &HouseholdRows{OpenCases: map[string]int{}}
	if len(page) == 0 {
		return out, nil
	}
	ids := make([]string, len(page))
	for i := range page {
		ids[i] = page[i].ID
	}
	db := s.conn(ctx)
	if err := db.Where("household_id IN ? AND delete_time IS NULL", ids).
		Order("household_id, create_time, id").Find(&out.Members).Error; err != nil {
		return nil, err
	}
	if err := s.openRows(out.Members); err != nil {
		return nil, err
	}
	if err := db.Where("household_id IN ?", ids).Order("household_id, contact_date, id").Find(&out.Contacts).Error; err != nil {
		return nil, err
	}
	if err := db.Where("household_id IN ?", ids).Order("household_id, assistance_date, id").Find(&out.Assistance).Error; err != nil {
		return nil, err
	}
	var counts []struct {
		HouseholdID string
		N           int
	}
	cq := db.Model(&Case{}).Select("cases.household_id, COUNT(*) AS n").
		Where("cases.household_id IN ? AND cases.status IN ?", ids, openStatuses())
	if err := inScope(ctx, cq, "cases.town_code").Group("cases.household_id").Scan(&counts).Error; err != nil {
		return nil, err
	}
	for _, c := range counts {
		out.OpenCases[c.HouseholdID] = c.N
	}
	return out, nil
}

// HouseholdLabel is what a campaign's sheets show of a household: never a
// sealed field.
type HouseholdLabel struct {
	ID                string
	ServicememberName string
	Category          domain.Category
	TownCode          string
}

// HouseholdLabels names these households of the caller's towns, deleted
// ones too: a campaign's target stays its target after a household is
// deleted.
func (s *Store) HouseholdLabels(ctx context.Context, ids []string) (map[string]HouseholdLabel, error) {
	out := make(map[string]HouseholdLabel, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []HouseholdLabel
	q := s.conn(ctx).Model(&Household{}).Select("id, servicemember_name, category, town_code").Where("id IN ?", ids)
	if err := inScope(ctx, q, "town_code").Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// OrganizationsByID reads these organizations (which belong to no town).
func (s *Store) OrganizationsByID(ctx context.Context, ids []string) (map[string]*Organization, error) {
	out := make(map[string]*Organization, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Organization
	if err := s.conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, err
	}
	for i := range rows {
		out[rows[i].ID] = &rows[i]
	}
	return out, nil
}

// OpenComplaintCounts counts the complaints of each of these measures that
// are still open or under investigation.
func (s *Store) OpenComplaintCounts(ctx context.Context, measureIDs []string) (map[string]int, error) {
	out := map[string]int{}
	if len(measureIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		MeasureID string
		N         int
	}
	err := s.conn(ctx).Model(&Complaint{}).Select("measure_id, COUNT(*) AS n").
		Where("measure_id IN ? AND state IN ?", measureIDs,
			[]string{string(domain.ComplaintOpen), string(domain.ComplaintInvestigating)}).
		Group("measure_id").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.MeasureID] = r.N
	}
	return out, nil
}

// CountExportHouseholds counts what ExportHouseholds will walk: the
// export's total, and the number a full view reveals.
func (s *Store) CountExportHouseholds(ctx context.Context, f filter.Filter) (int64, error) {
	q := inScope(ctx, s.conn(ctx).Model(&Household{}).Where("households.delete_time IS NULL"), "households.town_code")
	q, err := applyFilter(q, f, HouseholdFilter, householdColumns, s.clock())
	if err != nil {
		return 0, err
	}
	var n int64
	return n, q.Count(&n).Error
}
