package repository

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
)

// Campaign is a row of campaigns: a festival-visit campaign (走访慰问). Its
// towns are kept twice: TownCodes renders the campaign, and campaign_towns
// holds one row per town so that the caller's scope is an indexed IN.
type Campaign struct {
	ID             string `gorm:"primaryKey"`
	DisplayName    string
	Festival       domain.Festival
	StartDate      time.Time // calendar date
	EndDate        time.Time // calendar date
	TownCodes      List[string]
	RulePostTypes  List[domain.PostType]
	RuleCategories List[domain.Category]
	RuleHardship   bool
	State          domain.CampaignState
	TargetCount    int
	Creator        string
	Revision       int64
	CreateTime     time.Time
	UpdateTime     time.Time
	OpenTime       *time.Time
	CloseTime      *time.Time
}

// Rule is the campaign's target rule.
func (c *Campaign) Rule() domain.TargetRule {
	return domain.TargetRule{PostTypes: c.RulePostTypes, Categories: c.RuleCategories, Hardship: c.RuleHardship}
}

// SetRule stores r as the campaign's target rule.
func (c *Campaign) SetRule(r domain.TargetRule) {
	c.RulePostTypes, c.RuleCategories, c.RuleHardship = r.PostTypes, r.Categories, r.Hardship
}

func (c *Campaign) revision() *int64  { return &c.Revision }
func (c *Campaign) touch(t time.Time) { c.UpdateTime = t }
func (c *Campaign) resource() string  { return names.Campaign{ID: c.ID}.String() }

// campaignTown is a row of campaign_towns.
type campaignTown struct {
	CampaignID string `gorm:"primaryKey"`
	TownCode   string `gorm:"primaryKey"`
}

// TableName names campaignTown's table for gorm.
func (campaignTown) TableName() string { return "campaign_towns" }

// CampaignTarget is a household a campaign must visit, frozen when the
// campaign opened or added by hand since. TownCode is the household's town
// when it became a target: coverage counts it there.
type CampaignTarget struct {
	CampaignID  string `gorm:"primaryKey"`
	HouseholdID string `gorm:"primaryKey"`
	TownCode    string
	Source      domain.TargetSource
	// VisitID is the first (not follow-up) visit, "" until there is one.
	VisitID   string
	GapReason string
	AddTime   time.Time
}

// TableName names CampaignTarget's table for gorm.
func (CampaignTarget) TableName() string { return "campaign_targets" }

// CampaignVisit is a row of campaign_visits.
type CampaignVisit struct {
	ID          string `gorm:"primaryKey"`
	CampaignID  string
	HouseholdID string
	TownCode    string
	VisitDate   time.Time // calendar date
	// Visitors is JSON: a visitor's name may hold any character.
	Visitors JSON[[]string]
	Form     domain.VisitForm
	Goods    string
	MoneyFen int64
	Notes    string `gorm:"column:notes_sealed"` // sealed at rest
	// RetiredNotes is the plaintext column migration 00015 retired: empty.
	RetiredNotes string `gorm:"column:notes"`
	FollowUp     bool
	Recorder     string
	CreateTime   time.Time
}

// TableName names CampaignVisit's table for gorm.
func (CampaignVisit) TableName() string { return "campaign_visits" }

func (v *CampaignVisit) resource() string {
	return names.Visit{CampaignID: v.CampaignID, ID: v.ID}.String()
}

// campaignsInScope limits q to campaigns that cover at least one town of
// the caller's scope: a town's staff see the county's campaigns, and
// within them (targets, visits, coverage) only their towns.
func campaignsInScope(ctx context.Context, q *gorm.DB) *gorm.DB {
	return scopedBy(ctx, q, "EXISTS (SELECT 1 FROM campaign_towns ct WHERE ct.campaign_id = campaigns.id AND ct.town_code IN ?)")
}

// allowsAll reports whether the call may change a campaign of these towns:
// the campaign itself (its plan, opening, closing) belongs to every town
// it covers, so only a caller reaching them all may change it.
func allowsAll(ctx context.Context, towns []string) error {
	for _, t := range towns {
		if err := allows(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// CreateCampaign inserts c, in DRAFT, with its towns; the caller must reach
// every one of them.
func (s *Store) CreateCampaign(ctx context.Context, c *Campaign) error {
	if err := allowsAll(ctx, c.TownCodes); err != nil {
		return err
	}
	now := s.clock()
	c.Revision, c.CreateTime, c.UpdateTime, c.State, c.TargetCount = 1, now, now, domain.CampaignDraft, 0
	c.OpenTime, c.CloseTime = nil, nil
	return s.conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		if err := tx.Create(campaignTowns(c)).Error; err != nil {
			return err
		}
		return s.recordChange(ctx, tx, c.resource(), Etag(c.Revision), []string{"created"})
	})
}

func campaignTowns(c *Campaign) []campaignTown {
	rows := make([]campaignTown, len(c.TownCodes))
	for i, t := range c.TownCodes {
		rows[i] = campaignTown{CampaignID: c.ID, TownCode: t}
	}
	return rows
}

// GetCampaign reads a campaign that covers one of the caller's towns.
func (s *Store) GetCampaign(ctx context.Context, id string) (*Campaign, error) {
	var c Campaign
	if err := campaignsInScope(ctx, s.conn(ctx).Where("campaigns.id = ?", id)).Take(&c).Error; err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// CampaignFilter is the schema of ListCampaigns filters.
var CampaignFilter = filter.Schema{
	"state":    {Kind: filter.KindEnum, Prefix: "CAMPAIGN_STATE_", Values: []string{"DRAFT", "OPEN", "CLOSED"}},
	"festival": {Kind: filter.KindEnum, Prefix: "FESTIVAL_", Values: []string{"ARMY_DAY", "SPRING_FESTIVAL", "OTHER"}},
}

var campaignColumns = map[string]column{
	"state":    plain("campaigns.state", stringValue),
	"festival": plain("campaigns.festival", stringValue),
}

// ListCampaigns returns a page of the caller's campaigns, newest first.
func (s *Store) ListCampaigns(ctx context.Context, f filter.Filter, page Page) ([]Campaign, *Cursor, error) {
	q, err := applyFilter(campaignsInScope(ctx, s.conn(ctx).Model(&Campaign{})), f, CampaignFilter, campaignColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q = keyset(q, "campaigns", Order{Column: "create_time", Desc: true}, false, page.After)
	var rows []Campaign
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(c Campaign) Cursor { t := c.CreateTime; return Cursor{Time: &t, ID: c.ID} })
	return rows, next, nil
}

// changeCampaign is the read-modify-write of a campaign: visible to the
// caller, and changed only by one who reaches all its towns, before and
// after the change. fn runs in the transaction.
func (s *Store) changeCampaign(ctx context.Context, id, etag string, fn func(ctx context.Context, c *Campaign) error) (*Campaign, error) {
	selectRow := func(tx *gorm.DB) *gorm.DB { return campaignsInScope(ctx, tx.Where("campaigns.id = ?", id)) }
	return update(ctx, s, selectRow, etag, func(ctx context.Context, c *Campaign) error {
		if err := allowsAll(ctx, c.TownCodes); err != nil {
			return err
		}
		from := slices.Clone(c.TownCodes)
		if err := fn(ctx, c); err != nil {
			return err
		}
		if slices.Equal(from, c.TownCodes) {
			return nil
		}
		if err := allowsAll(ctx, c.TownCodes); err != nil {
			return err
		}
		tx := s.conn(ctx)
		if err := tx.Where("campaign_id = ?", c.ID).Delete(&campaignTown{}).Error; err != nil {
			return err
		}
		return tx.Create(campaignTowns(c)).Error
	})
}

// UpdateCampaign applies fn to a DRAFT campaign under the etag check.
func (s *Store) UpdateCampaign(ctx context.Context, id, etag string, fn func(ctx context.Context, c *Campaign) error) (*Campaign, error) {
	return s.changeCampaign(ctx, id, etag, func(ctx context.Context, c *Campaign) error {
		if err := domain.CampaignMustBe(c.resource(), c.State, domain.CampaignDraft); err != nil {
			return err
		}
		return fn(ctx, c)
	})
}

// OpenCampaign moves a DRAFT campaign to OPEN and freezes its targets: the
// live households of its towns that its rule chooses, evaluated by one
// INSERT … SELECT in the campaign's transaction.
func (s *Store) OpenCampaign(ctx context.Context, id, etag string) (*Campaign, error) {
	return s.changeCampaign(ctx, id, etag, func(ctx context.Context, c *Campaign) error {
		if err := domain.CampaignTransition(c.resource(), c.State, domain.CampaignOpen); err != nil {
			return err
		}
		now := s.clock()
		where, args := ruleSQL(c.Rule())
		res := s.conn(ctx).Exec(`INSERT INTO campaign_targets (campaign_id, household_id, town_code, source, visit_id, gap_reason, add_time)
SELECT ?, h.id, h.town_code, ?, '', '', ? FROM households h
WHERE h.delete_time IS NULL AND h.town_code IN ? AND (`+where+`)`,
			append([]any{c.ID, string(domain.TargetByRule), now, []string(c.TownCodes)}, args...)...)
		if res.Error != nil {
			return res.Error
		}
		c.State, c.OpenTime, c.TargetCount = domain.CampaignOpen, &now, int(res.RowsAffected)
		return nil
	})
}

// ruleSQL is domain.TargetRule.Matches as a condition on households h.
// Only these fixed strings reach the query; values are bound.
func ruleSQL(r domain.TargetRule) (string, []any) {
	where, args := "", []any{}
	or := func(cond string, arg ...any) {
		if where != "" {
			where += " OR "
		}
		where += cond
		args = append(args, arg...)
	}
	if len(r.PostTypes) > 0 {
		or("h.post_type IN ?", enumNames(r.PostTypes))
	}
	if len(r.Categories) > 0 {
		or("h.category IN ?", enumNames(r.Categories))
	}
	if r.Hardship {
		or("h.hardship = ?", true)
	}
	if where == "" {
		return "1 = 0", nil
	}
	return where, args
}

// GapReason is why a target went unvisited.
type GapReason struct {
	HouseholdID string
	Reason      string
}

// maxMissingNamed caps how many households a refused closing names.
const maxMissingNamed = 100

// CloseCampaign moves an OPEN campaign to CLOSED, storing a reason for each
// target that was not visited. A reason for a household that is no
// unvisited target of the campaign is refused by its index in reasons
// ("gap_reasons[i].household"); unvisited targets without a reason refuse
// the closing with domain.MissingGapReasons.
func (s *Store) CloseCampaign(ctx context.Context, id, etag string, reasons []GapReason) (*Campaign, error) {
	return s.changeCampaign(ctx, id, etag, func(ctx context.Context, c *Campaign) error {
		if err := domain.CampaignTransition(c.resource(), c.State, domain.CampaignClosed); err != nil {
			return err
		}
		tx := s.conn(ctx)
		var unvisited []string
		if err := tx.Model(&CampaignTarget{}).Where("campaign_id = ? AND visit_id = ''", c.ID).
			Order("household_id").Pluck("household_id", &unvisited).Error; err != nil {
			return err
		}
		given := make(map[string]bool, len(reasons))
		var bad []domain.Violation
		for i, r := range reasons {
			if _, found := slices.BinarySearch(unvisited, r.HouseholdID); !found {
				bad = append(bad, domain.Violation{Field: "gap_reasons[" + itoa(int64(i)) + "].household",
					Description: "is not a target of the campaign left unvisited"})
			}
			given[r.HouseholdID] = true
		}
		if len(bad) > 0 {
			return &domain.ValidationError{Violations: bad}
		}
		missing := &domain.MissingGapReasons{Campaign: c.resource()}
		for _, h := range unvisited {
			if !given[h] {
				missing.Total++
				if len(missing.Households) < maxMissingNamed {
					missing.Households = append(missing.Households, names.Household{ID: h}.String())
				}
			}
		}
		if missing.Total > 0 {
			return missing
		}
		for _, r := range reasons {
			if err := tx.Model(&CampaignTarget{}).Where("campaign_id = ? AND household_id = ?", c.ID, r.HouseholdID).
				Update("gap_reason", r.Reason).Error; err != nil {
				return err
			}
		}
		now := s.clock()
		c.State, c.CloseTime = domain.CampaignClosed, &now
		return nil
	})
}

// AddOutcome is what became of one household of AddCampaignTargets.
type AddOutcome string

// The outcomes of adding a target.
const (
	TargetAddedNow     AddOutcome = "ADDED"
	TargetAlready      AddOutcome = "ALREADY_TARGET"
	TargetNotFound     AddOutcome = "NOT_FOUND"
	TargetOutsideTowns AddOutcome = "OUTSIDE_CAMPAIGN"
)

// AddOutcomes lists every outcome.
func AddOutcomes() []AddOutcome {
	return []AddOutcome{TargetAddedNow, TargetAlready, TargetNotFound, TargetOutsideTowns}
}

// AddCampaignTargets adds households to an OPEN campaign's targets, each
// reported in the order asked. A household outside the caller's towns is
// not found, as everywhere; one of the caller's towns the campaign does not
// cover is OUTSIDE_CAMPAIGN. The campaign's target count, etag and event
// change only when one is added.
func (s *Store) AddCampaignTargets(ctx context.Context, id string, householdIDs []string) ([]AddOutcome, *Campaign, error) {
	out := make([]AddOutcome, len(householdIDs))
	selectRow := func(tx *gorm.DB) *gorm.DB { return campaignsInScope(ctx, tx.Where("campaigns.id = ?", id)) }
	c, err := update(ctx, s, selectRow, "", func(ctx context.Context, c *Campaign) error {
		if err := domain.CampaignMustBe(c.resource(), c.State, domain.CampaignOpen); err != nil {
			return err
		}
		tx := s.conn(ctx)
		var hs []Household
		if err := inScope(ctx, tx.Select("id", "town_code").Where("id IN ? AND delete_time IS NULL", householdIDs), "town_code").
			Find(&hs).Error; err != nil {
			return err
		}
		town := make(map[string]string, len(hs))
		for _, h := range hs {
			town[h.ID] = h.TownCode
		}
		var existing []string
		if err := tx.Model(&CampaignTarget{}).Where("campaign_id = ? AND household_id IN ?", c.ID, householdIDs).
			Pluck("household_id", &existing).Error; err != nil {
			return err
		}
		now := s.clock()
		var rows []CampaignTarget
		for i, h := range householdIDs {
			t, ok := town[h]
			switch {
			case !ok:
				out[i] = TargetNotFound
			case slices.Contains(existing, h):
				out[i] = TargetAlready
			case !slices.Contains(c.TownCodes, t):
				out[i] = TargetOutsideTowns
			default:
				out[i] = TargetAddedNow
				rows = append(rows, CampaignTarget{CampaignID: c.ID, HouseholdID: h, TownCode: t,
					Source: domain.TargetAdded, AddTime: now})
			}
		}
		if len(rows) == 0 {
			return nil
		}
		c.TargetCount += len(rows)
		return tx.Create(&rows).Error
	})
	if err != nil {
		return nil, nil, err
	}
	return out, c, nil
}

// TargetFilter is the schema of ListCampaignTargets filters.
var TargetFilter = filter.Schema{
	"visited":   {Kind: filter.KindBool},
	"town_code": {Kind: filter.KindString, Check: townCode},
	"source":    {Kind: filter.KindEnum, Prefix: "TARGET_SOURCE_", Values: []string{"RULE", "ADDED"}},
}

var targetColumns = map[string]column{
	"visited": func(c filter.Condition, _ time.Time) (string, []any) {
		visited := c.Bool
		if c.Op == filter.OpNe {
			visited = !visited
		}
		if visited {
			return "campaign_targets.visit_id <> ''", nil
		}
		return "campaign_targets.visit_id = ''", nil
	},
	"town_code": plain("campaign_targets.town_code", stringValue),
	"source":    plain("campaign_targets.source", stringValue),
}

// ListCampaignTargets returns a page of the campaign's targets in the
// caller's towns, by household id; the cursor's ID is the last household's.
func (s *Store) ListCampaignTargets(ctx context.Context, campaignID string, f filter.Filter, page Page) ([]CampaignTarget, *Cursor, error) {
	if _, err := s.GetCampaign(ctx, campaignID); err != nil {
		return nil, nil, err
	}
	q := inScope(ctx, s.conn(ctx).Model(&CampaignTarget{}).Where("campaign_targets.campaign_id = ?", campaignID), "campaign_targets.town_code")
	q, err := applyFilter(q, f, TargetFilter, targetColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	if page.After != nil {
		q = q.Where("campaign_targets.household_id > ?", page.After.ID)
	}
	limit := page.limit()
	var rows []CampaignTarget
	if err := q.Order("campaign_targets.household_id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(t CampaignTarget) Cursor { return Cursor{ID: t.HouseholdID} })
	return rows, next, nil
}

// CoverageRow is one town's coverage.
type CoverageRow struct {
	TownCode      string
	Targets       int
	Visited       int
	GapsExplained int
}

// CampaignCoverage counts the campaign's targets per town of the caller's
// scope in one grouped query over the (campaign_id, town_code) index, with
// the campaign it is about.
func (s *Store) CampaignCoverage(ctx context.Context, campaignID string) (*Campaign, []CoverageRow, error) {
	c, err := s.GetCampaign(ctx, campaignID)
	if err != nil {
		return nil, nil, err
	}
	// Gap reasons are written only by closing; until then the count reads
	// the index alone.
	explained := "0"
	if c.State == domain.CampaignClosed {
		explained = "SUM(CASE WHEN visit_id = '' AND gap_reason <> '' THEN 1 ELSE 0 END)"
	}
	var rows []CoverageRow
	q := inScope(ctx, s.conn(ctx).Model(&CampaignTarget{}).Where("campaign_id = ?", campaignID), "town_code").
		Select(`town_code, COUNT(*) AS targets, SUM(CASE WHEN visit_id <> '' THEN 1 ELSE 0 END) AS visited, ` +
			explained + ` AS gaps_explained`).
		Group("town_code").Order("town_code")
	if err := q.Scan(&rows).Error; err != nil {
		return nil, nil, err
	}
	return c, rows, nil
}

// CreateVisit records a visit to a target of an OPEN campaign in the
// caller's towns. A second visit that is not a follow-up is a
// ConflictError naming the first.
func (s *Store) CreateVisit(ctx context.Context, v *CampaignVisit) error {
	v.CreateTime = s.clock()
	return s.InTx(ctx, func(ctx context.Context) error {
		tx := s.conn(ctx)
		var c Campaign
		if err := campaignsInScope(ctx, s.forUpdate(tx.Where("campaigns.id = ?", v.CampaignID))).Take(&c).Error; err != nil {
			return notFound(err)
		}
		if err := domain.CampaignMustBe(c.resource(), c.State, domain.CampaignOpen); err != nil {
			return err
		}
		var t CampaignTarget
		err := inScope(ctx, tx.Where("campaign_id = ? AND household_id = ?", v.CampaignID, v.HouseholdID), "town_code").Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return &domain.PreconditionError{Type: "NOT_A_TARGET", Subject: names.Household{ID: v.HouseholdID}.String(),
				Description: "the household is not a target of this campaign in your towns; add it with AddCampaignTargets"}
		}
		if err != nil {
			return err
		}
		if !v.FollowUp && t.VisitID != "" {
			return &ConflictError{What: "a visit to this household in this campaign (record another as a follow-up)",
				Resource: names.Visit{CampaignID: v.CampaignID, ID: t.VisitID}.String()}
		}
		v.TownCode = t.TownCode
		if err := s.createSealed(tx, v); err != nil {
			return conflict(err, "a visit to this household in this campaign")
		}
		if !v.FollowUp {
			if err := tx.Model(&CampaignTarget{}).Where("campaign_id = ? AND household_id = ?", v.CampaignID, v.HouseholdID).
				Update("visit_id", v.ID).Error; err != nil {
				return err
			}
		}
		return s.recordChange(ctx, tx, v.resource(), "", []string{"created"})
	})
}

// GetVisit reads a visit of the caller's towns.
func (s *Store) GetVisit(ctx context.Context, campaignID, id string) (*CampaignVisit, error) {
	var v CampaignVisit
	if err := inScope(ctx, s.conn(ctx).Where("id = ? AND campaign_id = ?", id, campaignID), "town_code").Take(&v).Error; err != nil {
		return nil, notFound(err)
	}
	return &v, v.open(s.cipher)
}

// VisitFilter is the schema of ListVisits filters.
var VisitFilter = filter.Schema{
	"household": {Kind: filter.KindString},
	"town_code": {Kind: filter.KindString, Check: townCode},
	"follow_up": {Kind: filter.KindBool},
	"form":      {Kind: filter.KindEnum, Prefix: "VISIT_FORM_", Values: []string{"IN_PERSON", "PHONE"}},
}

var visitColumns = map[string]column{
	"household": func(c filter.Condition, _ time.Time) (string, []any) {
		id := c.Value
		if n, err := names.As[names.Household](c.Value); err == nil {
			id = n.ID
		}
		return "campaign_visits.household_id " + sqlOps[c.Op] + " ?", []any{id}
	},
	"town_code": plain("campaign_visits.town_code", stringValue),
	"follow_up": plain("campaign_visits.follow_up", boolValue),
	"form":      plain("campaign_visits.form", stringValue),
}

// ListVisits returns a page of the campaign's visits in the caller's
// towns, oldest first.
func (s *Store) ListVisits(ctx context.Context, campaignID string, f filter.Filter, page Page) ([]CampaignVisit, *Cursor, error) {
	if _, err := s.GetCampaign(ctx, campaignID); err != nil {
		return nil, nil, err
	}
	q := inScope(ctx, s.conn(ctx).Model(&CampaignVisit{}).Where("campaign_visits.campaign_id = ?", campaignID), "campaign_visits.town_code")
	q, err := applyFilter(q, f, VisitFilter, visitColumns, s.clock())
	if err != nil {
		return nil, nil, err
	}
	limit := page.limit()
	q = keyset(q, "campaign_visits", Order{Column: "create_time"}, false, page.After)
	var rows []CampaignVisit
	if err := q.Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	if err := s.openRows(rows); err != nil {
		return nil, nil, err
	}
	rows, next := lastCursor(rows, limit, func(v CampaignVisit) Cursor { t := v.CreateTime; return Cursor{Time: &t, ID: v.ID} })
	return rows, next, nil
}
