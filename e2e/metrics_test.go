package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// scrape reads /metrics as Prometheus would (no credential) and returns
// each sample's value by its series (name and labels as printed).
func (e *env) scrape(t *testing.T) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(e.httpBase + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d (%v)", resp.StatusCode, err)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples, string(body)
}

// testMetrics drives calls over both transports and reads them back from
// /metrics: counted by method and code (gRPC) and by route template
// (HTTP), the pool and the job queue's runs exported, the feed's head as
// the feed says, and no personal data anywhere in the scrape.
func testMetrics(t *testing.T, e *env) {
	g, h := e.grpcClient(t), e.httpClient(t)
	created := must(g.CreateHousehold(e.newHousehold())).ok(t)
	must(h.GetHousehold(created.GetName())).ok(t)
	must(h.GetHousehold("households/00000000-0000-4000-8000-00000000dead")).fails(t, codes.NotFound)

	samples, body := e.scrape(t)
	e.leaks.check("/metrics", body)
	for series, atLeast := range map[string]float64{
		`casework_rpc_requests_total{code="OK",method="/casework.v1.HouseholdService/CreateHousehold",transport="grpc"}`:    1,
		`casework_rpc_requests_total{code="OK",method="/casework.v1.HouseholdService/GetHousehold",transport="http"}`:       1,
		`casework_rpc_requests_total{code="NotFound",method="/casework.v1.HouseholdService/GetHousehold",transport="http"}`: 1,
		`casework_http_requests_total{method="GET",route="/v1/{name=households/*}",status="200"}`:                           1,
		`casework_http_requests_total{method="GET",route="/v1/{name=households/*}",status="404"}`:                           1,
		`casework_rpc_duration_seconds_count{method="/casework.v1.HouseholdService/CreateHousehold",transport="grpc"}`:      1,
		`go_sql_max_open_connections{db_name="casework"}`:                                                                   0,
	} {
		if v, ok := samples[series]; !ok || v < atLeast {
			t.Errorf("/metrics: %s = %v (present %v); want at least %v", series, v, ok, atLeast)
		}
	}
	// A path's id never becomes a label: only templates do.
	if strings.Contains(body, created.GetName()) || strings.Contains(body, "00000000dead") {
		t.Error("/metrics holds a resource name from a path")
	}

	head := feedHead(t, pb.NewEventServiceClient(e.conn))
	if got := samples["casework_feed_head_position"]; got != float64(head) || samples["casework_feed_scrape_ok"] != 1 {
		t.Errorf("casework_feed_head_position = %v (scrape ok %v); the feed's head is %d", got, samples["casework_feed_scrape_ok"], head)
	}

	// The queue's periodic sweep runs as the server starts: its run is
	// counted.
	sweep := `casework_jobs_total{kind="sweep",result="completed"}`
	for deadline := time.Now().Add(10 * time.Second); samples[sweep] < 1 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		samples, _ = e.scrape(t)
	}
	if samples[sweep] < 1 {
		t.Errorf("%s never appeared", sweep)
	}
}
