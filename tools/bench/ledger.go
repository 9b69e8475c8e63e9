package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/repository"
)

// The ledger's two figures of issue 13: a festival campaign's coverage
// (p99 < 200 ms for 20,000 targets across 30 towns) and the overdue-contact
// list (p99 < 50 ms over 200,000 households), both through the server.

const (
	nameCoverage     = "GetCampaignCoverage gRPC"
	nameOverdueFirst = "overdue contacts page 1 gRPC"
	nameOverdueDeep  = "overdue contacts deep page gRPC"
	nameOverdueTown  = "overdue contacts one town gRPC"

	overdueFilter  = "contact_overdue = true"
	overdueOrder   = "next_contact_due"
	overdueIndex   = "households_next_contact_due"
	overdueSize    = 50
	overdueDeepNum = 20
)

// campaignRule picks the mission-unit households (10% of the county: about
// 20,000 of the large scale's 200,000, in every town).
var campaignRule = &pb.TargetRule{PostTypes: []pb.PostType{pb.PostType_POST_TYPE_MISSION_UNIT}}

// ledgerReport is what the ledger scenarios found besides their timings.
type ledgerReport struct {
	CampaignTargets int      `json:"campaign_targets"`
	CampaignTowns   int      `json:"campaign_towns"`
	Visited         int      `json:"campaign_visited"`
	Overdue         int      `json:"overdue_households"`
	OverdueDeepPage int      `json:"overdue_deep_page"`
	OverdueSQL      string   `json:"overdue_sql"`
	OverdueIndexed  bool     `json:"overdue_uses_index"`
	OverduePlan     []string `json:"overdue_plan"`
}

// openCampaign creates and opens, through the API, a campaign over every
// town whose rule freezes the mission-unit households, then records a first
// visit for three targets in five (visit rows and the targets' visit_id, as
// CreateVisit leaves them) directly: coverage reads the targets only, and
// 12,000 CreateVisit calls would measure visits, not coverage.
func (b *bench) openCampaign(ctx context.Context, lr *ledgerReport) (string, error) {
	campaigns := pb.NewCampaignServiceClient(b.conn)
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	start, end := today.AddDate(0, 0, -10), today.AddDate(0, 0, 10)
	d := func(t time.Time) *date.Date {
		return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	c, err := campaigns.CreateCampaign(b.authCtx(ctx), &pb.CreateCampaignRequest{Campaign: &pb.Campaign{
		DisplayName: "bench 八一走访慰问", Festival: pb.Festival_FESTIVAL_ARMY_DAY,
		StartDate: d(start), EndDate: d(end), TargetRule: campaignRule}})
	if err != nil {
		return "", fmt.Errorf("CreateCampaign: %w", err)
	}
	if c, err = campaigns.OpenCampaign(b.authCtx(ctx), &pb.OpenCampaignRequest{Name: c.GetName()}); err != nil {
		return "", fmt.Errorf("OpenCampaign: %w", err)
	}
	lr.CampaignTargets, lr.CampaignTowns = int(c.GetTargetCount()), len(c.GetTownCodes())
	id := strings.TrimPrefix(c.GetName(), "campaigns/")
	visitDay := today.Format("2006-01-02")
	// Five in eight by the household id's last hex digit (0-9 of 0-f): its
	// first digits are the registration time, the same for most.
	tag, err := b.pool.Exec(ctx, `INSERT INTO campaign_visits (id, campaign_id, household_id, town_code, visit_date,
		form, follow_up, recorder, create_time)
		SELECT gen_random_uuid()::text, campaign_id, household_id, town_code, $2::date, 'IN_PERSON', FALSE, 'bench', now()
		FROM campaign_targets WHERE campaign_id = $1 AND right(household_id, 1) < 'a'`, id, visitDay)
	if err != nil {
		return "", fmt.Errorf("record visits: %w", err)
	}
	lr.Visited = int(tag.RowsAffected())
	if _, err := b.pool.Exec(ctx, `UPDATE campaign_targets t SET visit_id = v.id FROM campaign_visits v
		WHERE v.campaign_id = t.campaign_id AND v.household_id = t.household_id AND t.campaign_id = $1`, id); err != nil {
		return "", fmt.Errorf("mark visited targets: %w", err)
	}
	if _, err := b.pool.Exec(ctx, "ANALYZE campaign_targets; ANALYZE campaign_visits"); err != nil {
		return "", err
	}
	cov, err := campaigns.GetCampaignCoverage(b.authCtx(ctx), &pb.GetCampaignCoverageRequest{Name: c.GetName() + "/coverage"})
	if err != nil {
		return "", fmt.Errorf("GetCampaignCoverage: %w", err)
	}
	if got := int(cov.GetTotal().GetVisited()); got != lr.Visited {
		return "", fmt.Errorf("coverage counts %d visited targets, %d were recorded", got, lr.Visited)
	}
	return c.GetName(), nil
}

func (b *bench) coverage(name string, towns int) op {
	campaigns := pb.NewCampaignServiceClient(b.conn)
	return func(ctx context.Context, _, _ int) error {
		cov, err := campaigns.GetCampaignCoverage(b.authCtx(ctx), &pb.GetCampaignCoverageRequest{Name: name + "/coverage"})
		if err != nil {
			return err
		}
		if len(cov.GetTowns()) != towns {
			return fmt.Errorf("coverage of %d towns, want %d", len(cov.GetTowns()), towns)
		}
		return nil
	}
}

// overduePage is a page of the overdue list: its filter and token.
type overduePage struct {
	filter string
	token  string
	number int
}

// overdueWalk follows the overdue list to page n (or its last page) and
// counts the pages' households on the way.
func (b *bench) overdueWalk(ctx context.Context, filter string, n int) (overduePage, int, error) {
	cur := overduePage{filter: filter, number: 1}
	seen := 0
	for cur.number < n {
		resp, err := b.households.ListHouseholds(b.authCtx(ctx), &pb.ListHouseholdsRequest{Filter: filter,
			OrderBy: overdueOrder, PageSize: overdueSize, PageToken: cur.token})
		if err != nil {
			return cur, seen, err
		}
		seen += len(resp.GetHouseholds())
		if resp.GetNextPageToken() == "" {
			break
		}
		cur = overduePage{filter: filter, token: resp.GetNextPageToken(), number: cur.number + 1}
	}
	return cur, seen, nil
}

func (b *bench) overdueList(p overduePage) op {
	return func(ctx context.Context, _, _ int) error {
		resp, err := b.households.ListHouseholds(b.authCtx(ctx), &pb.ListHouseholdsRequest{Filter: p.filter,
			OrderBy: overdueOrder, PageSize: overdueSize, PageToken: p.token})
		if err != nil {
			return err
		}
		if len(resp.GetHouseholds()) == 0 {
			return errors.New("the overdue list is empty")
		}
		return nil
	}
}

// countOverdue counts what the overdue filter matches, as the server's
// clause does (today in China).
func countOverdue(ctx context.Context, b *bench) (int, error) {
	var n int
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	err := b.pool.QueryRow(ctx, "SELECT COUNT(*) FROM households WHERE delete_time IS NULL AND next_contact_due < $1", today).Scan(&n)
	return n, err
}

// overduePlan runs the first page of the overdue list through the
// repository, records the query the server sends, and explains it: the
// plan must read the index (next_contact_due, id) rather than sort the
// households.
func (b *bench) overduePlan(ctx context.Context, store *repository.Store, rec *recorder, lr *ledgerReport) error {
	f, err := filter.Parse(overdueFilter, repository.HouseholdFilter)
	if err != nil {
		return err
	}
	rec.take()
	if _, _, err := store.ListHouseholds(serverContext(ctx, "/casework.v1.HouseholdService/ListHouseholds"),
		repository.HouseholdQuery{Filter: f, Order: repository.Order{Column: overdueOrder}, Page: repository.Page{Size: overdueSize}}); err != nil {
		return err
	}
	got := rec.take()
	if len(got) != 1 {
		return fmt.Errorf("ListHouseholds sent %d statements, the overdue plan expects one", len(got))
	}
	lr.OverdueSQL = got[0].SQL
	text, err := b.explain(ctx, listPage{query: got[0]})
	if err != nil {
		return fmt.Errorf("explain the overdue list: %w", err)
	}
	lr.OverduePlan = strings.Split(strings.TrimRight(text, "\n"), "\n")
	// Both plans (custom and generic) must walk the index in its order.
	lr.OverdueIndexed = strings.Count(text, "using "+overdueIndex) >= 2 && !strings.Contains(text, "Sort Key")
	return nil
}

// runLedger measures the ledger's figures.
func runLedger(ctx context.Context, b *bench, store *repository.Store, rec *recorder, rep *report,
	server func(string, int, op) result, add func(result)) error {
	lr := &ledgerReport{}
	rep.Ledger = lr
	logf("ledger: a campaign over every town, and the overdue-contact list")
	name, err := b.openCampaign(ctx, lr)
	if err != nil {
		return err
	}
	if lr.Overdue, err = countOverdue(ctx, b); err != nil {
		return err
	}
	if lr.Overdue == 0 {
		return errors.New("no household is overdue a contact: the load sets no next_contact_due")
	}
	if err := b.overduePlan(ctx, store, rec, lr); err != nil {
		return err
	}
	rc := rep.ReadClients
	add(server(nameCoverage, rc, b.coverage(name, lr.CampaignTowns)))
	add(server(nameOverdueFirst, rc, b.overdueList(overduePage{filter: overdueFilter, number: 1})))
	deep, _, err := b.overdueWalk(ctx, overdueFilter, overdueDeepNum)
	if err != nil {
		return err
	}
	lr.OverdueDeepPage = deep.number
	add(server(nameOverdueDeep, rc, b.overdueList(deep)))
	townFilter := fmt.Sprintf(`town_code = "%s" AND %s`, listTown, overdueFilter)
	add(server(nameOverdueTown, rc, b.overdueList(overduePage{filter: townFilter, number: 1})))
	return nil
}

// ledgerRatios are the ledger's figures against issue 13's targets.
func (r *report) ledgerRatios() []ratio {
	var out []ratio
	if c := r.find(nameCoverage, 0); c != nil && r.Ledger != nil {
		out = append(out, ratio{fmt.Sprintf("GetCampaignCoverage p99, %d targets in %d towns (ms)",
			r.Ledger.CampaignTargets, r.Ledger.CampaignTowns), c.P99ms, "< 200 ms", c.P99ms < 200})
	}
	worst := 0.0
	for _, n := range []string{nameOverdueFirst, nameOverdueDeep, nameOverdueTown} {
		if res := r.find(n, 0); res != nil {
			worst = max(worst, res.P99ms)
		}
	}
	if worst > 0 && r.Ledger != nil {
		out = append(out, ratio{fmt.Sprintf("overdue-contact list p99, worst page, %d households (ms)", r.Households),
			worst, "< 50 ms", worst < 50})
		indexed := 0.0
		if r.Ledger.OverdueIndexed {
			indexed = 1
		}
		out = append(out, ratio{"overdue-contact list reads index " + overdueIndex + " (1 = yes, both plans)",
			indexed, "= 1", r.Ledger.OverdueIndexed})
	}
	return out
}
