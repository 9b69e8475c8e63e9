package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/repository"
)

// countRows counts a raw table.
func (e *env) countRows(table string) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Table(table).Count(&n).Error; err != nil {
		e.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

var requestTests = []test{
	resealTests,
	{"InTxIsAllOrNothing", func(t *testing.T, e *env) {
		boom := errors.New("boom")
		err := e.s.InTx(e.ctx, func(ctx context.Context) error {
			for range 3 {
				h := e.newHouseholdIn(ctx)
				if _, err := e.s.GetHousehold(ctx, h.ID, false); err != nil {
					t.Fatalf("read inside the transaction: %v", err)
				}
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want the function's error", err)
		}
		for _, table := range []string{"households", "events", "audit_log"} {
			if n := e.countRows(table); n != 0 {
				t.Errorf("%d rows in %s after a rolled-back InTx", n, table)
			}
		}
		// An inner failure rolls back only its savepoint.
		err = e.s.InTx(e.ctx, func(ctx context.Context) error {
			e.newHouseholdIn(ctx)
			inner := e.s.InTx(ctx, func(ctx context.Context) error {
				e.newHouseholdIn(ctx)
				return boom
			})
			if !errors.Is(inner, boom) {
				t.Fatalf("inner InTx = %v", inner)
			}
			e.newHouseholdIn(ctx)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := e.countRows("households"); n != 2 {
			t.Errorf("%d households, want 2: the inner savepoint's only", n)
		}
		positions(t, e.allEvents(repository.EventQuery{}), 2)
	}},
	{"RecordsAreFoundUntilTheyExpire", func(t *testing.T, e *env) {
		r := &repository.RequestRecord{Principal: "u1", RequestID: "r1", Method: "/m", RequestHash: "h1", Response: []byte("answer\x00bytes")}
		if err := e.s.SaveRequest(e.ctx, r, time.Hour); err != nil {
			t.Fatal(err)
		}
		got, err := e.s.FindRequest(e.ctx, "u1", "r1")
		if err != nil || string(got.Response) != "answer\x00bytes" || got.RequestHash != "h1" || got.Method != "/m" {
			t.Fatalf("FindRequest = %+v, %v", got, err)
		}
		// Another principal's id is another record.
		if _, err := e.s.FindRequest(e.ctx, "u2", "r1"); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("another principal's id: %v, want ErrNotFound", err)
		}
		// The answer is sealed at rest.
		var raw string
		if err := e.db.Raw("SELECT response FROM request_ids").Scan(&raw).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw, "sealed:v1:") {
			t.Errorf("response at rest = %.16q, want sealed", raw)
		}
		// A second save of the same key is refused.
		if err := e.s.SaveRequest(e.ctx, r, time.Hour); !errors.Is(err, repository.ErrRequestRecorded) {
			t.Errorf("second SaveRequest = %v, want ErrRequestRecorded", err)
		}
		// Expired: gone for FindRequest, replaceable, and pruned.
		e.clock.Advance(2 * time.Hour)
		if _, err := e.s.FindRequest(e.ctx, "u1", "r1"); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("expired record: %v, want ErrNotFound", err)
		}
		if err := e.s.SaveRequest(e.ctx, &repository.RequestRecord{Principal: "u1", RequestID: "r1", Method: "/m", RequestHash: "h2"}, time.Hour); err != nil {
			t.Errorf("reusing an expired id: %v", err)
		}
		if err := e.s.SaveRequest(e.ctx, &repository.RequestRecord{Principal: "u1", RequestID: "r2", Method: "/m"}, time.Minute); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10 * time.Minute)
		if n, err := e.s.PruneRequests(e.ctx); err != nil || n != 1 {
			t.Errorf("PruneRequests = %d, %v; want 1 (r2)", n, err)
		}
		if got, err := e.s.FindRequest(e.ctx, "u1", "r1"); err != nil || got.RequestHash != "h2" {
			t.Errorf("the renewed record: %+v, %v", got, err)
		}
	}},
	{"RequestIDsAreKeptAsKeyedHashes", func(t *testing.T, e *env) {
		// Callers pick request ids, and some pick an ID number.
		const id = "500230199001011237"
		r := &repository.RequestRecord{Principal: "u1", RequestID: id, Method: "/m", RequestHash: "h1", Response: []byte("answer")}
		must(t, e.s.SaveRequest(e.ctx, r, time.Hour), "SaveRequest")
		if r.RequestID != id {
			t.Errorf("SaveRequest changed the caller's record: request id %.6s…", r.RequestID)
		}
		var stored []string
		must(t, e.db.Raw("SELECT request_id FROM request_ids").Scan(&stored).Error, "read request_ids")
		if len(stored) != 1 || strings.Contains(stored[0], id) || stored[0] != e.keys.Index(id, "request_ids.request_id") {
			t.Fatalf("request_id at rest = %.8q…, want the keyed hash of the id, never the id", stored)
		}
		// Lookups hash the same way; another id, or the hash itself sent
		// as an id, finds nothing.
		if got, err := e.s.FindRequest(e.ctx, "u1", id); err != nil || string(got.Response) != "answer" {
			t.Errorf("FindRequest by the id = %v, %v", got, err)
		}
		for _, other := range []string{id[:17] + "8", stored[0]} {
			if _, err := e.s.FindRequest(e.ctx, "u1", other); !errors.Is(err, repository.ErrNotFound) {
				t.Errorf("FindRequest(%.8s…) = %v, want ErrNotFound", other, err)
			}
		}
		// The same id again is the same key.
		if err := e.s.SaveRequest(e.ctx, r, time.Hour); !errors.Is(err, repository.ErrRequestRecorded) {
			t.Errorf("second SaveRequest = %v, want ErrRequestRecorded", err)
		}
	}},
	{"RecordCommitsWithTheChange", func(t *testing.T, e *env) {
		boom := errors.New("boom")
		err := e.s.InTx(e.ctx, func(ctx context.Context) error {
			e.newHouseholdIn(ctx)
			if err := e.s.SaveRequest(ctx, &repository.RequestRecord{Principal: "u1", RequestID: "r1", Method: "/m"}, time.Hour); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := e.s.FindRequest(e.ctx, "u1", "r1"); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("the record of a rolled-back change: %v, want ErrNotFound", err)
		}
	}},
}

// resealTests: a rotation re-encrypts the secrets kept for later use too,
// not only ID and phone numbers.
var resealTests = test{"ResealCoversAnswersAndWebhookSecrets", func(t *testing.T, e *env) {
	r := &repository.RequestRecord{Principal: "u1", RequestID: "r1", Method: "/m", RequestHash: "h", Response: []byte("answer")}
	must(t, e.s.SaveRequest(e.ctx, r, time.Hour), "SaveRequest")
	w := &repository.Webhook{ID: "w1", URL: "https://receiver.example/hook"}
	must(t, e.s.CreateWebhook(e.ctx, w, "a-webhook-secret-of-32-characters!"), "CreateWebhook")
	rotated, err := e.keys.Rotate()
	must(t, err, "Rotate")
	var progress []repository.ResealProgress
	n, err := e.s.Reseal(e.ctx, 10, func(p repository.ResealProgress) { progress = append(progress, p) })
	must(t, err, "Reseal")
	if n != 2 || len(progress) != 2 {
		t.Fatalf("Reseal = %d rows, progress %v; want the webhook and the answer", n, progress)
	}
	for _, q := range []string{"SELECT secret FROM webhooks", "SELECT response FROM request_ids"} {
		var v string
		must(t, e.db.Raw(q).Scan(&v).Error, "%s", q)
		if !strings.HasPrefix(v, "sealed:v1:"+rotated+":") {
			t.Errorf("%s: %.24q, want sealed under %s", q, v, rotated)
		}
	}
	got, err := e.s.FindRequest(e.ctx, "u1", "r1")
	if err != nil || string(got.Response) != "answer" {
		t.Errorf("the answer after reseal: %v, %v", got, err)
	}
	wh, err := e.s.GetWebhook(e.ctx, "w1")
	must(t, err, "GetWebhook")
	if secret, err := e.s.WebhookSecret(e.ctx, wh); err != nil || secret != "a-webhook-secret-of-32-characters!" {
		t.Errorf("the webhook secret after reseal: %v", err)
	}
}}

// newHouseholdIn creates a household with ctx, which may carry a
// transaction.
func (e *env) newHouseholdIn(ctx context.Context) *repository.Household {
	e.t.Helper()
	saved := e.ctx
	e.ctx = ctx
	defer func() { e.ctx = saved }()
	return e.newHousehold()
}
