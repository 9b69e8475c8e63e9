package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The tests below read deploy/ as Kubernetes, compose and systemd would and
// hold every name and number there to what this binary accepts, so that the
// manifests cannot drift from the code: each environment variable is one a
// flag reads and its value parses as that flag's type, each command exists,
// each port is one the server listens on, and each probe answers on a
// running server.

const deployDir = "../../deploy"

// envFlags maps each environment variable of cmd's flags to its flag.
func envFlags(cmd *cobra.Command) map[string]*pflag.Flag {
	re := regexp.MustCompile(`\(env (CASEWORK_[A-Z0-9_]+)\)`)
	out := map[string]*pflag.Flag{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if m := re.FindStringSubmatch(f.Usage); m != nil {
			out[m[1]] = f
		}
	})
	return out
}

// subcommand finds the command args name, failing the test if there is none.
func subcommand(t *testing.T, where string, args []string) *cobra.Command {
	t.Helper()
	cmd, rest, err := root().Find(args)
	if err != nil || cmd == nil || cmd.Name() == "casework" {
		t.Fatalf("%s: casework %s is not a command", where, strings.Join(args, " "))
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, rest); err != nil {
			t.Errorf("%s: casework %s: %v", where, strings.Join(args, " "), err)
		}
	}
	return cmd
}

// checkEnv holds name=value to the flag of cmd that reads name.
func checkEnv(t *testing.T, where string, cmd *cobra.Command, name, value string) {
	t.Helper()
	if !strings.HasPrefix(name, "CASEWORK_") {
		return // another program's (POSTGRES_PASSWORD)
	}
	f, ok := envFlags(cmd)[name]
	if !ok {
		t.Errorf("%s: %s is read by no flag of casework %s", where, name, cmd.Name())
		return
	}
	if strings.Contains(value, "${") || value == "" {
		return // filled in by compose, or left at the default
	}
	fresh := subcommand(t, where, []string{cmd.Name()})
	if err := fresh.Flags().Set(f.Name, value); err != nil {
		t.Errorf("%s: %s=%q does not parse as --%s: %v", where, name, value, f.Name, err)
	}
}

// yamlDocs reads every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(file)
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// at walks a YAML document by keys and list indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, scalar(x))
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// port is the port of a listen address such as ":8080".
func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// kubeObjects reads every manifest kustomization.yaml lists, checking that
// each exists.
func kubeObjects(t *testing.T) []map[string]any {
	t.Helper()
	dir := filepath.Join(deployDir, "kubernetes")
	kust := yamlDocs(t, filepath.Join(dir, "kustomization.yaml"))[0]
	var objs []map[string]any
	for _, r := range strs(kust["resources"]) {
		objs = append(objs, yamlDocs(t, filepath.Join(dir, r))...)
	}
	listed := strs(kust["resources"])
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(listed, b) {
			t.Errorf("kubernetes/%s is not listed in kustomization.yaml", b)
		}
	}
	return objs
}

func byKind(objs []map[string]any, kind string) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

func TestDeployKubernetes(t *testing.T) {
	objs := kubeObjects(t)
	serve := subcommand(t, "kubernetes", []string{"serve"})
	// What every container is given through envFrom.
	env := map[string]string{}
	for _, cm := range byKind(objs, "ConfigMap") {
		for k, v := range asMap(cm["data"]) {
			env[k] = scalar(v)
		}
	}
	for _, s := range byKind(objs, "Secret") {
		for k, v := range asMap(s["stringData"]) {
			if strings.HasPrefix(k, "CASEWORK_") {
				env[k] = scalar(v)
			}
		}
	}
	for k, v := range env {
		checkEnv(t, "kubernetes ConfigMap/Secret", serve, k, v)
	}
	if store := env["CASEWORK_ATTACHMENT_STORE"]; store == "" || store == "local" {
		t.Errorf("CASEWORK_ATTACHMENT_STORE=%q: with several replicas attachments must be in a shared store", store)
	}
	if store := env["CASEWORK_RATE_LIMIT_STORE"]; store == "memory" {
		t.Errorf("CASEWORK_RATE_LIMIT_STORE=%q: with several replicas each would give a caller a rate limit and lookup budget of its own", store)
	}
	if env["CASEWORK_MIGRATE"] != "false" {
		t.Errorf("replicas must not migrate (CASEWORK_MIGRATE=%q); the Job does", env["CASEWORK_MIGRATE"])
	}
	httpPort, grpcPort := port(t, env["CASEWORK_HTTP_ADDR"]), port(t, env["CASEWORK_GRPC_ADDR"])

	deployments := byKind(objs, "Deployment")
	if len(deployments) != 1 {
		t.Fatalf("%d Deployments; want 1", len(deployments))
	}
	d := deployments[0]
	if r := at(d, "spec", "replicas"); r != 3 {
		t.Errorf("replicas = %v; want 3", r)
	}
	c := asMap(at(d, "spec", "template", "spec", "containers", 0))
	subcommand(t, "Deployment", strs(c["args"]))
	ports := map[string]int{}
	for _, p := range asList(c["ports"]) {
		ports[scalar(at(p, "name"))] = at(p, "containerPort").(int)
	}
	if ports["http"] != httpPort || ports["grpc"] != grpcPort {
		t.Errorf("container ports %v; the server listens on http %d and grpc %d", ports, httpPort, grpcPort)
	}
	grace := at(d, "spec", "template", "spec", "terminationGracePeriodSeconds")
	if n, ok := grace.(int); !ok || time.Duration(n)*time.Second <= stopTime(t, serve, env) {
		t.Errorf("terminationGracePeriodSeconds %v does not leave the server its drain and shutdown timeout (%v)", grace, stopTime(t, serve, env))
	}
	if at(c, "resources", "requests") == nil {
		t.Error("the server container has no resource requests")
	}
	probes := map[string]string{}
	for _, name := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		p := asMap(c[name])
		switch {
		case p["httpGet"] != nil:
			path, pt := scalar(at(p, "httpGet", "path")), at(p, "httpGet", "port")
			if pt != "http" && pt != httpPort {
				t.Errorf("%s: port %v is not the HTTP port", name, pt)
			}
			probes[name] = path
		case p["grpc"] != nil:
			if at(p, "grpc", "port") != grpcPort {
				t.Errorf("%s: gRPC port %v; the server's is %d", name, at(p, "grpc", "port"), grpcPort)
			}
			probes[name] = "grpc"
		default:
			t.Errorf("the server container has no %s", name)
		}
	}
	if probes["livenessProbe"] != "/healthz" || probes["readinessProbe"] != "/readyz" {
		t.Errorf("probes %v; want liveness /healthz and readiness /readyz", probes)
	}
	checkProbesAnswer(t, []string{"/healthz", "/readyz"})

	for _, j := range byKind(objs, "Job") {
		jc := at(j, "spec", "template", "spec", "containers", 0)
		if got := strs(at(jc, "args")); !slices.Equal(got, []string{"migrate", "up"}) {
			t.Errorf("Job %v runs %v; want migrate up", at(j, "metadata", "name"), got)
		}
		subcommand(t, "Job", strs(at(jc, "args")))
	}
	if len(byKind(objs, "Job")) != 1 {
		t.Error("no migration Job")
	}
	// Services reach the container's named ports.
	for _, s := range byKind(objs, "Service") {
		for _, p := range asList(at(s, "spec", "ports")) {
			if _, ok := ports[scalar(at(p, "targetPort"))]; !ok {
				t.Errorf("Service %v targets port %v, which the container does not name", at(s, "metadata", "name"), at(p, "targetPort"))
			}
		}
	}
	if len(byKind(objs, "Service")) != 2 || len(byKind(objs, "PodDisruptionBudget")) != 1 || len(byKind(objs, "HorizontalPodAutoscaler")) != 1 {
		t.Error("want two Services, a PodDisruptionBudget and a HorizontalPodAutoscaler")
	}
	// Secrets and config the pods mount are among the manifests.
	names := map[string]bool{}
	for _, o := range objs {
		names[scalar(o["kind"])+"/"+scalar(at(o, "metadata", "name"))] = true
	}
	for _, ref := range asList(c["envFrom"]) {
		if n := at(ref, "configMapRef", "name"); n != nil && !names["ConfigMap/"+scalar(n)] {
			t.Errorf("envFrom names ConfigMap %v, which is not deployed", n)
		}
		if n := at(ref, "secretRef", "name"); n != nil && !names["Secret/"+scalar(n)] {
			t.Errorf("envFrom names Secret %v, which is not deployed", n)
		}
	}
	keyringDir := ""
	for _, m := range asList(c["volumeMounts"]) {
		if scalar(at(m, "name")) == "keyring" {
			keyringDir = scalar(at(m, "mountPath"))
		}
	}
	if filepath.Dir(env["CASEWORK_KEYRING"]) != keyringDir {
		t.Errorf("CASEWORK_KEYRING %s is not in the keyring volume mounted at %s", env["CASEWORK_KEYRING"], keyringDir)
	}
}

// stopTime is how long the server may take to stop with env's settings:
// its drain and shutdown timeout.
func stopTime(t *testing.T, serve *cobra.Command, env map[string]string) time.Duration {
	t.Helper()
	var total time.Duration
	for _, name := range []string{"shutdown-drain", "shutdown-timeout"} {
		f := serve.Flags().Lookup(name)
		v := f.DefValue
		if e, ok := env[strings.ToUpper("CASEWORK_"+strings.ReplaceAll(name, "-", "_"))]; ok {
			v = e
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("--%s %q: %v", name, v, err)
		}
		total += d
	}
	return total
}

// checkProbesAnswer starts the server and asks each probe path, and the
// gRPC health service, as the kubelet would.
func checkProbesAnswer(t *testing.T, paths []string) {
	t.Helper()
	grpcAddr := freeAddr(t)
	httpAddr := startServe(t, "--data-dir", t.TempDir(), "--grpc-addr", grpcAddr)
	for _, p := range paths {
		resp, err := http.Get("http://" + httpAddr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d; want 200", p, resp.StatusCode)
		}
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc.health.v1 Check = %v, %v; want SERVING", resp.GetStatus(), err)
	}
}

func TestDeployCompose(t *testing.T) {
	doc := yamlDocs(t, filepath.Join(deployDir, "compose", "compose.yaml"))[0]
	services := asMap(doc["services"])
	for _, name := range []string{"migrate", "server"} {
		s := asMap(services[name])
		cmd := subcommand(t, "compose "+name, strs(s["command"]))
		for k, v := range asMap(s["environment"]) {
			if k == "<<" {
				for k2, v2 := range asMap(v) {
					checkEnv(t, "compose "+name, cmd, k2, scalar(v2))
				}
				continue
			}
			checkEnv(t, "compose "+name, cmd, k, scalar(v))
		}
	}
	server := asMap(services["server"])
	env := map[string]string{}
	for k, v := range asMap(server["environment"]) {
		env[k] = scalar(v)
	}
	for _, p := range strs(server["ports"]) {
		inner, _ := strconv.Atoi(p[strings.LastIndex(p, ":")+1:])
		if inner != port(t, env["CASEWORK_HTTP_ADDR"]) && inner != port(t, env["CASEWORK_GRPC_ADDR"]) {
			t.Errorf("compose publishes %s; the server listens on %s and %s", p, env["CASEWORK_HTTP_ADDR"], env["CASEWORK_GRPC_ADDR"])
		}
	}
	if at(server, "depends_on", "migrate", "condition") != "service_completed_successfully" {
		t.Error("the server must wait for the migration to finish")
	}
}

func TestDeploySystemd(t *testing.T) {
	unit := readLines(t, filepath.Join(deployDir, "systemd", "casework.service"))
	var exec string
	for _, l := range unit {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exec = v
		}
	}
	fields := strings.Fields(exec)
	if len(fields) < 2 || filepath.Base(fields[0]) != "casework" {
		t.Fatalf("ExecStart=%q does not run casework", exec)
	}
	serve := subcommand(t, "systemd ExecStart", fields[1:])
	env := map[string]string{}
	for _, l := range readLines(t, filepath.Join(deployDir, "systemd", "casework.env")) {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Errorf("casework.env: %q is not NAME=value", l)
			continue
		}
		checkEnv(t, "systemd casework.env", serve, k, v)
		env[k] = v
	}
	for _, l := range unit {
		if v, ok := strings.CutPrefix(l, "TimeoutStopSec="); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d <= stopTime(t, serve, env) {
				t.Errorf("TimeoutStopSec=%s does not leave the server its drain and shutdown timeout (%v)", v, stopTime(t, serve, env))
			}
		}
	}
}

func TestDeployContainerfile(t *testing.T) {
	lines := readLines(t, filepath.Join(deployDir, "container", "Containerfile"))
	var user, entry, cmd string
	var exposed []string
	for _, l := range lines {
		switch word, rest, _ := strings.Cut(l, " "); word {
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entry = rest
		case "CMD":
			cmd = rest
		case "EXPOSE":
			exposed = strings.Fields(rest)
		case "RUN":
			if m := regexp.MustCompile(`go build .* (\./\S+)$`).FindStringSubmatch(rest); m != nil {
				if _, err := os.Stat(filepath.Join("../..", m[1])); err != nil {
					t.Errorf("the image builds %s: %v", m[1], err)
				}
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("USER %q: the image must run as a non-root user", user)
	}
	var args []string
	if err := yaml.Unmarshal([]byte(cmd), &args); err != nil || !strings.HasSuffix(entry, `casework"]`) {
		t.Fatalf("ENTRYPOINT %s CMD %s: want the casework binary and a JSON-form command", entry, cmd)
	}
	serve := subcommand(t, "Containerfile CMD", args)
	for _, p := range exposed {
		n, _ := strconv.Atoi(p)
		def := []int{port(t, serve.Flags().Lookup("http-addr").DefValue), port(t, serve.Flags().Lookup("grpc-addr").DefValue)}
		if !slices.Contains(def, n) {
			t.Errorf("EXPOSE %d is not a port the server listens on by default (%v)", n, def)
		}
	}
}

// readLines reads a file's lines that are neither blank nor comments,
// joining continued lines.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur += s + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}

// TestDeployMonitoring holds the example Grafana dashboard and Prometheus
// rules to the metrics a running server exports: each metric they name must
// appear in its scrape.
func TestDeployMonitoring(t *testing.T) {
	dir := t.TempDir()
	httpAddr := startServe(t, "--data-dir", dir)
	// One call through the gateway, so the per-call series exist.
	tok := strings.TrimSpace(run(t, "token", "--data-dir", dir, "--user", "u1", "--roles", "auditor"))
	req, err := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/v1/cases", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/cases: %v %v", resp, err)
	}
	resp.Body.Close()
	exported := map[string]bool{}
	for deadline := time.Now().Add(20 * time.Second); !exported["casework_jobs_total"] && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		exported = scrapeNames(t, "http://"+httpAddr+"/metrics")
	}
	named := regexp.MustCompile(`\b(?:casework|go|process)_[a-z0-9_]+\b`)
	check := func(where, expr string) {
		for _, m := range named.FindAllString(expr, -1) {
			if !exported[m] {
				t.Errorf("%s names %s, which the server does not export", where, m)
			}
		}
	}
	var raw []byte
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	raw, err = os.ReadFile(filepath.Join(deployDir, "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil || len(dash.Panels) == 0 {
		t.Fatalf("grafana-dashboard.json: %v (%d panels)", err, len(dash.Panels))
	}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			check("dashboard panel "+p.Title, target.Expr)
		}
	}
	rules := yamlDocs(t, filepath.Join(deployDir, "monitoring", "prometheus-rules.yaml"))[0]
	n := 0
	for _, g := range asList(rules["groups"]) {
		for _, r := range asList(at(g, "rules")) {
			check("rule "+scalar(at(r, "alert")), scalar(at(r, "expr")))
			n++
		}
	}
	if n == 0 {
		t.Fatal("prometheus-rules.yaml holds no rule")
	}
}

// scrapeNames is every metric name in a scrape of url, a histogram's
// _bucket, _sum and _count series included.
func scrapeNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" || f[3] == "summary" {
				names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
			}
		}
	}
	return names
}
