package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// The list benchmark's filter: school-enrollment cases of the county seat
// in one status. CLOSED is the status with enough rows for page 200 to
// exist at 1,000,000 cases with 50 rows a page; SUBMITTED, the status a
// caseworker's inbox shows, has only a few hundred rows per town and kind
// there (cases are submitted for days, closed for years).
const listStatus = "CLOSED"

var listFilter = fmt.Sprintf(`town_code = "%s" AND status = %s AND case_type = SCHOOL_ENROLLMENT`, listTown, listStatus)

// The statements the server issues for CreateCase, in its order, as its
// PostgreSQL log shows them (log_statement = all) at the commit the docs
// name: the raw baseline must follow repository.CreateCase when it changes.
const (
	sqlGetHousehold = `SELECT households.*, (SELECT COUNT(*) FROM members m WHERE m.household_id = households.id AND m.delete_time IS NULL) AS member_count FROM "households" WHERE households.id = $1 AND households.delete_time IS NULL LIMIT $2`
	sqlGetMember    = `SELECT * FROM "members" WHERE (members.id = $1 AND members.household_id = $2 AND members.delete_time IS NULL) AND EXISTS (SELECT 1 FROM households h WHERE h.id = members.household_id AND h.delete_time IS NULL) LIMIT $3`
	sqlLockHouse    = `SELECT "id","town_code" FROM "households" WHERE id = $1 AND delete_time IS NULL LIMIT $2 FOR UPDATE`
	sqlLockMember   = `SELECT "id" FROM "members" WHERE id = $1 AND household_id = $2 AND delete_time IS NULL LIMIT $3 FOR UPDATE`
	sqlOpenCase     = `SELECT "id","town_code" FROM "cases" WHERE subject_id = $1 AND kind = $2 AND status IN ($3,$4,$5,$6,$7) AND id <> $8 LIMIT $9`
	sqlAuditLock    = `SELECT * FROM "audit_head" WHERE "audit_head"."id" = $1 LIMIT $2 FOR UPDATE`
	// sqlCreateLocked is everything after the audit head's lock, in one
	// statement: the case number, the case, its history entry, the audit
	// entry and the feed event, and both heads moved.
	sqlCreateLocked = `WITH case_number AS (INSERT INTO case_number_sequences AS s (year, last_value) VALUES ($1, 1) ` +
		`ON CONFLICT (year) DO UPDATE SET last_value = s.last_value + 1 ` +
		`RETURNING $2 || lpad(last_value::text, greatest(6, length(last_value::text)), '0') AS number), ` +
		`new_case AS (INSERT INTO "cases" ("id","case_number","household_id","subject_id","kind","details","placement_year","status","assignee","town_code","priority","priority_reasons","due_time","outcome_result","outcome_summary","status_reason","policy_basis","clocks","outcome_history","eligibility","withdrawal_reason","rejection_reason","termination_ground","objection","creator","source_contact","revision","create_time","update_time","submit_time","resolve_time","hold_start_time","hold_end_time","hold_reason","hold_holder","held_seconds","hold_count") ` +
		`VALUES ($3,(SELECT number FROM case_number),$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32,$33,$34,$35,$36,$37,$38) RETURNING id), ` +
		`history AS (INSERT INTO "case_history" ("case_id","time","actor","method","from_status","to_status","changed_fields","reason") ` +
		`VALUES ((SELECT id FROM new_case),$39,$40,$41,$42,$43,$44,$45) RETURNING id), ` +
		`audit_link AS (UPDATE audit_head SET seq = $46, hash = $47 WHERE id = 1), ` +
		`audit_entry AS (INSERT INTO "audit_log" ("seq","time","principal","roles","credential","method","resource","action","request_id","client_addr","outcome","fields","prev_hash","key_id","hash") ` +
		`VALUES ($48,$49,$50,$51,$52,$53,$54,$55,$56,$57,$58,$59,$60,$61,$62)), ` +
		`feed_head AS (UPDATE event_head SET position = position + $63 WHERE id = 1 RETURNING position), ` +
		`feed_event AS (INSERT INTO "events" ("position","time","type","resource","resource_type","etag","changed_fields") ` +
		`VALUES ((SELECT position FROM feed_head),$64,$65,$66,$67,$68,$69)) ` +
		`SELECT (SELECT number FROM case_number) AS number, (SELECT id FROM history) AS history_id`
)

// bench holds the clients of one run.
type bench struct {
	srv        *serverProcess
	county     *county
	loaded     *loaded
	conn       *grpc.ClientConn
	cases      pb.CaseServiceClient
	households pb.HouseholdServiceClient
	authCtx    func(context.Context) context.Context
	token      string
	http       *http.Client
	pool       *pgxpool.Pool // the raw baselines' connections
	// keys hash the raw baseline's audit entries as the server's do.
	keys *sealed.Keyring
	// placeable are the reserve's spouses the rules let have a placement
	// case today; each create takes the next (fresh counts them).
	placeableOnce sync.Once
	placeable     []memberRef
	fresh         atomic.Int64
}

// serverPoolSize is the server's connection pool on PostgreSQL
// (repository.Open): the raw baselines get the same.
const serverPoolSize = repository.PostgresPoolSize

func newBench(ctx context.Context, srv *serverProcess, c *county, l *loaded, token string, keys *sealed.Keyring) (*bench, error) {
	conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(srv.dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = serverPoolSize
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	md := metadata.Pairs("authorization", "Bearer "+token)
	return &bench{
		srv: srv, county: c, loaded: l, conn: conn, token: token, pool: pool, keys: keys,
		cases:      pb.NewCaseServiceClient(conn),
		households: pb.NewHouseholdServiceClient(conn),
		authCtx:    func(ctx context.Context) context.Context { return metadata.NewOutgoingContext(ctx, md) },
		http: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
		}},
	}, nil
}

func (b *bench) close() {
	_ = b.conn.Close()
	b.pool.Close()
	b.http.CloseIdleConnections()
}

// pick chooses the i-th input of a worker without a shared random source.
func pick(worker, i, n int) int {
	return rand.New(rand.NewPCG(uint64(worker)+1, uint64(i))).IntN(n)
}

// subject is the spouse a new employment-placement case is opened for: one
// the rules let have one today, from the reserve no loaded case is for,
// and a new one each call, as a member has one open case of a kind.
func (b *bench) subject(int, int) (*household, *member) {
	b.placeableOnce.Do(func() {
		now := time.Now()
		for _, ref := range b.county.reserve {
			if h, m := b.county.member(ref); eligible(h, m, domain.KindEmploymentPlacement, now) == nil {
				b.placeable = append(b.placeable, ref)
			}
		}
	})
	n := int(b.fresh.Add(1)-1) % len(b.placeable)
	return b.county.member(b.placeable[n])
}

// freeReserve withdraws the open placement cases of the reserve's spouses,
// by SQL between measurements, so that each may be given a new one.
func (b *bench) freeReserve(ctx context.Context) error {
	ids := make([]string, 0, len(b.county.reserve))
	for _, ref := range b.county.reserve {
		_, m := b.county.member(ref)
		ids = append(ids, m.id.String())
	}
	_, err := b.pool.Exec(ctx, `UPDATE cases SET status = $1 WHERE kind = $2 AND status = ANY($3) AND subject_id = ANY($4)`,
		string(domain.StatusWithdrawn), string(domain.KindEmploymentPlacement), repository.OpenStatuses(), ids)
	return err
}

func placementYear() int32 { return int32(time.Now().In(domain.ChinaTime).Year()) }

func (b *bench) createGRPC(ctx context.Context, worker, i int) error {
	return b.createVia(func(int, int) pb.CaseServiceClient { return b.cases })(ctx, worker, i)
}

func (b *bench) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+b.srv.httpAddr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, msg)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (b *bench) createGateway(ctx context.Context, worker, i int) error {
	h, m := b.subject(worker, i)
	body := fmt.Appendf(nil, `{"household":"households/%s","subject":"households/%s/members/%s",`+
		`"employmentPlacement":{"placementYear":%d,"eligible":true,"channel":"PLACEMENT_CHANNEL_STATE_ENTERPRISE"}}`,
		h.id, h.id, m.id, placementYear())
	return b.post(ctx, "/v1/cases", body)
}

// createRaw writes what CreateCase writes, statement for statement, as the
// server issues them: the two reads before the transaction, then the
// household's and member's locks and the open-case check, and last the
// audit head's lock and the one statement that takes the case number and
// writes the case, its history entry, the audit entry and the feed event,
// sent with COMMIT in one pipeline.
func (b *bench) createRaw(ctx context.Context, worker, i int) error {
	h, m := b.subject(worker, i)
	hid, mid := h.id.String(), m.id.String()
	rows, err := b.pool.Query(ctx, sqlGetHousehold, hid, 1)
	if err != nil {
		return err
	}
	house, err := pgx.CollectExactlyOneRow(rows, pgx.RowToMap)
	if err != nil {
		return fmt.Errorf("read household: %w", err)
	}
	rows, err = b.pool.Query(ctx, sqlGetMember, mid, hid, 1)
	if err != nil {
		return err
	}
	if _, err := pgx.CollectExactlyOneRow(rows, pgx.RowToMap); err != nil {
		return fmt.Errorf("read member: %w", err)
	}
	category, _ := house["category"].(string)
	rank, _ := house["rank_category"].(string)
	post, _ := house["post_type"].(string)
	hardship, _ := house["hardship"].(bool)
	town, _ := house["town_code"].(string)
	facts := domain.FromCategory(domain.Category(category), domain.Rank(rank), domain.PostType(post), hardship)
	p, reasons, priorityBasis := domain.ComputePriority(facts)
	names := make([]string, len(reasons))
	for i, r := range reasons {
		names[i] = string(r)
	}
	decided, err := domain.CheckEligibility(facts, domain.Subject{Relation: m.relation, BirthDate: m.birth, Accompanying: m.accompanying},
		domain.Request{Kind: domain.KindEmploymentPlacement}, time.Now().In(domain.ChinaTime))
	if err != nil {
		return err
	}
	var basis []string
	for _, r := range domain.PolicyBasis(decided.Rules, priorityBasis, nil) {
		basis = append(basis, string(r))
	}
	year := int(placementYear())
	details, err := detailsJSON.Marshal(&pb.EmploymentPlacement{PlacementYear: int32(year), Eligible: true,
		Channel: pb.PlacementChannel_PLACEMENT_CHANNEL_STATE_ENTERPRISE})
	if err != nil {
		return err
	}
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC().Truncate(time.Microsecond)

	// The transaction is begun by hand on one connection, as the server's
	// is, so that its last statement and COMMIT go in one pipeline.
	tx, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer tx.Release()
	if _, err := tx.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	defer func() {
		if tx.Conn().PgConn().TxStatus() != 'I' {
			_, _ = tx.Exec(context.Background(), "ROLLBACK")
		}
	}()
	var lockedID, lockedTown string
	if err := tx.QueryRow(ctx, sqlLockHouse, hid, 1).Scan(&lockedID, &lockedTown); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, sqlLockMember, mid, hid, 1).Scan(&lockedID); err != nil {
		return err
	}
	// One open case of a kind per member: the server reads whether one is.
	open, err := tx.Query(ctx, sqlOpenCase, mid, string(domain.KindEmploymentPlacement),
		"DRAFT", "SUBMITTED", "AWAITING_MATERIALS", "ACCEPTED", "IN_PROGRESS", id, 1)
	if err != nil {
		return err
	}
	open.Close()
	if err := open.Err(); err != nil {
		return err
	}
	// Last, as the server does: the audit head, which every writer of the
	// county waits on from here to COMMIT, then one statement.
	var (
		headID   int
		auditSeq int64
		prevHash string
	)
	if err := tx.QueryRow(ctx, sqlAuditLock, 1, 1).Scan(&headID, &auditSeq, &prevHash); err != nil {
		return err
	}
	e := &audit.Entry{Time: time.Now(), Principal: "bench", Roles: "supervisor,batch", Credential: "local-token",
		Method: "/casework.v1.CaseService/CreateCase", Resource: "cases/" + id, Action: audit.ActionChange,
		RequestID: uuid.Must(uuid.NewV7()).String(), ClientAddr: "127.0.0.1", Outcome: audit.OutcomeOK, Fields: "created"}
	if err := e.Seal(auditSeq, prevHash, b.keys); err != nil {
		return err
	}
	var (
		number    string
		historyID int64
		commit    pgx.Batch
	)
	commit.Queue(sqlCreateLocked, year, fmt.Sprintf("FD-%04d-", year),
		id, hid, mid, string(domain.KindEmploymentPlacement), string(details), year, string(domain.StatusDraft), "", town, int(p),
		strings.Join(names, ","), nil, "", "", "", strings.Join(basis, ","), "", "", "", "", "", "", "",
		"bench", "", int64(1), now, now, nil, nil, nil, nil, "", "", int64(0), 0,
		now, "bench", "CreateCase", "", string(domain.StatusDraft), "", "",
		e.Seq, e.Hash,
		e.Seq, e.Time, e.Principal, e.Roles, e.Credential, e.Method, e.Resource,
		e.Action, e.RequestID, e.ClientAddr, e.Outcome, e.Fields, e.PrevHash, e.KeyID, e.Hash,
		1, time.Now().UTC().Truncate(time.Microsecond), "CreateCase", "cases/"+id, "cases", "v1", "created").
		QueryRow(func(row pgx.Row) error { return row.Scan(&number, &historyID) })
	commit.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			return fmt.Errorf("create rolled back (%s)", tag)
		}
		return nil
	})
	return tx.SendBatch(ctx, &commit).Close()
}

func (b *bench) getCase(ctx context.Context, worker, i int) error {
	id := b.loaded.caseIDs[pick(worker, i, len(b.loaded.caseIDs))]
	c, err := b.cases.GetCase(b.authCtx(ctx), &pb.GetCaseRequest{Name: "cases/" + id.String()})
	if err != nil {
		return err
	}
	if c.GetCaseNumber() == "" {
		return errors.New("GetCase answered a case without a number")
	}
	return nil
}

// listPage is one page of the list benchmark: its token and, for the raw
// query, the keyset position the token holds.
type listPage struct {
	number   int
	token    string
	after    *pb.Case // the last case of the page before; nil on page 1
	pageSize int32
	query    statement // what the server sends for the page (recordList)
}

// walkTo follows next_page_token from page 1 to page n, or to the last
// page if there are fewer.
func (b *bench) walkTo(ctx context.Context, n int, size int32) (first, deep listPage, err error) {
	first = listPage{number: 1, pageSize: size}
	cur := first
	for cur.number < n {
		resp, err := b.cases.ListCases(b.authCtx(ctx), &pb.ListCasesRequest{Filter: listFilter, PageSize: size, PageToken: cur.token})
		if err != nil {
			return first, cur, err
		}
		cs := resp.GetCases()
		if resp.GetNextPageToken() == "" || len(cs) == 0 {
			break
		}
		cur = listPage{number: cur.number + 1, token: resp.GetNextPageToken(), after: cs[len(cs)-1], pageSize: size}
	}
	return first, cur, nil
}

func (b *bench) listGRPC(p listPage) op {
	return func(ctx context.Context, _, _ int) error {
		resp, err := b.cases.ListCases(b.authCtx(ctx), &pb.ListCasesRequest{Filter: listFilter, PageSize: p.pageSize, PageToken: p.token})
		if err != nil {
			return err
		}
		if int32(len(resp.GetCases())) != p.pageSize {
			return fmt.Errorf("ListCases page %d: %d cases, want %d", p.number, len(resp.GetCases()), p.pageSize)
		}
		return nil
	}
}

// listRaw runs the page's query, as the server sends it, directly, and
// reads every column of every row, as the server's scan into its rows does.
func (b *bench) listRaw(p listPage) op {
	return func(ctx context.Context, _, _ int) error {
		rows, err := b.pool.Query(ctx, p.query.SQL, p.query.Args...)
		if err != nil {
			return err
		}
		defer func() { rows.Close() }()
		n := 0
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n != int(p.pageSize)+1 && !(p.after != nil && n == int(p.pageSize)) {
			return fmt.Errorf("raw list page %d: %d rows, want %d", p.number, n, p.pageSize+1)
		}
		return nil
	}
}

// explain returns EXPLAIN (ANALYZE, BUFFERS) of the page's query, as a
// prepared statement with the page's values: the custom plan for these
// values, and the generic plan that PostgreSQL may switch a prepared
// statement to after five executions (the server's driver prepares every
// statement it sends).
func (b *bench) explain(ctx context.Context, p listPage) (string, error) {
	query, args := p.query.SQL, p.query.Args
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	types := make([]string, len(args))
	literals := make([]string, len(args))
	for i, a := range args {
		types[i] = pgType(a)
		switch v := a.(type) {
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case time.Time:
			literals[i] = "'" + v.UTC().Format(time.RFC3339Nano) + "'"
		case *time.Time:
			literals[i] = "'" + v.UTC().Format(time.RFC3339Nano) + "'"
		default:
			literals[i] = fmt.Sprint(v)
		}
	}
	// Sent as plain simple-protocol text: utility statements with the
	// values inline, and $n placeholders that belong to PREPARE.
	exec := func(q string) ([]string, error) {
		results, err := conn.Conn().PgConn().Exec(ctx, q).ReadAll()
		if err != nil {
			return nil, err
		}
		var lines []string
		for _, r := range results {
			for _, row := range r.Rows {
				if len(row) > 0 {
					lines = append(lines, string(row[0]))
				}
			}
		}
		return lines, nil
	}
	if _, err := exec("PREPARE bench_list (" + strings.Join(types, ", ") + ") AS " + query); err != nil {
		return "", err
	}
	defer func() {
		_, _ = conn.Conn().PgConn().Exec(context.Background(), "DEALLOCATE bench_list; RESET plan_cache_mode").ReadAll()
	}()
	var out strings.Builder
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		if _, err := exec("SET plan_cache_mode = " + mode); err != nil {
			return "", err
		}
		lines, err := exec("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_list (" + strings.Join(literals, ", ") + ")")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&out, "  plan_cache_mode = %s:\n", mode)
		for _, l := range lines {
			out.WriteString("    " + l + "\n")
		}
	}
	return out.String(), nil
}

// echoServer is a bare gRPC server with only the health service, on
// loopback: the floor of a unary gRPC call on this machine.
func echoServer() (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	go func() { _ = s.Serve(l) }()
	return l.Addr().String(), s.Stop, nil
}

func echoOp(client healthpb.HealthClient) op {
	return func(ctx context.Context, _, _ int) error {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health: %v", resp.GetStatus())
		}
		return nil
	}
}

// importResult is the batch import's outcome.
type importResult struct {
	Households int     `json:"households"` // asked for
	Imported   int     `json:"imported"`   // created before the end or the first failure
	BatchSize  int     `json:"batch_size"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	BatchP50ms float64 `json:"batch_p50_ms"`
	BatchP99ms float64 `json:"batch_p99_ms"`
	Error      string  `json:"error,omitempty"`
}

// batchImport posts n new households to households:batchCreate in batches,
// one after the other, as a nightly import job would, and stops at the
// first refused batch. The request bodies are built before the clock
// starts.
func (b *bench) batchImport(ctx context.Context, n, batch int) (importResult, error) {
	res := importResult{Households: n, BatchSize: batch}
	var bodies [][]byte
	for start := 0; start < n; start += batch {
		req := &pb.BatchCreateHouseholdsRequest{}
		for i := start; i < min(start+batch, n); i++ {
			h := b.county.newImportHousehold(i)
			req.Requests = append(req.Requests, &pb.CreateHouseholdRequest{Household: &pb.Household{
				Servicemember: &pb.Servicemember{Name: h.name, IdNumber: h.idNumber,
					ServiceBranch: pb.ServiceBranch(pb.ServiceBranch_value["SERVICE_BRANCH_"+h.branch]),
					RankCategory:  pb.RankCategory(pb.RankCategory_value["RANK_CATEGORY_"+h.rank]),
					PostType:      pb.PostType(pb.PostType_value["POST_TYPE_"+h.post]),
					Status:        pb.ServicememberStatus(pb.ServicememberStatus_value["SERVICEMEMBER_STATUS_"+string(h.status)]),
					Decorated:     h.decorated,
					Unit:          h.unit},
				Category: pb.HouseholdCategory(pb.HouseholdCategory_value["HOUSEHOLD_CATEGORY_"+h.category]),
				TownCode: towns[h.town].code, Address: h.address, Phone: h.phone,
				Hardship: h.hardship, HardshipNote: h.hardshipNote,
			}})
		}
		body, err := protojson.Marshal(req)
		if err != nil {
			return res, err
		}
		bodies = append(bodies, body)
	}
	lats := make([]time.Duration, 0, len(bodies))
	start := time.Now()
	var err error
	for i, body := range bodies {
		t := time.Now()
		if err = b.post(ctx, "/v1/households:batchCreate", body); err != nil {
			res.Error = fmt.Sprintf("batch %d of %d refused after %.1f s: %v", i+1, len(bodies), time.Since(t).Seconds(), err)
			break
		}
		lats = append(lats, time.Since(t))
		res.Imported += min(batch, n-i*batch)
	}
	took := time.Since(start)
	res.Seconds = took.Seconds()
	res.RowsPerSec = float64(res.Imported) / took.Seconds()
	res.BatchP50ms, res.BatchP99ms = percentile(lats, 0.5), percentile(lats, 0.99)
	return res, err
}

// verifyLoad reads bulk-loaded rows back through the API: sealed values
// must open to what was generated, blind indexes must find them, and cases
// must read as the server's own.
func (b *bench) verifyLoad(ctx context.Context) error {
	c := b.county
	h := &c.households[len(c.households)/2]
	got, err := b.households.GetHousehold(b.authCtx(ctx), &pb.GetHouseholdRequest{Name: "households/" + h.id.String(), View: pb.View_VIEW_FULL})
	if err != nil {
		return fmt.Errorf("GetHousehold of a loaded household: %w", err)
	}
	if got.GetServicemember().GetIdNumber() != h.idNumber || got.GetPhone() != h.phone || int(got.GetMemberCount()) != len(h.members) {
		return errors.New("a loaded household does not read back as generated (sealing or columns differ from the server's)")
	}
	for _, ref := range c.everyone[len(c.everyone)/3:] {
		hh, m := c.member(ref)
		if m.idNumber == "" {
			continue
		}
		found, err := b.households.LookupHousehold(b.authCtx(ctx), &pb.LookupHouseholdRequest{IdNumber: m.idNumber})
		if err != nil {
			return fmt.Errorf("LookupHousehold by a loaded member's ID number: %w", err)
		}
		if found.GetName() != "households/"+hh.id.String() {
			return errors.New("LookupHousehold found another household than the loaded member's")
		}
		break
	}
	sched := newSchedule(b.loaded.cases, c.now)
	i := b.loaded.cases - 1
	g := c.caseAt(sched, i)
	cs, err := b.cases.GetCase(b.authCtx(ctx), &pb.GetCaseRequest{Name: "cases/" + g.id.String()})
	if err != nil {
		return fmt.Errorf("GetCase of a loaded case: %w", err)
	}
	if cs.GetCaseNumber() != g.caseNumber || cs.GetEtag() != fmt.Sprintf("v%d", g.revision) ||
		cs.GetStatus().String() != "CASE_STATUS_"+string(g.status) {
		return fmt.Errorf("a loaded case reads back as %s %s %s, generated as %s v%d %s", cs.GetCaseNumber(), cs.GetEtag(),
			cs.GetStatus(), g.caseNumber, g.revision, g.status)
	}
	hist, err := b.cases.ListCaseHistory(b.authCtx(ctx), &pb.ListCaseHistoryRequest{Parent: "cases/" + g.id.String()})
	if err != nil {
		return fmt.Errorf("ListCaseHistory of a loaded case: %w", err)
	}
	if len(hist.GetEntries()) != len(g.history) {
		return fmt.Errorf("a loaded case has %d history entries, generated %d", len(hist.GetEntries()), len(g.history))
	}
	return nil
}
