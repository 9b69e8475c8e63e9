package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// webhookSecret is a synthetic HMAC key, distinct per call.
func webhookSecret() string { return "test-webhook-secret-" + uuid.NewString() }

// newWebhook stores a webhook (clock advanced first, like other fixtures)
// and returns it with its secret.
func (e *env) newWebhook(mods ...func(*repository.Webhook)) (*repository.Webhook, string) {
	e.t.Helper()
	w := &repository.Webhook{ID: uuid.NewString(), DisplayName: "Test receiver", URL: "https://receiver.test/hook?token=abc"}
	for _, m := range mods {
		m(w)
	}
	secret := webhookSecret()
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateWebhook(e.ctx, w, secret), "CreateWebhook")
	return w, secret
}

func (e *env) webhook(id string) *repository.Webhook {
	e.t.Helper()
	w, err := e.s.GetWebhook(e.ctx, id)
	must(e.t, err, "GetWebhook")
	return w
}

func (e *env) lease(id, owner string) bool {
	e.t.Helper()
	ok, err := e.s.LeaseWebhook(e.ctx, id, owner, time.Minute)
	must(e.t, err, "LeaseWebhook(%s)", owner)
	return ok
}

// attempt records one delivery attempt at position by owner.
func (e *env) attempt(w *repository.Webhook, owner string, position int64, ok bool) error {
	d := &repository.WebhookDelivery{WebhookID: w.ID, Position: position, EventType: "CreateHousehold",
		Resource: "households/x", Attempt: 1, Success: ok, HTTPStatus: 200, DurationMS: 12}
	if !ok {
		d.HTTPStatus, d.Error = 500, "HTTP 500"
	}
	return e.s.RecordWebhookAttempt(e.ctx, owner, d, time.Minute, 0)
}

func webhookIDs(ws []repository.Webhook) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func deliveryIDs(ds []repository.WebhookDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

var webhookTests = []test{
	{"CreateGetListDelete", func(t *testing.T, e *env) {
		e.newHousehold() // event 1
		e.ctx = withRecord(e.ctx, who)
		var ws []*repository.Webhook
		e.wantAudited([]string{"created"}, func() string {
			w, _ := e.newWebhook(func(w *repository.Webhook) {
				w.ResourceTypes, w.EventTypes = repository.List[string]{"cases", "notes"}, repository.List[string]{"CreateCase"}
			})
			ws = append(ws, w)
			return "webhooks/" + w.ID
		})
		w := ws[0]
		if w.DeliveredPosition != 1 || w.Revision != 1 || !w.CreateTime.Equal(e.nowStored()) || w.ConsecutiveFailures != 0 {
			t.Fatalf("created webhook: position %d, revision %d, create time %v; want the head 1, 1, %v",
				w.DeliveredPosition, w.Revision, w.CreateTime, e.nowStored())
		}
		checkStamped(t, w.CreateTime, "CreateTime")
		sameRow(t, e.webhook(w.ID), w, "GetWebhook")
		if head, err := e.s.EventHead(e.ctx); err != nil || head != 1 {
			t.Fatalf("EventHead after creating a webhook = %d, %v: webhooks are not part of the feed", head, err)
		}
		// An explicit start is kept, whatever the head.
		for range 4 {
			w, _ := e.newWebhook(func(w *repository.Webhook) { w.DeliveredPosition = 1 })
			ws = append(ws, w)
		}
		all, n := pages(t, 2, func(p repository.Page) ([]repository.Webhook, *repository.Cursor, error) {
			return e.s.ListWebhooks(e.ctx, p)
		})
		sameIDs(t, webhookIDs(all), webhookIDs(values(ws)), "ListWebhooks, oldest first")
		if n != 3 {
			t.Fatalf("ListWebhooks took %d pages of 2 for 5 webhooks, want 3", n)
		}
		e.wantAudited([]string{"deleted"}, func() string {
			must(t, e.s.DeleteWebhook(e.ctx, ws[1].ID), "DeleteWebhook")
			return "webhooks/" + ws[1].ID
		})
		_, err := e.s.GetWebhook(e.ctx, ws[1].ID)
		wantErr(t, err, repository.ErrNotFound, "GetWebhook after delete")
		wantErr(t, e.s.DeleteWebhook(e.ctx, ws[1].ID), repository.ErrNotFound, "DeleteWebhook twice")
		_, _, err = e.s.ListWebhookDeliveries(e.ctx, ws[1].ID, repository.Page{})
		wantErr(t, err, repository.ErrNotFound, "ListWebhookDeliveries of a deleted webhook")
		all, _ = pages(t, 0, func(p repository.Page) ([]repository.Webhook, *repository.Cursor, error) {
			return e.s.ListWebhooks(e.ctx, p)
		})
		if len(all) != 4 {
			t.Fatalf("ListWebhooks after a delete lists %d, want 4", len(all))
		}
		e.verified()
	}},
	{"SecretSealedAtRest", func(t *testing.T, e *env) {
		w, secret := e.newWebhook()
		rows := e.rawRows("SELECT * FROM webhooks WHERE id = ?", w.ID)
		if len(rows) != 1 {
			t.Fatalf("%d raw rows for the webhook", len(rows))
		}
		for col, v := range rows[0] {
			if strings.Contains(v, secret) {
				t.Fatalf("webhooks.%s holds the secret in plaintext", col)
			}
		}
		raw := rows[0]["secret"]
		if k, ok := sealed.KeyID(raw); !ok || k != e.keys.ActiveKeyID() {
			t.Fatalf("webhooks.secret is not sealed under the active key: key %q, sealed %v", k, ok)
		}
		if strings.Contains(w.SealedSecret, secret) || e.webhook(w.ID).SealedSecret != raw {
			t.Fatal("the row the store returns must carry the secret sealed, as stored")
		}
		for _, a := range e.auditLog() {
			if strings.Contains(a.Fields, secret) || strings.Contains(a.Resource, secret) {
				t.Fatalf("audit entry %d holds the secret", a.Seq)
			}
		}
		got, err := e.s.WebhookSecret(e.ctx, e.webhook(w.ID))
		if err != nil || got != secret {
			t.Fatalf("WebhookSecret: match %v, %v; want the secret", got == secret, err)
		}
		// After a rotation the secret still opens, and is sealed again under
		// the new key as it is used.
		rotated, err := e.keys.Rotate()
		must(t, err, "Rotate")
		got, err = e.s.WebhookSecret(e.ctx, e.webhook(w.ID))
		if err != nil || got != secret {
			t.Fatalf("WebhookSecret after rotation: match %v, %v", got == secret, err)
		}
		raw = e.rawRows("SELECT secret FROM webhooks WHERE id = ?", w.ID)[0]["secret"]
		if k, _ := sealed.KeyID(raw); k != rotated {
			t.Fatalf("secret sealed under %q after use, want the new key %q", k, rotated)
		}
	}},
	{"LeasesAreExclusive", func(t *testing.T, e *env) {
		w, _ := e.newWebhook()
		if !e.lease(w.ID, "server-a") {
			t.Fatal("a free webhook was not leased")
		}
		if e.lease(w.ID, "server-b") {
			t.Fatal("server-b leased a webhook server-a holds")
		}
		e.clock.Advance(30 * time.Second)
		if !e.lease(w.ID, "server-a") {
			t.Fatal("the owner could not renew its lease")
		}
		e.clock.Advance(45 * time.Second) // 15s left of the renewed lease
		if e.lease(w.ID, "server-b") {
			t.Fatal("server-b leased before the renewed lease expired")
		}
		e.clock.Advance(16 * time.Second)
		if !e.lease(w.ID, "server-b") {
			t.Fatal("server-b could not take over an expired lease")
		}
		if e.lease(w.ID, "server-a") {
			t.Fatal("the old owner took the lease back while server-b holds it")
		}
		wantErr(t, e.attempt(w, "server-a", w.DeliveredPosition+1, true), repository.ErrLeaseLost, "recording without the lease")
		wantErr(t, e.s.AdvanceWebhook(e.ctx, w.ID, "server-a", 9), repository.ErrLeaseLost, "advancing without the lease")
		if got := e.webhook(w.ID); got.DeliveredPosition != w.DeliveredPosition || got.LeaseOwner != "server-b" {
			t.Fatalf("after refused writes: position %d, owner %q", got.DeliveredPosition, got.LeaseOwner)
		}
		must(t, e.s.ReleaseWebhook(e.ctx, w.ID, "server-a"), "ReleaseWebhook by a non-owner")
		if e.webhook(w.ID).LeaseOwner != "server-b" {
			t.Fatal("a non-owner released the lease")
		}
		must(t, e.s.ReleaseWebhook(e.ctx, w.ID, "server-b"), "ReleaseWebhook")
		if got := e.webhook(w.ID); got.LeaseOwner != "" || got.LeaseUntil != nil {
			t.Fatalf("released lease: owner %q, until %v", got.LeaseOwner, got.LeaseUntil)
		}

		// Many servers at once: exactly one wins.
		w2, _ := e.newWebhook()
		const servers = 8
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []string
		)
		for i := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := "server-" + string(rune('a'+i))
				ok, err := e.s.LeaseWebhook(e.ctx, w2.ID, owner, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins = append(wins, owner)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(wins) != 1 || e.webhook(w2.ID).LeaseOwner != wins[0] {
			t.Fatalf("%d servers leased the webhook at once (%v), want exactly 1", len(wins), wins)
		}
		_, err := e.s.LeaseWebhook(e.ctx, "missing", "server-a", time.Minute)
		must(t, err, "LeaseWebhook of a missing webhook")
	}},
	{"PositionOnlyAdvances", func(t *testing.T, e *env) {
		w, _ := e.newWebhook(func(w *repository.Webhook) { w.DeliveredPosition = 2 })
		if !e.lease(w.ID, "server-a") {
			t.Fatal("lease refused")
		}
		for _, step := range []struct {
			position int64
			success  bool
			advance  bool
			want     int64
		}{
			{5, true, false, 5},
			{3, true, false, 5}, // a late, older success does not move it back
			{4, false, true, 5},
			{7, false, true, 7},
			{6, true, false, 7},
		} {
			if step.advance {
				must(t, e.s.AdvanceWebhook(e.ctx, w.ID, "server-a", step.position), "AdvanceWebhook(%d)", step.position)
			} else {
				must(t, e.attempt(w, "server-a", step.position, step.success), "attempt at %d", step.position)
			}
			if got := e.webhook(w.ID).DeliveredPosition; got != step.want {
				t.Fatalf("after %+v: position %d, want %d", step, got, step.want)
			}
		}
		_, err := e.s.SkipPrunedEvents(e.ctx, w.ID, "server-a")
		must(t, err, "SkipPrunedEvents with nothing pruned")
		if got := e.webhook(w.ID).DeliveredPosition; got != 7 {
			t.Fatalf("skipping nothing moved the position to %d", got)
		}
	}},
	{"FailuresBackOff", func(t *testing.T, e *env) {
		w, _ := e.newWebhook()
		for n := 1; n <= 2; n++ {
			if !e.lease(w.ID, "server-a") {
				t.Fatalf("attempt %d: due webhook not leased", n)
			}
			must(t, e.attempt(w, "server-a", w.DeliveredPosition+1, false), "failure %d", n)
			got := e.webhook(w.ID)
			now := e.nowStored()
			if got.ConsecutiveFailures != n || got.LastError != "HTTP 500" || got.LastFailureTime == nil || !got.LastFailureTime.Equal(now) ||
				got.NextAttemptTime == nil || !got.NextAttemptTime.Equal(now.Add(time.Minute)) || got.DeliveredPosition != w.DeliveredPosition {
				t.Fatalf("after failure %d: %+v", n, got)
			}
			if got.LeaseOwner != "" || got.LeaseUntil != nil {
				t.Fatalf("a failure must release the lease: owner %q", got.LeaseOwner)
			}
			for _, owner := range []string{"server-a", "server-b"} {
				if e.lease(w.ID, owner) {
					t.Fatalf("%s leased a webhook whose retry is not due", owner)
				}
			}
			e.clock.Advance(time.Minute)
		}
		if !e.lease(w.ID, "server-b") {
			t.Fatal("a due retry was not leased")
		}
		must(t, e.attempt(w, "server-b", w.DeliveredPosition+1, true), "success")
		got := e.webhook(w.ID)
		if got.ConsecutiveFailures != 0 || got.NextAttemptTime != nil || got.LastSuccessTime == nil ||
			!got.LastSuccessTime.Equal(e.nowStored()) || got.DeliveredPosition != w.DeliveredPosition+1 {
			t.Fatalf("after a success: %+v", got)
		}
		if got.LastError != "HTTP 500" {
			t.Fatalf("last_error %q: a success keeps the last failure's reason for the record", got.LastError)
		}
	}},
	{"DeliveriesNewestFirstAndBounded", func(t *testing.T, e *env) {
		w, _ := e.newWebhook()
		other, _ := e.newWebhook()
		if !e.lease(w.ID, "server-a") || !e.lease(other.ID, "server-a") {
			t.Fatal("lease refused")
		}
		var ids []string
		for i := range 6 {
			e.clock.Advance(time.Second)
			d := &repository.WebhookDelivery{WebhookID: w.ID, Position: int64(i + 1), EventType: "CreateCase",
				Resource: "cases/x", Attempt: 1, Success: true, HTTPStatus: 204, DurationMS: int64(i)}
			must(t, e.s.RecordWebhookAttempt(e.ctx, "server-a", d, 0, 4), "RecordWebhookAttempt %d", i)
			if !d.Time.Equal(e.nowStored()) || d.ID == "" {
				t.Fatalf("delivery %d: time %v, id %q", i, d.Time, d.ID)
			}
			ids = append([]string{d.ID}, ids...)
			must(t, e.attempt(other, "server-a", int64(i+1), true), "other webhook's attempt")
		}
		all, n := pages(t, 3, func(p repository.Page) ([]repository.WebhookDelivery, *repository.Cursor, error) {
			return e.s.ListWebhookDeliveries(e.ctx, w.ID, p)
		})
		sameIDs(t, deliveryIDs(all), ids[:4], "ListWebhookDeliveries: the newest 4, newest first")
		if n != 2 {
			t.Fatalf("%d pages of 3 for 4 deliveries", n)
		}
		if all[0].Position != 6 || all[0].HTTPStatus != 204 || !all[0].Success || all[0].Attempt != 1 || all[0].DurationMS != 5 ||
			all[0].EventType != "CreateCase" || all[0].Resource != "cases/x" || all[0].WebhookID != w.ID {
			t.Fatalf("newest delivery %+v", all[0])
		}
		others, _ := pages(t, 0, func(p repository.Page) ([]repository.WebhookDelivery, *repository.Cursor, error) {
			return e.s.ListWebhookDeliveries(e.ctx, other.ID, p)
		})
		if len(others) != 6 {
			t.Fatalf("the other webhook (kept unbounded) has %d deliveries, want 6: pruning must stay per webhook", len(others))
		}
		// Equal times fall back to ids, newest first.
		e.step = 0
		for i := range 3 {
			must(t, e.attempt(other, "server-a", int64(10+i), true), "same-time attempt")
		}
		others, _ = pages(t, 2, func(p repository.Page) ([]repository.WebhookDelivery, *repository.Cursor, error) {
			return e.s.ListWebhookDeliveries(e.ctx, other.ID, p)
		})
		if len(others) != 9 || others[0].Position != 12 || others[1].Position != 11 || others[2].Position != 10 {
			t.Fatalf("same-time deliveries listed %d, first positions %d %d %d", len(others), others[0].Position, others[1].Position, others[2].Position)
		}
	}},
	{"DeleteRemovesDeliveries", func(t *testing.T, e *env) {
		w, _ := e.newWebhook()
		keep, _ := e.newWebhook()
		for _, x := range []*repository.Webhook{w, keep} {
			if !e.lease(x.ID, "server-a") {
				t.Fatal("lease refused")
			}
			must(t, e.attempt(x, "server-a", 1, false), "failure")
			e.clock.Advance(time.Minute)
			if !e.lease(x.ID, "server-a") {
				t.Fatal("lease refused after the retry time")
			}
			must(t, e.attempt(x, "server-a", 1, true), "success")
		}
		must(t, e.s.DeleteWebhook(e.ctx, w.ID), "DeleteWebhook")
		if rows := e.rawRows("SELECT id FROM webhook_deliveries WHERE webhook_id = ?", w.ID); len(rows) != 0 {
			t.Fatalf("%d deliveries of a deleted webhook remain", len(rows))
		}
		if rows := e.rawRows("SELECT id FROM webhook_deliveries WHERE webhook_id = ?", keep.ID); len(rows) != 2 {
			t.Fatalf("another webhook's deliveries: %d rows, want 2", len(rows))
		}
		wantErr(t, e.attempt(w, "server-a", 2, true), repository.ErrNotFound, "recording for a deleted webhook")
		if ok, err := e.s.LeaseWebhook(e.ctx, w.ID, "server-a", time.Minute); ok || err != nil {
			t.Fatalf("leasing a deleted webhook = %v, %v", ok, err)
		}
	}},
	{"SkipPrunedEvents", func(t *testing.T, e *env) {
		e.newHousehold()
		w, _ := e.newWebhook() // after event 1
		e.newHousehold()
		e.clock.Advance(48 * time.Hour)
		e.newHousehold()
		n, err := e.s.PruneEvents(e.ctx, e.clock.Now().Add(-24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PruneEvents = %d, %v", n, err)
		}
		_, _, err = e.s.ListEvents(e.ctx, repository.EventQuery{After: w.DeliveredPosition})
		wantErr(t, err, repository.ErrEventsPruned, "the webhook's next events")
		_, err = e.s.SkipPrunedEvents(e.ctx, w.ID, "server-a")
		wantErr(t, err, repository.ErrLeaseLost, "skipping without the lease")
		if !e.lease(w.ID, "server-a") {
			t.Fatal("lease refused")
		}
		pos, err := e.s.SkipPrunedEvents(e.ctx, w.ID, "server-a")
		must(t, err, "SkipPrunedEvents")
		got := e.webhook(w.ID)
		if pos != 2 || got.DeliveredPosition != 2 || !strings.Contains(got.LastError, "pruned") || got.LastFailureTime == nil {
			t.Fatalf("after skipping: returned %d, row %+v; want position 2 and the reason in last_error", pos, got)
		}
		evs, _, err := e.s.ListEvents(e.ctx, repository.EventQuery{After: pos})
		if err != nil || len(evs) != 1 || evs[0].Position != 3 {
			t.Fatalf("events after the skip: %+v, %v; want the one retained", evs, err)
		}
	}},
}
