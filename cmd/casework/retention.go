package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/service"
)

func retentionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "retention", Short: "The retention schedule: what is kept how long, and its erasures (PIPL Arts 19, 47)"}
	var (
		s      settings
		dryRun bool
	)
	run := &cobra.Command{
		Use:   "run",
		Short: "Erase the personal data of households deleted longer ago than the schedule keeps them, and report what was done",
		Long: "Erases, batch by batch, the personal data of households deleted longer ago than --retention-deleted-household-days, " +
			"with their members', cases', notes', ledgers' and attachments', and of members deleted on their own with their cases, " +
			"keeping the rows as anonymous shells, and writes one " +
			"audit entry with the counts. A second run finds nothing to do. --dry-run counts what is due and changes nothing.",
		Example: "  casework retention run --dry-run --database-url postgres://…\n  casework retention run --database-url postgres://…",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			schedule, err := s.retention()
			if err != nil {
				return err
			}
			ctx := cliContext(cmd.Context(), "retention run")
			store, _, err := storeFor(ctx, &s, !dryRun)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			blobs, err := s.attachmentBlobs()
			if err != nil {
				return err
			}
			r := service.NewRetention(store, service.RetentionOptions{Schedule: schedule, Batch: s.RetentionBatch, Blobs: blobs})
			rep, err := r.Run(ctx, dryRun)
			printRetention(cmd.OutOrStdout(), schedule, rep)
			return err
		},
	}
	run.Flags().BoolVar(&dryRun, "dry-run", false, "count what is due and change nothing")
	s.bind(run.Flags(), false)
	s.bindRetention(run.Flags())
	s.bindAttachments(run.Flags())
	cmd.AddCommand(run)

	var ss settings
	show := &cobra.Command{
		Use:   "schedule",
		Short: "Print the retention schedule: each kind of record, how long it is kept, what then happens and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			schedule, err := ss.retention()
			if err != nil {
				return err
			}
			for _, r := range schedule {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s after %s; %s. Why: %s. Applied by %s.\n",
					r.Kind, period(r.Period), r.Starts, r.Action, r.Basis, r.AppliedBy)
			}
			return nil
		},
	}
	ss.bindRetention(show.Flags())
	cmd.AddCommand(show)
	return cmd
}

// period prints a period in days, the unit the schedule is set in.
func period(d time.Duration) string {
	if d <= 0 {
		return "kept for ever"
	}
	if d%domain.Day == 0 {
		return fmt.Sprintf("%d days", d/domain.Day)
	}
	return d.String()
}

// printRetention prints a run's report: counts by kind, no personal data.
func printRetention(w io.Writer, schedule domain.RetentionSchedule, rep service.RetentionReport) {
	k := domain.RetentionDeletedHouseholds
	switch {
	case rep.Off:
		fmt.Fprintf(w, "%s: kept for ever (--retention-deleted-household-days 0); nothing to do\n", k)
	case rep.DryRun:
		fmt.Fprintf(w, "%s: %d households and %d members deleted before %s due for erasure (dry run: nothing changed)\n",
			k, rep.Due, rep.DueMembers, rep.Cutoff.UTC().Format(time.RFC3339))
	default:
		e := rep.Erased
		fmt.Fprintf(w, "%s: %d households and %d members deleted before %s were due; erased %d households, %d members, %d cases, %d notes, "+
			"%d attachments, %d ledger rows, %d referrals\n", k, rep.Due, rep.DueMembers, rep.Cutoff.UTC().Format(time.RFC3339),
			e.Households, e.Members, e.Cases, e.Notes, e.Attachments, e.LedgerRows, e.Referrals)
	}
	c, ck := rep.Complaints, domain.RetentionClosedComplaints
	switch {
	case c.Off:
		fmt.Fprintf(w, "%s: kept for ever (--retention-closed-complaint-days 0); nothing to do\n", ck)
	case rep.DryRun:
		fmt.Fprintf(w, "%s: %d complaints closed before %s due for erasure (dry run: nothing changed)\n",
			ck, c.Due, c.Cutoff.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "%s: %d complaints closed before %s were due; erased %d complaints\n",
			ck, c.Due, c.Cutoff.UTC().Format(time.RFC3339), c.Erased)
	}
	for _, r := range schedule {
		if r.Kind != k && r.Kind != ck {
			fmt.Fprintf(w, "%s: %s, applied by %s\n", r.Kind, period(r.Period), r.AppliedBy)
		}
	}
}
