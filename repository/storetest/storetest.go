// Package storetest is the storage conformance suite: one set of tests that
// every backend of repository.Store runs, so that SQLite and PostgreSQL are
// held to the same behaviour (in the style of OpenFGA's RunAllTests).
//
// A backend calls RunAll from its own test with a function that opens a
// fresh, migrated store, together with the database handle and keyring
// under it, which the categories about data at rest and the audit trail use
// to read and tamper with the raw tables. Every test gets a store of its own and never sees
// another test's rows. A backend that cannot meet a category opts out of it
// explicitly through Options.Skip, with a reason that t.Skip prints, so the
// gap is visible in every test run rather than hidden.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/internal/testclock"
	"github.com/fengdu-county/casework/repository"
)

// Category names a group of conformance tests.
type Category string

// The categories of the suite, in the order they run.
const (
	Households     Category = "Households"
	Uniqueness     Category = "Uniqueness"
	Etags          Category = "Etags"
	Lookup         Category = "Lookup"
	Members        Category = "Members"
	Preconditions  Category = "Preconditions"
	Cases          Category = "Cases"
	CaseRules      Category = "CaseRules"
	Concurrency    Category = "Concurrency"
	CaseFilters    Category = "CaseFilters"
	Ordering       Category = "Ordering"
	Pagination     Category = "Pagination"
	HouseholdLists Category = "HouseholdLists"
	TownScope      Category = "TownScope"
	ScopeRules     Category = "ScopeRules"
	Sealing        Category = "Sealing"
	Rotation       Category = "Rotation"
	Audit          Category = "Audit"
	AuditTamper    Category = "AuditTamper"
	AuditLists     Category = "AuditLists"
	AuditKeys      Category = "AuditKeys"
	AuditAnchors   Category = "AuditAnchors"
	APIKeys        Category = "APIKeys"
	Events         Category = "Events"
	RequestIDs     Category = "RequestIDs"
	Batches        Category = "Batches"
	Webhooks       Category = "Webhooks"
	StatusChanges  Category = "StatusChanges"
	Campaigns      Category = "Campaigns"
	Ledger         Category = "Ledger"
	Measures       Category = "Measures"
	Recruitment    Category = "Recruitment"
	Operations     Category = "Operations"
	Exports        Category = "Exports"
	Referrals      Category = "Referrals"
	Transfers      Category = "Transfers"
	Attachments    Category = "Attachments"
	Assignees      Category = "Assignees"
	Statistics     Category = "Statistics"
	Retention      Category = "Retention"
)

// Options adjust the suite for one backend.
type Options struct {
	// Skip opts the backend out of whole categories. The value is the
	// reason; it must not be empty, and t.Skip prints it in every run.
	Skip map[Category]string
}

type test struct {
	name string
	run  func(t *testing.T, e *env)
}

type group struct {
	category Category
	tests    []test
}

// suite lists every test by category. Each file of this package contributes
// the tests of its categories.
func suite() []group {
	return []group{
		{Households, householdTests},
		{Uniqueness, uniquenessTests},
		{Etags, etagTests},
		{Lookup, lookupTests},
		{Members, memberTests},
		{Preconditions, preconditionTests},
		{Cases, caseTests},
		{CaseRules, caseRuleTests},
		{Concurrency, concurrencyTests},
		{CaseFilters, caseFilterTests},
		{Ordering, orderingTests},
		{Pagination, paginationTests},
		{HouseholdLists, householdListTests},
		{TownScope, townScopeTests()},
		{ScopeRules, scopeRuleTests},
		{Sealing, append(slices.Clone(sealingTests), freeTextTests...)},
		{Rotation, rotationTests},
		{Audit, auditTests},
		{AuditTamper, auditTamperTests},
		{AuditLists, auditListTests},
		{AuditKeys, auditKeyTests},
		{AuditAnchors, auditAnchorTests},
		{APIKeys, apiKeyTests},
		{Events, eventTests},
		{RequestIDs, requestTests},
		{Batches, append(slices.Clone(batchTests), caseBatchTests...)},
		{Webhooks, webhookTests},
		{StatusChanges, statusChangeTests},
		{Campaigns, campaignTests},
		{Ledger, ledgerTests},
		{Measures, measureTests},
		{Recruitment, recruitmentTests},
		{Operations, operationTests},
		{Exports, exportTests},
		{Referrals, referralTests},
		{Transfers, transferTests},
		{Attachments, attachmentTests},
		{Assignees, assigneeTests},
		{Statistics, statisticsTests},
		{Retention, retentionTests},
	}
}

// Categories lists every category of the suite.
func Categories() []Category {
	var out []Category
	for _, g := range suite() {
		out = append(out, g.category)
	}
	return out
}

// Backend is one test's storage: a fresh, migrated, empty store, and what
// lies under it.
type Backend struct {
	Store *repository.Store
	// DB is the store's database. The Sealing, Rotation and AuditTamper
	// categories read the raw tables through it (no plaintext at rest),
	// write legacy rows and tamper with the audit log; Cases and APIKeys
	// read and write the text lists are stored as.
	DB *gorm.DB
	// Keyring is the store's cipher: Sealing checks stored values against
	// its active key and Rotation rotates it.
	Keyring *sealed.Keyring
}

// RunAll runs the whole suite against the backend open returns. open is
// called once per test, with that test's t, and must return a fresh,
// migrated, empty backend whose resources t's cleanups release.
func RunAll(t *testing.T, open func(t *testing.T) Backend, opts ...Options) {
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatalf("storetest.RunAll: at most one Options, got %d", len(opts))
	}
	groups := suite()
	for c, reason := range o.Skip {
		if !slices.Contains(Categories(), c) {
			t.Fatalf("storetest: Options.Skip names unknown category %q", c)
		}
		if reason == "" {
			t.Fatalf("storetest: Options.Skip[%q] has no reason; say why the backend opts out", c)
		}
	}
	for _, g := range groups {
		t.Run(string(g.category), func(t *testing.T) {
			if reason, ok := o.Skip[g.category]; ok {
				t.Skipf("backend opts out of %s: %s", g.category, reason)
			}
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newEnv(t, open))
				})
			}
		})
	}
}

// env is one test's store and the fixtures built in it. ctx sees the whole
// county; the TownScope tests make narrower ones.
type env struct {
	t     *testing.T
	ctx   context.Context
	s     *repository.Store
	db    *gorm.DB
	keys  *sealed.Keyring
	clock *testclock.Clock
	// step is how far the clock moves before each fixture is created, so
	// fixtures get distinct, increasing times unless a test sets it to 0.
	step time.Duration
	seq  int
	// opened holds the (member, kind) pairs caseFor gave an open case, so
	// that a family's next open case of the kind goes to a new member: the
	// store keeps one open case of a kind per member (OPEN_CASE_PER_KIND).
	opened map[[2]string]bool
}

// epoch is where every test's clock starts: a China-time instant with
// nanoseconds, so tests see the store convert to UTC and truncate to
// microseconds.
var epoch = time.Date(2026, 3, 2, 9, 30, 0, 123456789, domain.ChinaTime)

func newEnv(t *testing.T, open func(t *testing.T) Backend) *env {
	t.Helper()
	b := open(t)
	if b.Store == nil || b.DB == nil || b.Keyring == nil {
		t.Fatal("storetest: open returned a Backend without its Store, DB or Keyring")
	}
	c := testclock.Stopped(epoch)
	repository.WithClock(c.Now)(b.Store)
	return &env{t: t, ctx: repository.WithScope(context.Background(), principal.Scope{All: true}),
		s: b.Store, db: b.DB, keys: b.Keyring, clock: c, step: time.Second}
}

// stored is how the store records an instant: UTC, microsecond precision.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nowStored is the clock's time as the store will record it.
func (e *env) nowStored() time.Time { return stored(e.clock.Now()) }

// must fails the test on an unexpected error.
func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", fmt.Sprintf(what, args...), err, target)
	}
}

// wantPrecondition fails the test unless err is a *domain.PreconditionError
// of the type.
func wantPrecondition(t *testing.T, err error, typ, what string) {
	t.Helper()
	p, ok := domain.AsPrecondition(err)
	if !ok {
		t.Fatalf("%s: got error %v (%T), want a *domain.PreconditionError", what, err, err)
	}
	if p.Type != typ {
		t.Fatalf("%s: precondition type %q, want %q", what, p.Type, typ)
	}
}

// sameRow fails the test unless got and want, pointers to the same struct
// type, agree field by field; times are compared as instants.
func sameRow(t *testing.T, got, want any, what string) {
	t.Helper()
	if diffs := rowDiff(got, want); len(diffs) > 0 {
		t.Fatalf("%s: stored row differs:\n%s", what, joinLines(diffs))
	}
}

var timeType = reflect.TypeFor[time.Time]()

func rowDiff(got, want any) []string {
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	if g.Type() != w.Type() {
		return []string{fmt.Sprintf("types %s and %s", g.Type(), w.Type())}
	}
	var diffs []string
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		gf, wf := g.Field(i), w.Field(i)
		if !fieldEqual(gf, wf) {
			diffs = append(diffs, fmt.Sprintf("  %s: got %v, want %v", name, show(gf), show(wf)))
		}
	}
	return diffs
}

func fieldEqual(g, w reflect.Value) bool {
	switch {
	case g.Type() == timeType:
		return g.Interface().(time.Time).Equal(w.Interface().(time.Time))
	case g.Kind() == reflect.Pointer:
		if g.IsNil() || w.IsNil() {
			return g.IsNil() == w.IsNil()
		}
		return fieldEqual(g.Elem(), w.Elem())
	}
	return reflect.DeepEqual(g.Interface(), w.Interface())
}

func show(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "nil"
		}
		return v.Elem().Interface()
	}
	return v.Interface()
}

func joinLines(lines []string) string {
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}

// checkStamped fails unless t is UTC with at most microsecond precision, as
// the store promises for the times it sets.
func checkStamped(t *testing.T, ts time.Time, what string) {
	t.Helper()
	if ts.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, ts.Location())
	}
	if ts.Nanosecond()%1000 != 0 {
		t.Errorf("%s: %v has sub-microsecond precision", what, ts)
	}
}
