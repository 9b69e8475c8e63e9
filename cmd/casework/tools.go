package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/repository"
)

// cliContext marks changes made from the command line in the audit log,
// under the operating-system user who ran the command.
func cliContext(ctx context.Context, command string) context.Context {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	ctx = audit.NewContext(ctx, &audit.Record{
		Principal: "cli:" + name, Roles: string(principal.Admin), Credential: "cli",
		Method: "casework " + command, RequestID: uuid.Must(uuid.NewV7()).String(),
	})
	return repository.WithScope(ctx, principal.Scope{All: true})
}

func parseRoles(list []string) ([]principal.Role, error) {
	var out []principal.Role
	for _, r := range list {
		role := principal.Role(strings.TrimSpace(r))
		if !role.Valid() {
			return nil, fmt.Errorf("unknown role %q", r)
		}
		out = append(out, role)
	}
	return out, nil
}

func tokenCmd() *cobra.Command {
	var (
		s      settings
		who    string
		roles  []string
		towns  []string
		ttl    time.Duration
		newKey bool
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a short-lived development token signed with the local key in --data-dir",
		Example: "  casework token --user caseworker-01 --roles caseworker --towns 500230001\n" +
			"  curl -H \"Authorization: Bearer $(casework token --user sup --roles supervisor)\" localhost:8080/v1/cases",
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := parseRoles(roles)
			if err != nil {
				return err
			}
			dir, _ := filepath.Abs(s.DataDir)
			load := authn.LoadLocalSigner
			if newKey {
				load = authn.LoadOrCreateLocalSigner
			}
			signer, err := load(s.DataDir)
			if errors.Is(err, fs.ErrNotExist) {
				// A new key here would sign tokens the server refuses: it
				// knows only the key in its own data directory.
				return fmt.Errorf("no local signing key in %s: the server creates it on its first start; "+
					"run this command with the server's --data-dir (or CASEWORK_DATA_DIR), or --new-key to create one", dir)
			}
			if err != nil {
				return err
			}
			tok, err := signer.Mint(who, rs, towns, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	s.bind(cmd.Flags(), false)
	cmd.Flags().StringVar(&who, "user", "dev", "user id (the token's subject)")
	cmd.Flags().StringSliceVar(&roles, "roles", []string{string(principal.Caseworker)}, "roles: caseworker, supervisor, auditor, admin, integration, batch")
	cmd.Flags().StringSliceVar(&towns, "towns", nil, "town codes a caseworker may see")
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "lifetime, at most 24h")
	cmd.Flags().BoolVar(&newKey, "new-key", false, "create the local signing key in --data-dir if there is none (the server creates it on its first start)")
	return cmd
}

// storeFor opens the store for an operator command, with the keyring file
// as it is now. Commands that write audit entries pass upgrade, giving a
// keyring from before audit keys its first one; `audit verify` only reads.
func storeFor(ctx context.Context, s *settings, upgrade bool) (*repository.Store, *sealed.Keyring, error) {
	path := s.keyringPath()
	// Loaded before the database is opened, so a mistyped path does not
	// leave an empty embedded database behind.
	keys, err := sealed.Load(path)
	if err != nil {
		return nil, nil, fmt.Errorf("keyring: %w", err)
	}
	db, dialect, err := repository.Open(ctx, s.DatabaseURL, s.DataDir)
	if err != nil {
		return nil, nil, err
	}
	if upgrade {
		if keys, err = upgradeKeyring(ctx, path, db, nil); err != nil {
			closeDB(db)
			return nil, nil, err
		}
	}
	return newStore(db, dialect, keys, s), keys, nil
}

func apiKeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys of systems (create, list, revoke)"}
	var (
		s       settings
		account string
		roles   []string
		towns   []string
		ttl     time.Duration
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a key; its secret is printed once and never stored",
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := parseRoles(roles)
			if err != nil {
				return err
			}
			if len(rs) == 0 || account == "" {
				return errors.New("--account and --roles are required")
			}
			// The command line grants what an admin may grant through the API,
			// no more: its user can already write the database, but a key is
			// a credential others will hold.
			needsApproval, err := policy.KeyNeedsApproval(rs, s.APIKeyPeopleRoles)
			if err != nil {
				return err
			}
			ctx := cliContext(cmd.Context(), "apikey create")
			store, _, err := storeFor(ctx, &s, true)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			id, secret, full, err := authn.NewAPIKey()
			if err != nil {
				return err
			}
			k := &repository.APIKey{ID: id, Account: account, Roles: rs, Towns: towns,
				SecretHash: authn.HashSecret(secret), ExpireTime: time.Now().Add(ttl), Creator: audit.FromContext(ctx).Principal,
				NeedsApproval: needsApproval}
			if err := store.CreateAPIKey(ctx, k); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "name: apiKeys/%s\naccount: %s\nexpires: %s\nkey (shown once): %s\n",
				k.ID, k.Account, k.ExpireTime.Format(time.RFC3339), full)
			if needsApproval {
				fmt.Fprintf(cmd.OutOrStdout(), "state: awaiting approval; an admin must POST /v1/apiKeys/%s:approve before it works\n", k.ID)
			}
			return nil
		},
	}
	create.Flags().StringVar(&account, "account", "", "account name, e.g. veterans-affairs")
	create.Flags().StringSliceVar(&roles, "roles", nil, "roles: integration or batch (people's roles only with --api-key-people-roles, and then after a second admin's approval)")
	create.Flags().StringSliceVar(&towns, "towns", nil, "town codes the key is limited to")
	create.Flags().DurationVar(&ttl, "ttl", 365*24*time.Hour, "lifetime")
	list := &cobra.Command{
		Use:   "list",
		Short: "List keys (never their secrets)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cliContext(cmd.Context(), "apikey list")
			store, _, err := storeFor(ctx, &s, true)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			page := repository.Page{Size: repository.MaxPageSize}
			for {
				keys, next, err := store.ListAPIKeys(ctx, page)
				if err != nil {
					return err
				}
				for _, k := range keys {
					state := "live"
					switch {
					case k.RevokeTime != nil:
						state = "revoked " + k.RevokeTime.Format(time.RFC3339)
					case k.NeedsApproval && k.ApproveTime == nil:
						state = "awaiting approval"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "apiKeys/%s\t%s\t%s\ttowns=%s\texpires=%s\t%s\n",
						k.ID, k.Account, k.Roles, k.Towns, k.ExpireTime.Format(time.RFC3339), state)
				}
				if next == nil {
					return nil
				}
				page.After = next
			}
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cliContext(cmd.Context(), "apikey revoke")
			store, _, err := storeFor(ctx, &s, true)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			id := args[0]
			if n, err := names.As[names.APIKey](id); err == nil {
				id = n.ID
			}
			k, err := store.RevokeAPIKey(ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked apiKeys/%s (%s)\n", k.ID, k.Account)
			return nil
		},
	}
	for _, c := range []*cobra.Command{create, list, revoke} {
		s.bind(c.Flags(), false)
		cmd.AddCommand(c)
	}
	return cmd
}

func keysCmd() *cobra.Command {
	var (
		s     settings
		batch int
	)
	cmd := &cobra.Command{Use: "keys", Short: "Manage the keys that seal sensitive fields"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new active data key and audit key, and re-encrypt every value under older keys, in batches",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cliContext(cmd.Context(), "keys rotate")
			path := s.keyringPath()
			store, keys, err := storeFor(ctx, &s, true)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			id, err := keys.Rotate()
			if err != nil {
				return err
			}
			auditID, err := keys.RotateAuditKey()
			if err != nil {
				return err
			}
			// Saved before any row or audit entry uses the new keys, so
			// running servers (which reload the file) can open every value
			// and verify every entry written from now.
			if err := keys.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new active key %s and audit key %s written to %s\n", id, auditID, path)
			n, err := store.Reseal(ctx, batch, func(p repository.ResealProgress) {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s: %d rows re-encrypted\n", p.Table, p.Done)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "done: %d rows re-encrypted under %s\n", n, id)
			return nil
		},
	}
	rotate.Flags().IntVar(&batch, "batch", 500, "rows per transaction")
	s.bind(rotate.Flags(), false)
	cmd.AddCommand(rotate)
	return cmd
}

func auditCmd() *cobra.Command {
	var (
		s       settings
		anchors string
	)
	cmd := &cobra.Command{Use: "audit", Short: "Work with the audit log"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the audit hash chain and name the first broken link; with --anchor, hold it to recorded anchors",
		Example: "  casework audit verify --database-url postgres://…\n" +
			"  casework audit verify --anchor /var/lib/casework/audit-anchors.jsonl",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cliContext(cmd.Context(), "audit verify")
			// Read first: a missing anchor file is a mistake to report before
			// anything else.
			var recorded []audit.Anchor
			if anchors != "" {
				f, err := os.Open(anchors)
				if err != nil {
					return err
				}
				recorded, err = audit.ReadAnchors(f)
				_ = f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", anchors, err)
				}
			}
			store, _, err := storeFor(ctx, &s, false)
			if err != nil {
				return err
			}
			defer func() { _ = store.Close() }()
			out := cmd.OutOrStdout()
			var failed []string
			n, err := store.VerifyAudit(ctx)
			var broken *audit.BrokenLinkError
			switch {
			case errors.As(err, &broken):
				fmt.Fprintf(out, "%v (%d entries before it are intact)\n", broken, n)
				failed = append(failed, "audit chain broken")
			case err != nil:
				return err
			default:
				fmt.Fprintf(out, "audit chain intact: %d entries\n", n)
			}
			if anchors != "" {
				bad, err := store.CheckAuditAnchors(ctx, recorded)
				if err != nil {
					return err
				}
				for _, b := range bad {
					fmt.Fprintln(out, b)
				}
				if len(bad) > 0 {
					failed = append(failed, fmt.Sprintf("%d of %d anchors do not match the audit log", len(bad), len(recorded)))
				} else {
					fmt.Fprintf(out, "anchors: all %d match\n", len(recorded))
				}
			}
			if len(failed) > 0 {
				return errors.New(strings.Join(failed, "; "))
			}
			return nil
		},
	}
	verify.Flags().StringVar(&anchors, "anchor", "",
		"anchor file the server wrote (--audit-anchor-file): report a history rewritten or cut short since")
	s.bind(verify.Flags(), false)
	cmd.AddCommand(verify)
	return cmd
}
