package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"

	"buf.build/go/protovalidate"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/service"
)

// importContext is a county-wide call by the operating-system user under
// the batch role, the role nightly imports run with: the audit log and the
// households' history say who imported.
func importContext(ctx context.Context) context.Context {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	p := &principal.Principal{ID: "cli:" + name, Kind: principal.User, Roles: []principal.Role{principal.Batch}}
	ctx = principal.NewContext(ctx, p)
	ctx = audit.NewContext(ctx, &audit.Record{
		Principal: p.ID, Roles: string(principal.Batch), Credential: "cli",
		Method: "casework import", RequestID: uuid.Must(uuid.NewV7()).String(),
	})
	return repository.WithScope(ctx, principal.Scope{All: true})
}

func importCmd() *cobra.Command {
	var (
		s         settings
		dryRun    bool
		validRows bool
		report    string
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import households and members from the household template (.xlsx) or a .csv of one of its sheets",
		Long: "Checks every row as the API's ImportHouseholds does, then writes the good rows to the configured\n" +
			"database. A file with bad rows writes nothing unless --import-valid-rows; rows equal to what is\n" +
			"stored are left alone. Every bad row is listed (never its cells); the exit status is non-zero\n" +
			"when any row was refused.",
		Example: "  casework import 三合街道.xlsx --dry-run\n  casework import members.csv --database-url postgres://…",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			ctx := importContext(cmd.Context())
			townTable := towns.Default()
			if s.TownsFile != "" {
				if townTable, err = towns.LoadFile(s.TownsFile); err != nil {
					return fmt.Errorf("--towns-file: %w", err)
				}
			}
			store, _, err := storeFor(ctx, &s, true)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			v, err := protovalidate.New()
			if err != nil {
				return err
			}
			// Page tokens never leave this process: any key will do.
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			households := service.NewHouseholds(store, townTable, v, service.Options{PageTokenKey: key,
				Actor: func(ctx context.Context) string { return principal.FromContext(ctx).ID }})
			im := service.NewHouseholdImport(households)
			req := &pb.ImportHouseholdsRequest{Content: data, Filename: args[0], ValidateOnly: dryRun, ImportValidRows: validRows}
			if err := im.Check(ctx, req); err != nil {
				return err
			}
			var w io.Writer
			if report != "" {
				out, err := os.Create(report)
				if err != nil {
					return err
				}
				defer func() { _ = out.Close() }()
				w = out
			}
			resp, name, err := im.Run(ctx, req, w, nil)
			var refused *apierr.Error
			if err != nil && !(errors.As(err, &refused) && refused.Reason() == pb.ErrorReason_IMPORT_ROWS_REFUSED) {
				return err
			}
			printImport(cmd, resp)
			if report != "" && name == "" {
				_ = os.Remove(report) // nothing to report
			}
			switch {
			case resp.GetRowsRefused() > 0 && err != nil:
				return fmt.Errorf("%d rows refused: nothing was imported", resp.GetRowsRefused())
			case resp.GetRowsRefused() > 0:
				return fmt.Errorf("%d rows refused", resp.GetRowsRefused())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check every row and report, writing nothing")
	cmd.Flags().BoolVar(&validRows, "import-valid-rows", false, "when some rows are bad, import the good ones anyway")
	cmd.Flags().StringVar(&report, "report", "", "write the refused rows to this .xlsx file")
	s.bind(cmd.Flags(), false)
	return cmd
}

func printImport(cmd *cobra.Command, r *pb.ImportHouseholdsResponse) {
	out := cmd.OutOrStdout()
	mode := ""
	if r.GetValidateOnly() {
		mode = " (dry run: nothing written)"
	}
	fmt.Fprintf(out, "read %d household rows and %d member rows%s\n", r.GetHouseholdRows(), r.GetMemberRows(), mode)
	fmt.Fprintf(out, "households: %d created, %d updated, %d unchanged\n", r.GetHouseholdsCreated(), r.GetHouseholdsUpdated(), r.GetHouseholdsUnchanged())
	fmt.Fprintf(out, "members: %d created, %d updated, %d unchanged\n", r.GetMembersCreated(), r.GetMembersUpdated(), r.GetMembersUnchanged())
	fmt.Fprintf(out, "rows refused: %d\n", r.GetRowsRefused())
	for _, e := range r.GetErrors() {
		fmt.Fprintf(out, "  %s row %d", e.GetSheet(), e.GetRow())
		if e.GetColumn() != "" {
			fmt.Fprintf(out, ", %s", e.GetColumn())
		}
		fmt.Fprintf(out, ": %s: %s\n", e.GetReason(), e.GetMessage())
	}
	if n := int(r.GetRowsRefused()); len(r.GetErrors()) == 1000 && n > 0 {
		fmt.Fprintln(out, "  (the first 1000 errors; --report lists them all)")
	}
}
