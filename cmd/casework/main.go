// Command casework runs the casework server and its maintenance tasks.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

func main() {
	if err := root().Execute(); err != nil {
		os.Exit(1)
	}
}

func root() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "casework",
		Short:         "Casework for the county's services to military families",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	cmd.AddCommand(serveCmd(), migrateCmd())
	return cmd
}

func newLogger(s *settings) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func serveCmd() *cobra.Command {
	var s settings
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the gRPC and HTTP/JSON APIs",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := newLogger(&s)
			db, dialect, err := repository.Open(ctx, s.DatabaseURL, s.DataDir)
			if err != nil {
				return err
			}
			store := repository.New(db, dialect, repository.WithCaseNumberPrefix(s.CaseNumberPrefix))
			defer store.Close()
			if s.MigrateOnStart {
				if err := repository.Migrate(ctx, db, dialect, log); err != nil {
					return err
				}
			} else if err := checkMigrated(ctx, store, dialect); err != nil {
				return err
			}
			key, err := pageTokenKey(&s)
			if err != nil {
				return err
			}
			srv, err := server.New(server.Config{
				GRPCAddr:        s.GRPCAddr,
				HTTPAddr:        s.HTTPAddr,
				PageTokenKey:    key,
				RequestTimeout:  s.RequestTimeout,
				MaxRequestBytes: s.MaxRequestBytes,
			}, store, log)
			if err != nil {
				return err
			}
			log.Info("database", "dialect", string(dialect))
			return srv.Run(ctx)
		},
	}
	s.bind(cmd.Flags(), true)
	return cmd
}

func checkMigrated(ctx context.Context, store *repository.Store, dialect repository.Dialect) error {
	current, latest, err := store.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("database schema is at version %d, this server needs %d: run `casework migrate` or pass --migrate", current, latest)
	}
	return nil
}

// pageTokenKey returns the configured key, or one generated once and kept
// in the data directory, so that tokens survive a restart of a lone server.
func pageTokenKey(s *settings) ([]byte, error) {
	if s.PageTokenKey != "" {
		if len(s.PageTokenKey) < 32 {
			return nil, errors.New("--page-token-key must be at least 32 bytes")
		}
		return []byte(s.PageTokenKey), nil
	}
	path := filepath.Join(s.DataDir, "page-token.key")
	key, err := os.ReadFile(path)
	if err == nil && len(key) >= 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, key, 0o600)
}

func migrateCmd() *cobra.Command {
	var s settings
	cmd := &cobra.Command{
		Use:   "migrate [up|status]",
		Short: "Apply pending database migrations (up, the default) or show the schema version",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			log := newLogger(&s)
			db, dialect, err := repository.Open(ctx, s.DatabaseURL, s.DataDir)
			if err != nil {
				return err
			}
			store := repository.New(db, dialect)
			defer store.Close()
			action := "up"
			if len(args) == 1 {
				action = strings.ToLower(args[0])
			}
			switch action {
			case "up":
				return repository.Migrate(ctx, db, dialect, log)
			case "status":
				current, latest, err := store.MigrationStatus(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dialect %s: schema version %d, newest available %d\n", dialect, current, latest)
				return nil
			}
			return fmt.Errorf("unknown migrate action %q: use up or status", action)
		},
	}
	s.bind(cmd.Flags(), false)
	return cmd
}
