package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// The release test: the api module is what county systems `go get`, so
// it is released as they will get it (a module zip of a tagged version,
// served by a module proxy) and examples/ is built from that release with
// no replace, as a module outside this repository would be; then the
// built example calls a real server over gRPC through the api module's
// client, with its retry policy.

// apiModule is the api module's path, and releaseVersion the version the
// test releases it as (the tag api/v0.1.0 marks the same tree).
const (
	apiModule      = "github.com/fengdu-county/casework/api"
	releaseVersion = "v0.1.0"
)

var (
	releaseOnce sync.Once
	releaseBin  string // the lookup example built from the released api module
	releaseErr  error
)

// releasedLookup builds examples/lookup against the api module released
// into a file-system module proxy, once per test binary.
func releasedLookup(t *testing.T) string {
	t.Helper()
	releaseOnce.Do(func() { releaseBin, releaseErr = buildFromRelease() })
	if releaseErr != nil {
		t.Fatalf("release test: %v", releaseErr)
	}
	return releaseBin
}

func buildFromRelease() (string, error) {
	root, err := os.MkdirTemp("", "casework-release-")
	if err != nil {
		return "", err
	}
	proxy, work, modcache := filepath.Join(root, "proxy"), filepath.Join(root, "examples"), filepath.Join(root, "modcache")
	if err := publish(proxy, filepath.Join("..", "api")); err != nil {
		return "", fmt.Errorf("publish the api module: %w", err)
	}
	if err := os.CopyFS(work, os.DirFS(filepath.Join("..", "examples"))); err != nil {
		return "", err
	}
	// The module cache the examples are built with is new, so the api
	// module can only come from the proxy below, never from an earlier
	// run; every other module comes from the machine's module cache,
	// whose download directory is itself a module proxy (no network).
	realCache, err := goEnv("GOMODCACHE")
	if err != nil {
		return "", err
	}
	env := append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(realCache, "cache", "download")),
		"GOMODCACHE="+modcache,
		"GOFLAGS=-mod=mod -modcacherw -buildvcs=false",
		// No checksum database knows a release never published, and every
		// other module is checked against the examples' go.sum: nothing
		// needs the network.
		"GOSUMDB=off",
		"GOWORK=off", "GOTOOLCHAIN=local",
	)
	run := func(args ...string) (string, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", &buildError{out: string(out), err: fmt.Errorf("go %s: %w", strings.Join(args, " "), err)}
		}
		return string(out), nil
	}
	if _, err := run("mod", "edit", "-dropreplace="+apiModule, "-require="+apiModule+"@"+releaseVersion); err != nil {
		return "", err
	}
	bin := filepath.Join(root, "lookup")
	if _, err := run("build", "-o", bin, "./lookup"); err != nil {
		return "", err
	}
	// Only the binary is kept; the proxy, the copy and the module cache go
	// (whatever happens below) once it is checked.
	defer func() {
		for _, d := range []string{proxy, work, modcache} {
			_ = os.RemoveAll(d)
		}
	}()
	// Built from the release: the module graph has the tagged version,
	// replaced by nothing, and go.sum records the release's hash.
	out, err := run("list", "-m", "-json", apiModule)
	if err != nil {
		return "", err
	}
	var m struct {
		Version string
		Replace *struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return "", err
	}
	if m.Version != releaseVersion || m.Replace != nil {
		return "", fmt.Errorf("examples built with %s %s (replace %v), want %s and no replace", apiModule, m.Version, m.Replace, releaseVersion)
	}
	sum, err := os.ReadFile(filepath.Join(work, "go.sum"))
	if err != nil {
		return "", err
	}
	if !bytes.Contains(sum, []byte(apiModule+" "+releaseVersion+" h1:")) {
		return "", errors.New("go.sum does not record the release's hash")
	}
	return bin, nil
}

// publish writes dir as apiModule@releaseVersion into proxy in the
// layout of GOPROXY's protocol: list, .info, .mod and the module zip
// (made by golang.org/x/mod/zip, as `go mod download` checks it).
func publish(proxy, dir string) error {
	at := filepath.Join(proxy, filepath.FromSlash(apiModule), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	info, err := json.Marshal(map[string]any{"Version": releaseVersion, "Time": time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"list": []byte(releaseVersion + "\n"), releaseVersion + ".info": info, releaseVersion + ".mod": mod,
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(at, releaseVersion+".zip"))
	if err != nil {
		return err
	}
	if err := zip.CreateFromDir(f, module.Version{Path: apiModule, Version: releaseVersion}, dir); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	return strings.TrimSpace(string(out)), err
}

// testExampleFromRelease runs the lookup example, built from the released
// api module, against the env's server: a registered servicemember's
// household is found, an unregistered one is not, and no ID number is
// printed.
func testExampleFromRelease(t *testing.T, e *env) {
	bin := releasedLookup(t)
	h := e.newHousehold()
	registered := h.GetServicemember().GetIdNumber()
	created, err := pb.NewHouseholdServiceClient(e.conn).CreateHousehold(ctxFor(t), &pb.CreateHouseholdRequest{Household: h})
	if err != nil {
		t.Fatal(err)
	}
	unregistered := e.idNumber(servicememberBirth)

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-addr", e.grpcAddr, "-insecure")
	cmd.Env = append(os.Environ(), "CASEWORK_TOKEN="+e.roleToken(t, principal.Integration))
	cmd.Stdin = strings.NewReader(registered + "\n\n" + unregistered + "\n")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lookup: %v: %s%s", err, stdout.String(), stderr.String())
	}
	want := "1\t" + created.GetName() + "\n3\tnot registered (or not in your towns)\n"
	if stdout.String() != want {
		t.Errorf("lookup printed %q, want %q", stdout.String(), want)
	}
	for _, n := range []string{registered, unregistered} {
		if strings.Contains(stdout.String()+stderr.String(), n) {
			t.Error("the example printed an ID number")
		}
	}
}
