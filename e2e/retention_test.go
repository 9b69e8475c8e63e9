package e2e

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

// testRetention: a household deleted longer ago than the schedule keeps
// it is erased by the server's own daily job, and then answers, over both
// transports, as an anonymous shell: still readable as deleted (its id,
// town and category, for the statistics and the audit trail), with no
// name, ID number, phone or address, found by no lookup of its number, and
// refused an undelete (HOUSEHOLD_ERASED). The job's run is counted in the
// metrics and reported in the log with counts only.
func testRetention(t *testing.T, e *env) {
	e.httpBase, e.conn = e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) {
		c.JobPoll = 50 * time.Millisecond
		c.RetentionEvery = 100 * time.Millisecond
	})
	c := e.grpcClient(t)
	req := e.newHousehold()
	h := must(c.CreateHousehold(req)).ok(t)
	kept := must(c.CreateHousehold(e.newHousehold())).ok(t)
	must(c.DeleteHousehold(h.GetName(), "")).ok(t)
	must(c.DeleteHousehold(kept.GetName(), "")).ok(t)
	// Six years ago, past the default five; the other was deleted today.
	id := strings.TrimPrefix(h.GetName(), "households/")
	if err := e.db.Gorm.Exec("UPDATE households SET delete_time = ? WHERE id = ?", e.clock.Now().AddDate(-6, 0, 0).UTC(), id).Error; err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		got := deletedHousehold(t, c, h.GetName())
		if got.GetServicemember().GetName() == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retention job did not erase the household: %v", got.GetServicemember().GetName())
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.eachClient(t, func(t *testing.T, c *client) {
		// A deleted household, erased or not, answers a get with 404 and
		// is listed with showDeleted.
		_, err := c.GetHousehold(h.GetName())
		wantStatus(t, err, codes.NotFound)
		got := deletedHousehold(t, c, h.GetName())
		if got.GetDeleteTime() == nil || got.GetTownCode() != req.GetTownCode() || got.GetCategory() != req.GetCategory() {
			t.Errorf("the shell lost what it keeps: %v", got)
		}
		if sm := got.GetServicemember(); sm.GetName() != "" || sm.GetIdNumber() != "" || got.GetPhone() != "" || got.GetAddress() != "" {
			t.Errorf("the shell still holds personal data: %v", got)
		}
		_, err = c.UndeleteHousehold(h.GetName())
		refused(t, err, codes.FailedPrecondition, pb.ErrorReason_HOUSEHOLD_ERASED)
		// The household deleted today is kept whole, and may come back.
		if k := deletedHousehold(t, c, kept.GetName()); k.GetServicemember().GetName() != kept.GetServicemember().GetName() {
			t.Errorf("a household deleted today was erased: %v", k)
		}
	})
	must(c.UndeleteHousehold(kept.GetName())).ok(t)
	// Its number finds nothing: the blind index went with it.
	_, err := c.LookupHousehold(req.GetServicemember().GetIdNumber())
	wantStatus(t, err, codes.NotFound)

	// The job is counted once it has returned, a moment after its commit.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		samples, _ := e.scrape(t)
		if samples[`casework_jobs_total{kind="retention",result="completed"}`] >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Error("no completed retention job in the metrics")
			break
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "retention run erased deleted households") || !strings.Contains(logs, "households=1") {
		t.Error("the retention job's report is not in the log")
	}
}

// deletedHousehold finds the deleted household name in the list that
// shows deleted ones.
func deletedHousehold(t *testing.T, c *client, name string) *pb.Household {
	t.Helper()
	list := must(c.ListHouseholds(&pb.ListHouseholdsRequest{ShowDeleted: true, PageSize: 500})).ok(t)
	for _, h := range list.GetHouseholds() {
		if h.GetName() == name {
			return h
		}
	}
	t.Fatalf("%s is not listed with showDeleted", name)
	return nil
}
