package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this package's main as a process of its own
// (the test binary re-executed with CASEWORK_TEST_MAIN=1), so that signals
// and exit codes are the real ones.
func TestMain(m *testing.M) {
	if os.Getenv("CASEWORK_TEST_MAIN") == "1" {
		os.Args = append([]string{"casework"}, strings.Fields(os.Getenv("CASEWORK_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestServeStopsOnSIGTERM sends SIGTERM to a serving process, as systemd
// and Kubernetes do, and expects it to turn unready, stop and exit 0.
func TestServeStopsOnSIGTERM(t *testing.T) {
	httpAddr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CASEWORK_TEST_MAIN=1",
		"CASEWORK_TEST_ARGS=serve --data-dir "+filepath.Join(t.TempDir(), "data")+
			" --http-addr "+httpAddr+" --grpc-addr "+freeAddr(t)+" --shutdown-drain 300ms --log-format json")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ready := false
	for deadline := time.Now().Add(30 * time.Second); !ready && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	if !ready {
		t.Fatalf("serve not ready:\n%s", logs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM; want 0\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve still running 30s after SIGTERM\n%s", logs.String())
	}
	for _, want := range []string{`"msg":"shutting down: readiness off"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, logs.String())
		}
	}
}
