package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// loaded is what the measurements need to know about the bulk fixture.
type loaded struct {
	households, members, cases, history int
	caseIDs                             []uuid.UUID
	took                                time.Duration
}

// loadCounty writes the county straight into the server's tables with
// COPY: rows exactly as the server writes them through the API (sealed ID
// and phone numbers with their blind indexes, case numbers from the year's
// sequence, one history row per change), but without audit-log or
// change-feed entries, which only the measured API calls write.
func loadCounty(ctx context.Context, dbURL string, keys *sealed.Keyring, c *county, nCases int, logf func(string, ...any)) (*loaded, error) {
	start := time.Now()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	out := &loaded{households: len(c.households)}

	// Sealed by the repository's own code, so the rows are what the server
	// writes; a value sealed under another column's context would not open,
	// and the load is checked through the API after it (verifyLoad).
	// The name goes in too: the duplicate-check indexes (migration 00019)
	// are computed from it. Without them every server started on the load
	// would first reseal every row (Store.Reseal), for minutes at scale.
	sealHousehold := func(name, idNumber, phone string) repository.Household {
		r := repository.Household{ServicememberName: name, ServicememberIDNumber: idNumber, Phone: phone}
		if err := repository.SealHousehold(keys, &r); err != nil {
			panic(err) // the keyring has an active key: sealing cannot fail but for entropy
		}
		return r
	}
	sealMember := func(name string, birth time.Time, idNumber, phone string) repository.Member {
		r := repository.Member{DisplayName: name, BirthDate: birth, IDNumber: idNumber, Phone: phone}
		if err := repository.SealMember(keys, &r); err != nil {
			panic(err)
		}
		return r
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"households"}, []string{"id", "servicemember_name",
		"servicemember_id_number", "servicemember_id_index", "service_branch", "rank_category", "post_type", "unit",
		"category", "town_code", "address", "phone", "hardship", "hardship_note", "revision", "create_time",
		"update_time", "delete_time", "servicemember_status", "decorated", "next_contact_due", "name_birth_index", "name_phone_index"},
		pgx.CopyFromSlice(len(c.households), func(i int) ([]any, error) {
			h := &c.households[i]
			sealed := sealHousehold(h.name, h.idNumber, h.phone)
			return []any{h.id.String(), h.name, sealed.ServicememberIDNumber, sealed.ServicememberIDIndex,
				h.branch, h.rank, h.post, h.unit, h.category, towns[h.town].code, h.address, sealed.Phone,
				h.hardship, h.hardshipNote, int64(1), h.created, h.created, nil,
				string(h.status), h.decorated, nextContactDue(h), sealed.NameBirthIndex, sealed.NamePhoneIndex}, nil
		}))
	if err != nil {
		return nil, fmt.Errorf("copy households: %w", err)
	}
	logf("  %d households", n)

	refs := c.everyone
	n, err = conn.CopyFrom(ctx, pgx.Identifier{"members"}, []string{"id", "household_id", "relation", "display_name",
		"id_number", "id_number_index", "birth_date", "phone", "accompanying", "revision", "create_time", "update_time",
		"delete_time", "name_birth_index", "name_phone_index"},
		pgx.CopyFromSlice(len(refs), func(i int) ([]any, error) {
			h, m := c.member(refs[i])
			sealed := sealMember(m.name, m.birth, m.idNumber, m.phone)
			return []any{m.id.String(), h.id.String(), string(m.relation), m.name, sealed.IDNumber,
				sealed.IDNumberIndex, m.birth, sealed.Phone, m.accompanying,
				int64(1), m.created, m.created, nil, sealed.NameBirthIndex, sealed.NamePhoneIndex}, nil
		}))
	if err != nil {
		return nil, fmt.Errorf("copy members: %w", err)
	}
	out.members = int(n)
	logf("  %d members", n)

	sched := newSchedule(nCases, c.now)
	out.caseIDs = make([]uuid.UUID, nCases)
	n, err = conn.CopyFrom(ctx, pgx.Identifier{"cases"}, []string{"id", "case_number", "household_id", "subject_id",
		"kind", "details", "placement_year", "status", "assignee", "town_code", "priority", "priority_reasons",
		"due_time", "outcome_result", "outcome_summary", "status_reason", "creator", "revision", "create_time",
		"update_time", "submit_time", "resolve_time"},
		pgx.CopyFromSlice(nCases, func(i int) ([]any, error) {
			g := c.caseAt(sched, i)
			out.caseIDs[i] = g.id
			var placement any
			if g.placementYear != nil {
				placement = int32(*g.placementYear)
			}
			return []any{g.id.String(), g.caseNumber, g.household.id.String(), g.subject.id.String(), string(g.kind),
				g.details, placement, string(g.status), g.assignee, towns[g.household.town].code, int32(g.priority),
				g.priorityReasons, optTime(g.dueTime), g.outcomeResult, g.outcomeSummary, g.statusReason, g.creator,
				g.revision, g.createTime, g.updateTime, optTime(g.submitTime), optTime(g.resolveTime)}, nil
		}))
	if err != nil {
		return nil, fmt.Errorf("copy cases: %w", err)
	}
	out.cases = int(n)
	logf("  %d cases", n)

	n, err = conn.CopyFrom(ctx, pgx.Identifier{"case_history"}, []string{"case_id", "time", "actor", "method",
		"from_status", "to_status", "changed_fields", "reason"}, &historySource{c: c, sched: sched, n: nCases})
	if err != nil {
		return nil, fmt.Errorf("copy case history: %w", err)
	}
	out.history = int(n)
	logf("  %d history entries", n)

	// The year's sequence continues after the loaded cases, so cases the
	// benchmark creates get the numbers the server would hand out next.
	for y, first := range sched.firstOf {
		last := int64(sched.lastOf[y] - first + 1)
		if _, err := conn.Exec(ctx, `INSERT INTO case_number_sequences (year, last_value) VALUES ($1, $2)
			ON CONFLICT (year) DO UPDATE SET last_value = GREATEST(case_number_sequences.last_value, EXCLUDED.last_value)`, y, last); err != nil {
			return nil, err
		}
	}
	// A county's database has been vacuumed and analysed long before anyone
	// measures it: hint bits and the visibility map set, statistics fresh.
	for _, t := range []string{"households", "members", "cases", "case_history", "case_number_sequences"} {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return nil, err
		}
	}
	// And the load's dirty pages are on disk, so that a checkpoint does
	// not write them out in the middle of a measurement. Only a superuser
	// (or pg_checkpoint) may; without it the run goes on.
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		logf("  no CHECKPOINT after the load (%v): the first measurements may share the disk with it", err)
	}
	out.took = time.Since(start)
	return out, nil
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// historySource streams the history of every case, regenerating each case
// from its index instead of keeping all of them.
type historySource struct {
	c     *county
	sched *caseSchedule
	n     int
	i     int
	cur   *generated
	j     int
}

func (s *historySource) Next() bool {
	for s.cur == nil || s.j >= len(s.cur.history) {
		if s.i >= s.n {
			return false
		}
		s.cur, s.j = s.c.caseAt(s.sched, s.i), 0
		s.i++
	}
	s.j++
	return true
}

func (s *historySource) Values() ([]any, error) {
	h := s.cur.history[s.j-1]
	return []any{s.cur.id.String(), h.time, h.actor, h.method, h.from, h.to, h.fields, h.note}, nil
}

func (s *historySource) Err() error { return nil }

// countListed counts the rows the list benchmark's filter matches.
func countListed(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, "SELECT count(*) FROM cases WHERE town_code = $1 AND status = $2 AND kind = $3",
		listTown, listStatus, string(domain.KindSchoolEnrollment)).Scan(&n)
	return n, err
}

// nextContactDue is what the store computes for a household with no
// contact yet under the default policy: registered in 2019 or 2020, every
// household of a class is overdue, which is the list at its longest.
func nextContactDue(h *household) any {
	due := domain.DefaultContactPolicy.NextContactDue(domain.PostType(h.post), h.hardship, "", h.created)
	if due == "" {
		return nil
	}
	return due
}
