package main

import (
	"context"
	"errors"
	"fmt"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// Bulk assignment and workloads (issue 14): BatchAssignCases of 500 loaded
// cases, turn about to two directory entries so that every call changes
// every case, and GetAssigneeWorkload of the loaded caseworkers.
const (
	nameBatchAssign = "BatchAssignCases gRPC"
	nameWorkload    = "GetAssigneeWorkload gRPC"
	batchAssignSize = 500
)

func runAssign(ctx context.Context, b *bench, rep *report, server func(string, int, op) result, add func(result)) error {
	logf("assignment: the directory, a batch of %d cases, workloads", batchAssignSize)
	dir := pb.NewAssigneeServiceClient(b.conn)
	var all []string
	for _, t := range towns {
		all = append(all, t.code)
	}
	for _, id := range []string{"bench-a", "bench-b"} {
		if _, err := dir.CreateAssignee(b.authCtx(ctx), &pb.CreateAssigneeRequest{AssigneeId: id,
			Assignee: &pb.Assignee{DisplayName: id, TownCodes: all}}); err != nil {
			return fmt.Errorf("CreateAssignee: %w", err)
		}
	}
	// The loaded caseworkers with the most open cases, entered in the
	// directory so that their workload can be read.
	rows, err := b.pool.Query(ctx, `SELECT assignee FROM cases WHERE assignee LIKE 'caseworker-%'
AND status IN ('SUBMITTED','ACCEPTED','IN_PROGRESS') GROUP BY assignee ORDER BY COUNT(*) DESC LIMIT 8`)
	if err != nil {
		return err
	}
	var workers []string
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return err
		}
		workers = append(workers, w)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, w := range workers {
		if _, err := dir.CreateAssignee(b.authCtx(ctx), &pb.CreateAssigneeRequest{AssigneeId: w,
			Assignee: &pb.Assignee{DisplayName: w, TownCodes: all}}); err != nil {
			return fmt.Errorf("CreateAssignee %s: %w", w, err)
		}
	}
	if len(workers) == 0 {
		return errors.New("no loaded case has a caseworker")
	}
	batch, err := b.assignable(ctx)
	if err != nil {
		return err
	}
	rep.AssignBatch = len(batch)
	add(server(nameBatchAssign, 1, func(ctx context.Context, _, i int) error {
		to := []string{"assignees/bench-a", "assignees/bench-b"}[i%2]
		resp, err := b.cases.BatchAssignCases(b.authCtx(ctx), &pb.BatchAssignCasesRequest{Assignee: to, Requests: batch})
		if err == nil && len(resp.GetCases()) != len(batch) {
			err = fmt.Errorf("BatchAssignCases answered %d cases", len(resp.GetCases()))
		}
		return err
	}))
	add(server(nameWorkload, rep.ReadClients, func(ctx context.Context, worker, i int) error {
		w := workers[pick(worker, i, len(workers))]
		_, err := dir.GetAssigneeWorkload(b.authCtx(ctx), &pb.GetAssigneeWorkloadRequest{Name: "assignees/" + w + "/workload"})
		return err
	}))
	return nil
}

// assignable picks 500 loaded cases in statuses that may be assigned, or
// as many as there are (smoke's county has about a hundred).
func (b *bench) assignable(ctx context.Context) ([]*pb.CaseAssignment, error) {
	rows, err := b.pool.Query(ctx, `SELECT id FROM cases WHERE status IN ('SUBMITTED','ACCEPTED','IN_PROGRESS') ORDER BY id LIMIT $1`, batchAssignSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pb.CaseAssignment
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, &pb.CaseAssignment{Name: "cases/" + id})
	}
	if len(out) == 0 {
		return nil, errors.New("no loaded case may be assigned")
	}
	return out, rows.Err()
}

// assignRatios are the assignment figures against issue 14's targets.
func (r *report) assignRatios() []ratio {
	var out []ratio
	if a := r.find(nameBatchAssign, 0); a != nil {
		out = append(out, ratio{fmt.Sprintf("BatchAssignCases of %d cases, p99 (ms)", r.AssignBatch), a.P99ms, "< 1000 ms", a.P99ms < 1000})
	}
	if w := r.find(nameWorkload, 0); w != nil {
		out = append(out, ratio{"GetAssigneeWorkload p99 (ms)", w.P99ms, "< 100 ms", w.P99ms < 100})
	}
	return out
}
