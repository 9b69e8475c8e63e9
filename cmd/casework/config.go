package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// settings is every setting of the casework command. Each flag has an
// environment variable; the flag wins when both are given. This table is the
// one list of them, and `casework help serve` prints it.
type settings struct {
	GRPCAddr         string
	HTTPAddr         string
	DatabaseURL      string
	DataDir          string
	MigrateOnStart   bool
	PageTokenKey     string
	CaseNumberPrefix string
	RequestTimeout   time.Duration
	MaxRequestBytes  int
	LogLevel         string
	LogFormat        string
}

func (s *settings) bind(fs *pflag.FlagSet, serve bool) {
	str(fs, &s.DatabaseURL, "database-url", "CASEWORK_DATABASE_URL", "",
		"postgres://… for PostgreSQL, or sqlite:PATH; empty uses the embedded SQLite database in --data-dir")
	str(fs, &s.DataDir, "data-dir", "CASEWORK_DATA_DIR", "data",
		"directory for the embedded database and generated keys")
	str(fs, &s.LogLevel, "log-level", "CASEWORK_LOG_LEVEL", "info", "debug, info, warn or error")
	str(fs, &s.LogFormat, "log-format", "CASEWORK_LOG_FORMAT", "json", "json or text")
	if !serve {
		return
	}
	str(fs, &s.GRPCAddr, "grpc-addr", "CASEWORK_GRPC_ADDR", ":9090", "gRPC listen address")
	str(fs, &s.HTTPAddr, "http-addr", "CASEWORK_HTTP_ADDR", ":8080", "HTTP/JSON listen address")
	boolean(fs, &s.MigrateOnStart, "migrate", "CASEWORK_MIGRATE", true,
		"apply pending database migrations before serving")
	str(fs, &s.PageTokenKey, "page-token-key", "CASEWORK_PAGE_TOKEN_KEY", "",
		"secret (32+ bytes) that signs page tokens; all servers of one deployment must share it. Empty: a key generated once in --data-dir")
	str(fs, &s.CaseNumberPrefix, "case-number-prefix", "CASEWORK_CASE_NUMBER_PREFIX", "FD", "prefix of case numbers (FD-2026-000042)")
	duration(fs, &s.RequestTimeout, "request-timeout", "CASEWORK_REQUEST_TIMEOUT", 30*time.Second, "longest time any request may run")
	integer(fs, &s.MaxRequestBytes, "max-request-bytes", "CASEWORK_MAX_REQUEST_BYTES", 4<<20, "largest request body or gRPC message accepted")
}

func env(name string) (string, bool) { return os.LookupEnv(name) }

func usage(help, envName string) string { return fmt.Sprintf("%s (env %s)", help, envName) }

func str(fs *pflag.FlagSet, p *string, name, envName, def, help string) {
	if v, ok := env(envName); ok {
		def = v
	}
	fs.StringVar(p, name, def, usage(help, envName))
}

func boolean(fs *pflag.FlagSet, p *bool, name, envName string, def bool, help string) {
	if v, ok := env(envName); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			def = b
		}
	}
	fs.BoolVar(p, name, def, usage(help, envName))
}

func duration(fs *pflag.FlagSet, p *time.Duration, name, envName string, def time.Duration, help string) {
	if v, ok := env(envName); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	fs.DurationVar(p, name, def, usage(help, envName))
}

func integer(fs *pflag.FlagSet, p *int, name, envName string, def int, help string) {
	if v, ok := env(envName); ok {
		if n, err := strconv.Atoi(v); err == nil {
			def = n
		}
	}
	fs.IntVar(p, name, def, usage(help, envName))
}
