package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// moduleRoot is the directory of the casework module, where the server is
// built from.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the benchmark from inside the casework module")
	}
	return filepath.Dir(mod), nil
}

// buildServer builds the casework binary as a user would.
func buildServer(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "casework")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/casework")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/casework: %w\n%s", err, out)
	}
	return bin, nil
}

// revision names the source the server was built from: the git commit,
// "-dirty" when the working tree has changes. Other people's edits land in
// the same checkout, so figures are tied to what was measured.
func revision() string {
	root, err := moduleRoot()
	if err != nil {
		return "unknown"
	}
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	return strings.TrimSpace(string(out))
}

// database is the benchmark's own PostgreSQL database.
type database struct {
	admin string // URL of the database it was created from
	name  string
	url   string
}

// createDatabase makes a fresh database next to the one adminURL names.
func createDatabase(ctx context.Context, adminURL string) (*database, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, fmt.Errorf("-database-url: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	name := "casework_bench_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, err
	}
	u.Path = "/" + name
	return &database{admin: adminURL, name: name, url: u.String()}, nil
}

func (d *database) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.name}.Sanitize()+" WITH (FORCE)")
	return err
}

// serverProcess is the casework server running as a child process.
type serverProcess struct {
	bin, dataDir, dbURL string
	grpcAddr, httpAddr  string
	debugAddr           string // pprof, when asked for
	cmd                 *exec.Cmd
	logPath             string
	exited              chan struct{}
	exitErr             error
}

// freePort asks the kernel for a free loopback port. The server binds it a
// moment later; a clash in between fails the start loudly, not silently.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// migrate runs `casework migrate`, which also creates the keyring.
func migrate(ctx context.Context, bin, dataDir, dbURL string) error {
	cmd := exec.CommandContext(ctx, bin, "migrate", "--database-url", dbURL, "--data-dir", dataDir, "--log-level", "warn")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("casework migrate: %w\n%s", err, out)
	}
	return nil
}

// startServer runs `casework serve` and waits until it is ready. With
// debug, the server also serves its pprof profiles on a loopback port.
func startServer(ctx context.Context, bin, dataDir, dbURL string, debug bool) (*serverProcess, error) {
	return startServerWith(ctx, bin, dataDir, dbURL, serveOptions{debug: debug, log: "server.log"})
}

// serveOptions are what differs between the servers of one run: the
// replicas (replicas.go) share the binary, the database and the data
// directory's keys, and differ in ports, log file and environment.
type serveOptions struct {
	debug bool
	log   string   // file name in the data directory
	env   []string // added to the benchmark's environment (GOMAXPROCS=…)
	args  []string // added to serve's flags
}

func startServerWith(ctx context.Context, bin, dataDir, dbURL string, o serveOptions) (*serverProcess, error) {
	grpcAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	httpAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &serverProcess{bin: bin, dataDir: dataDir, dbURL: dbURL, grpcAddr: grpcAddr, httpAddr: httpAddr,
		logPath: filepath.Join(dataDir, o.log), exited: make(chan struct{})}
	// No drain on stop: no load balancer is watching its readiness, and
	// the run should not wait for one.
	args := []string{"serve", "--database-url", dbURL, "--grpc-addr", grpcAddr, "--http-addr", httpAddr,
		"--data-dir", dataDir, "--rate-limit", "0", "--log-level", "warn", "--shutdown-drain", "0s"}
	args = append(args, o.args...)
	if o.debug {
		if s.debugAddr, err = freePort(); err != nil {
			return nil, err
		}
		args = append(args, "--debug-addr", s.debugAddr)
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, args...)
	if len(o.env) > 0 {
		s.cmd.Env = append(os.Environ(), o.env...)
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Should the benchmark itself be killed outright, the kernel ends the
	// server too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		_ = logFile.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited during start: %w\n%s", s.exitErr, s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("server not ready after 60s\n%s", s.logTail())
		}
	}
}

// stop asks the server to drain and kills it if it does not.
func (s *serverProcess) stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// alive reports an error when the server has died.
func (s *serverProcess) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("server exited: %w\n%s", s.exitErr, s.logTail())
	default:
		return nil
	}
}

// peakRSS is the server's peak resident set (VmHWM), in bytes.
func (s *serverProcess) peakRSS() (int64, error) { return s.statusBytes("VmHWM") }

// statusBytes reads a size field of the server's /proc status, in bytes.
func (s *serverProcess) statusBytes(field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// token mints a bearer token with the server's local signing key.
func (s *serverProcess) token(ctx context.Context, user, roles string) (string, error) {
	out, err := exec.CommandContext(ctx, s.bin, "token", "--data-dir", s.dataDir, "--user", user, "--roles", roles,
		"--ttl", "24h").Output()
	if err != nil {
		return "", fmt.Errorf("casework token: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// profile saves the server's profile name (e.g. "profile?seconds=12" for
// CPU, "allocs") to path.
func (s *serverProcess) profile(ctx context.Context, name, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.debugAddr+"/debug/pprof/"+name, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof %s: %s", name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (s *serverProcess) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}
