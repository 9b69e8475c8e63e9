package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/service"
)

// exportFlags are what an export subcommand is asked for besides its
// arguments.
type exportFlags struct {
	filter, orderBy, view string
}

// exportKind is one `casework export` subcommand: how its arguments and
// flags make the request, and the exporter that runs it.
type exportKind struct {
	use, short string
	// args is how many arguments it takes at most; minArgs at least.
	minArgs, args int
	// The flags it takes.
	filter, orderBy, view bool
	request               func(args []string, f exportFlags) (proto.Message, error)
	exporter              func(store service.ExportStore, t *towns.Table, o service.Options) service.Exporter
}

// exportKinds lists the exports the command line offers: one line each.
var exportKinds = []exportKind{
	{use: "households", short: "The household ledger (户台账), with members, contacts and assistance", filter: true, view: true,
		request: func(_ []string, f exportFlags) (proto.Message, error) {
			view, err := exportView(f.view)
			return &pb.ExportHouseholdsRequest{Filter: f.filter, View: view}, err
		}, exporter: service.NewHouseholdExporter},
	{use: "campaign NAME", short: "A campaign's coverage report (campaigns/ID or ID)", minArgs: 1, args: 1,
		request: func(args []string, _ exportFlags) (proto.Message, error) {
			name := args[0]
			if filepath.Dir(name) == "." {
				name = "campaigns/" + name
			}
			return &pb.ExportCampaignRequest{Name: name}, nil
		}, exporter: service.NewCampaignExporter},
	{use: "measures [PARENT]", short: "The preferential-measures ledger (惠军措施台账), of one organization or all", args: 1, filter: true,
		request: func(args []string, f exportFlags) (proto.Message, error) {
			parent := "organizations/-"
			if len(args) == 1 {
				parent = args[0]
			}
			return &pb.ExportMeasuresRequest{Parent: parent, Filter: f.filter}, nil
		}, exporter: service.NewMeasureExporter},
	{use: "cases", short: "The case ledger (案件台账), with the filter and order of the case list", filter: true, orderBy: true,
		request: func(_ []string, f exportFlags) (proto.Message, error) {
			return &pb.ExportCasesRequest{Filter: f.filter, OrderBy: f.orderBy}, nil
		}, exporter: service.NewCaseExporter},
}

func exportView(v string) (pb.View, error) {
	switch v {
	case "", "masked", "basic":
		return pb.View_VIEW_UNSPECIFIED, nil
	case "full":
		return pb.View_VIEW_FULL, nil
	}
	return 0, fmt.Errorf("--view %q: want full or masked", v)
}

// exportContext is the context an export runs in from the command line: a
// county-wide reader named after the operating-system user, as the audit
// log records it. A full view adds the supervisor's right to see numbers
// unmasked, which the export audits as the API does; whoever runs the
// command can read the database already, but the log says who looked.
func exportContext(ctx context.Context, command string, full bool) context.Context {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	roles := []principal.Role{principal.Auditor}
	if full {
		roles = append(roles, principal.Supervisor)
	}
	p := &principal.Principal{ID: "cli:" + name, Kind: principal.User, Roles: roles, Credential: "cli"}
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	ctx = audit.NewContext(principal.NewContext(ctx, p), &audit.Record{
		Principal: p.ID, Roles: strings.Join(rs, ","), Credential: "cli",
		Method: "casework " + command, RequestID: uuid.Must(uuid.NewV7()).String(),
	})
	return repository.WithScope(ctx, principal.Scope{All: true})
}

func exportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Write a ledger as an .xlsx workbook, as the API's exports do"}
	for _, k := range exportKinds {
		var (
			s   settings
			f   exportFlags
			out string
		)
		sub := &cobra.Command{
			Use:   k.use,
			Short: k.short,
			Args:  cobra.RangeArgs(k.minArgs, k.args),
			RunE: func(cmd *cobra.Command, args []string) error {
				if out == "" {
					return errors.New("-o FILE is required")
				}
				req, err := k.request(args, f)
				if err != nil {
					return err
				}
				command := "export " + cmd.Name()
				ctx := exportContext(cmd.Context(), command, f.view == "full")
				table := towns.Default()
				if s.TownsFile != "" {
					if table, err = towns.LoadFile(s.TownsFile); err != nil {
						return fmt.Errorf("--towns-file: %w", err)
					}
				}
				store, _, err := storeFor(ctx, &s, true)
				if err != nil {
					return err
				}
				defer func() { _ = store.Close() }()
				x := k.exporter(store, table, service.Options{
					MeasureReviewPeriod: time.Duration(s.MeasureReviewDays) * 24 * time.Hour,
				})
				if err := x.Check(ctx, req); err != nil {
					return err
				}
				return writeExport(ctx, cmd, x, req, out)
			},
		}
		if k.filter {
			sub.Flags().StringVar(&f.filter, "filter", "", "AIP-160 filter, as the list call takes it")
		}
		if k.orderBy {
			sub.Flags().StringVar(&f.orderBy, "order-by", "", "order, as the list call takes it")
		}
		if k.view {
			sub.Flags().StringVar(&f.view, "view", "", "full: ID and phone numbers unmasked (audited)")
		}
		sub.Flags().StringVarP(&out, "output", "o", "", "file to write the workbook to")
		s.bind(sub.Flags(), false)
		s.bindLedger(sub.Flags())
		cmd.AddCommand(sub)
	}
	return cmd
}

// writeExport writes the workbook next to out and renames it into place,
// so that a failed export leaves no half-written file under its name.
func writeExport(ctx context.Context, cmd *cobra.Command, x service.Exporter, req proto.Message, out string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".export-*.xlsx")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	name, rows, err := x.Export(ctx, req, tmp, func(service.Progress) {})
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%d rows written to %s (%s)\n", rows, out, name)
	return nil
}
