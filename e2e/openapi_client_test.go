package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/api/openapi"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// TestOpenAPIGeneratedClient does what a frontend vendor does with the
// OpenAPI 3.1 document: generates a TypeScript client with a common
// generator, compiles it, and calls the running server with it. It needs
// node and npx (and the npm registry, or a warm npm cache); without them it
// skips locally and fails under CI=true. The tools' versions are those
// .ci/run uses.
func TestOpenAPIGeneratedClient(t *testing.T) {
	for _, tool := range []string{"node", "npx"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required under CI=true: %v", tool, err)
			}
			t.Skipf("%s not found: the generated-client test needs Node.js", tool)
		}
	}
	tools := npmTools(t)
	dir := t.TempDir()
	for _, f := range []string{"main.ts", "tsconfig.json"} {
		copyFile(t, filepath.Join("testdata", "tsclient", f), filepath.Join(dir, f))
	}
	if err := os.WriteFile(filepath.Join(dir, "casework.openapi.json"), openapi.V3, 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, nil, "npx", "-y", "-p", tools["TYPESCRIPT"], "-p", tools["HEY_API"],
		"openapi-ts", "-i", "casework.openapi.json", "-o", "client")
	runTool(t, dir, nil, "npx", "-y", "-p", tools["TYPESCRIPT"], "tsc", "-p", "tsconfig.json")

	e := start(t, dialects[0].open)
	h := must(pb.NewHouseholdServiceClient(e.conn).CreateHousehold(ctxFor(t),
		&pb.CreateHouseholdRequest{Household: e.newHousehold()})).ok(t)
	token := e.token(t, "ts-client", []principal.Role{principal.Caseworker}, h.GetTownCode())
	out := runTool(t, dir, []string{"CASEWORK_URL=" + e.httpBase, "CASEWORK_TOKEN=" + token},
		"node", filepath.Join("out", "main.js"))

	var got struct {
		Status        int      `json:"status"`
		RequestID     string   `json:"requestId"`
		Households    []string `json:"households"`
		RefusedStatus int      `json:"refusedStatus"`
		RefusedReason string   `json:"refusedReason"`
	}
	if err := json.Unmarshal(lastLine(out), &got); err != nil {
		t.Fatalf("the client's output is not JSON: %v\n%s", err, out)
	}
	if got.Status != 200 || !slices.Contains(got.Households, h.GetName()) {
		t.Errorf("listing households with the generated client: HTTP %d, %v; want 200 with %s", got.Status, got.Households, h.GetName())
	}
	if got.RequestID == "" {
		t.Errorf("the answer has no X-Request-Id")
	}
	if got.RefusedStatus != 401 || got.RefusedReason != "MISSING_CREDENTIALS" {
		t.Errorf("a call without a token: HTTP %d, reason %q; want 401 MISSING_CREDENTIALS", got.RefusedStatus, got.RefusedReason)
	}
}

// npmTools reads the pinned npm packages of .ci/npm-tools.env.
func npmTools(t *testing.T) map[string]string {
	f, err := os.Open(filepath.Join("..", ".ci", "npm-tools.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tools := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			tools[k] = v
		}
	}
	for _, k := range []string{"TYPESCRIPT", "HEY_API"} {
		if tools[k] == "" {
			t.Fatalf(".ci/npm-tools.env pins no %s", k)
		}
	}
	return tools
}

func runTool(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func lastLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return lines[len(lines)-1]
}
