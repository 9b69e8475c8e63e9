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
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/sealed"
	"github.com/fengdu-county/casework/internal/tracing"

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
	cmd.AddCommand(serveCmd(), migrateCmd(), tokenCmd(), apiKeyCmd(), keysCmd(), auditCmd(), importCmd(), exportCmd(), retentionCmd())
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
			path := s.keyringPath()
			// Created before the database is touched: rows are sealed with it.
			if _, err := sealed.LoadOrCreate(path); err != nil {
				return fmt.Errorf("keyring: %w", err)
			}
			db, dialect, err := repository.Open(ctx, s.DatabaseURL, s.DataDir)
			if err != nil {
				return err
			}
			if s.MigrateOnStart {
				if err := repository.Migrate(ctx, db, dialect, log); err != nil {
					closeDB(db)
					return err
				}
			} else if err := checkMigrated(ctx, db, dialect); err != nil {
				closeDB(db)
				return err
			}
			if _, err := upgradeKeyring(ctx, path, db, log); err != nil {
				closeDB(db)
				return err
			}
			// Followed, so that a `keys rotate` elsewhere reaches this
			// server: data keys and audit keys alike.
			keys, err := sealed.Watch(path, keyringCheckInterval)
			if err != nil {
				closeDB(db)
				return fmt.Errorf("keyring: %w", err)
			}
			store := newStore(db, dialect, keys, &s)
			defer func() { _ = store.Close() }()
			// Rows written before encryption, or under a retired key, are
			// sealed under the active key before serving.
			n, err := store.Reseal(repository.WithScope(ctx, principal.Scope{All: true}), 500, nil)
			if err != nil {
				return fmt.Errorf("reseal: %w", err)
			}
			if n > 0 {
				log.Info("resealed sensitive fields", "rows", n, "key", keys.ActiveKeyID())
			}
			tokens, err := verifiers(ctx, &s)
			if err != nil {
				return err
			}
			tp, stopTracing, err := tracing.Setup(ctx, tracing.Config{Endpoint: s.OTLPEndpoint, SampleRatio: s.TraceSampleRatio})
			if err != nil {
				return err
			}
			// Flushed after the server has stopped, with its own time.
			defer func() {
				flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = stopTracing(flush)
			}()
			if s.OTLPEndpoint != "" {
				if err := tracing.Database(db, tp, string(dialect)); err != nil {
					return err
				}
			}
			key, err := pageTokenKey(&s)
			if err != nil {
				return err
			}
			webhooks, err := s.webhooks()
			if err != nil {
				return err
			}
			townTable := towns.Default()
			if s.TownsFile != "" {
				if townTable, err = towns.LoadFile(s.TownsFile); err != nil {
					return fmt.Errorf("--towns-file: %w", err)
				}
			}
			deadlines, err := s.deadlines(time.Now(), log)
			if err != nil {
				return err
			}
			attachmentBlobs, err := s.attachmentBlobs()
			if err != nil {
				return err
			}
			schedule, err := s.retention()
			if err != nil {
				return err
			}
			retentionEvery := s.RetentionEvery
			if retentionEvery == 0 {
				retentionEvery = -1 // the flag's 0 is "never", the server's "the default"
			}
			sweepEvery := s.OrphanSweepEvery
			if sweepEvery == 0 {
				sweepEvery = -1
			}
			srv, err := server.New(server.Config{
				GRPCAddr:              s.GRPCAddr,
				HTTPAddr:              s.HTTPAddr,
				PageTokenKey:          key,
				RequestTimeout:        s.RequestTimeout,
				MaxRequestBytes:       s.MaxRequestBytes,
				Tokens:                tokens,
				TLSCertFile:           s.TLSCert,
				TLSKeyFile:            s.TLSKey,
				TLSClientCAFile:       s.TLSClientCA,
				RateLimit:             s.RateLimit,
				RateBurst:             s.RateBurst,
				BatchRateLimit:        s.BatchRateLimit,
				BatchRateBurst:        s.BatchRateBurst,
				LimitStore:            s.RateLimitStore,
				RedisURL:              s.RedisURL,
				LookupsPerMinute:      lookupsPerMinute(s.LookupLimit),
				BatchLookupsPerMinute: s.BatchLookupLimit,
				StreamsPerPrincipal:   s.StreamsPerPrincipal,
				APIKeyPeopleRoles:     s.APIKeyPeopleRoles,
				Towns:                 townTable,
				EventRetention:        s.EventRetention,
				RequestIDTTL:          s.RequestIDTTL,
				JobRescueAfter:        s.JobRescueAfter,
				OperationFileTTL:      s.OperationFileTTL,
				AlertWindow:           s.AlertWindow,
				AlertScanEvery:        s.AlertScanEvery,
				Webhooks:              webhooks,
				WebhookCAFile:         s.WebhookCA,

				Deadlines:           deadlines,
				MaintenanceInterval: s.MaintenanceEvery,
				MeasureReviewPeriod: time.Duration(s.MeasureReviewDays) * 24 * time.Hour,

				AuditAnchorFile:     s.AuditAnchorFile,
				AuditAnchorInterval: s.AuditAnchorInterval,

				ShutdownDrain:      s.ShutdownDrain,
				ShutdownTimeout:    s.ShutdownTimeout,
				TracerProvider:     tp,
				AttachmentBlobs:    attachmentBlobs,
				AttachmentMaxBytes: int64(s.AttachmentMaxBytes),
				Retention:          schedule,
				RetentionEvery:     retentionEvery,
				RetentionBatch:     s.RetentionBatch,
				OrphanSweepEvery:   sweepEvery,
				OrphanGrace:        s.OrphanGrace,
			}, store, log)
			if err != nil {
				return err
			}
			if s.DebugAddr != "" {
				go serveDebug(ctx, s.DebugAddr, log)
			}
			log.Info("database", "dialect", string(dialect), "local_tokens", s.LocalTokens, "oidc", s.OIDCIssuer != "")
			return srv.Run(ctx)
		},
	}
	s.bind(cmd.Flags(), true)
	return cmd
}

// keyringCheckInterval is how often a server looks at its keyring file for
// keys another process added. A variable so that a test need not wait.
var keyringCheckInterval = 10 * time.Second

// newStore wraps an open database in a store sealing with keys.
func newStore(db *gorm.DB, dialect repository.Dialect, keys repository.Cipher, s *settings) *repository.Store {
	return repository.New(db, dialect, keys, repository.WithCaseNumberPrefix(s.CaseNumberPrefix))
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// upgradeKeyring gives a keyring file from before audit keys its first
// audit key, recording the audit chain's length now as where keying began,
// and returns the keyring as the file then holds it. Every command that
// writes audit entries runs it first, so a deployment upgrades itself on
// whichever comes first.
func upgradeKeyring(ctx context.Context, path string, db *gorm.DB, log *slog.Logger) (*sealed.Keyring, error) {
	var length int64
	keys, added, err := sealed.UpgradeAuditFile(path, func() (int64, error) {
		n, err := repository.AuditChainLength(ctx, db)
		length = n
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if added && log != nil {
		log.Info("keyring upgraded: audit entries are keyed from now on",
			"audit_key", keys.ActiveAuditKeyID(), "unkeyed_until", length)
	}
	return keys, nil
}

// verifiers builds the token verifiers the configuration asks for: the
// county's OIDC issuer, and the local development signer.
func verifiers(ctx context.Context, s *settings) (authn.Verifiers, error) {
	var out authn.Verifiers
	if s.OIDCIssuer != "" {
		if s.OIDCJWKSURL == "" {
			return nil, errors.New("--oidc-jwks-url is required with --oidc-issuer")
		}
		v, err := authn.NewOIDC(ctx, authn.OIDCConfig{
			Issuer: s.OIDCIssuer, Audience: s.OIDCAudience, JWKSURL: s.OIDCJWKSURL,
			UserClaim: s.OIDCUserClaim, RolesClaim: s.OIDCRolesClaim, TownsClaim: s.OIDCTownsClaim,
			ClockSkew: s.OIDCClockSkew,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if s.LocalTokens {
		signer, err := authn.LoadOrCreateLocalSigner(s.DataDir)
		if err != nil {
			return nil, err
		}
		out = append(out, signer.Verifier(time.Now))
	}
	return out, nil
}

func checkMigrated(ctx context.Context, db *gorm.DB, dialect repository.Dialect) error {
	current, latest, err := repository.MigrationStatus(ctx, db, dialect)
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
		Use:   "migrate [up|status|recount]",
		Short: "Apply pending database migrations (up, the default), show the schema version, or recount the statistics' monthly counts from the case facts",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			log := newLogger(&s)
			db, dialect, err := repository.Open(ctx, s.DatabaseURL, s.DataDir)
			if err != nil {
				return err
			}
			if sqlDB, err := db.DB(); err == nil {
				defer func() { _ = sqlDB.Close() }()
			}
			action := "up"
			if len(args) == 1 {
				action = strings.ToLower(args[0])
			}
			switch action {
			case "up":
				// The schema holds values sealed with the keyring, so the
				// keyring is created with it when none exists yet.
				if _, err := sealed.LoadOrCreate(s.keyringPath()); err != nil {
					return fmt.Errorf("keyring: %w", err)
				}
				return repository.Migrate(ctx, db, dialect, log)
			case "status":
				current, latest, err := repository.MigrationStatus(ctx, db, dialect)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dialect %s: schema version %d, newest available %d\n", dialect, current, latest)
				return nil
			case "recount":
				// After a rolling upgrade across 00027: replicas of the
				// release before it wrote facts without counting them.
				return repository.RebuildCaseCounts(ctx, db, dialect)
			}
			return fmt.Errorf("unknown migrate action %q: use up, status or recount", action)
		},
	}
	s.bind(cmd.Flags(), false)
	return cmd
}

// lookupsPerMinute turns the --lookup-limit flag, where 0 turns the budget
// off, into the server's setting, where 0 means the default.
func lookupsPerMinute(flag int) int {
	if flag <= 0 {
		return -1
	}
	return flag
}
