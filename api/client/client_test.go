package client

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	caseworkv1 "github.com/fengdu-county/casework/api/casework/v1"
)

// TestServicesAreEveryService: the retry policy names every service of
// the contract, so a new service is not left without one.
func TestServicesAreEveryService(t *testing.T) {
	var all []string
	protoregistry.GlobalFiles.RangeFilesByPackage("casework.v1", func(f protoreflect.FileDescriptor) bool {
		for i := range f.Services().Len() {
			all = append(all, string(f.Services().Get(i).FullName()))
		}
		return true
	})
	slices.Sort(all)
	got := slices.Sorted(slices.Values(Services))
	if !slices.Equal(all, got) {
		t.Errorf("Services = %v, the contract has %v", got, all)
	}
}

// towns fails its first `fail` calls with code, then answers; it records
// each call's authorization and whether it had a deadline.
type towns struct {
	caseworkv1.UnimplementedTownServiceServer
	fail     int32
	code     codes.Code
	calls    atomic.Int32
	auth     atomic.Value
	deadline atomic.Bool
}

func (s *towns) ListTowns(ctx context.Context, _ *caseworkv1.ListTownsRequest) (*caseworkv1.ListTownsResponse, error) {
	n := s.calls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	s.auth.Store(md.Get("authorization"))
	_, ok := ctx.Deadline()
	s.deadline.Store(ok)
	if n <= s.fail {
		st, _ := status.New(s.code, "try again").WithDetails(&errdetails.ErrorInfo{Reason: strings.ToUpper(s.code.String()), Domain: "casework.fengdu.gov.cn"})
		return nil, st.Err()
	}
	return &caseworkv1.ListTownsResponse{}, nil
}

func serve(t *testing.T, srv *towns, o Options) *Conn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	caseworkv1.RegisterTownServiceServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	o.Insecure = true
	o.DialOptions = append(o.DialOptions, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}))
	conn, err := Dial("passthrough:///bufnet", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestRetriesUnavailable(t *testing.T) {
	srv := &towns{fail: 2, code: codes.Unavailable}
	conn := serve(t, srv, Options{Token: "cwk_test"})
	start := time.Now()
	if _, err := conn.Towns().ListTowns(context.Background(), &caseworkv1.ListTownsRequest{}); err != nil {
		t.Fatalf("after two UNAVAILABLE: %v", err)
	}
	if n := srv.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("retries took %v", time.Since(start))
	}
	if a, _ := srv.auth.Load().([]string); len(a) != 1 || a[0] != "Bearer cwk_test" {
		t.Errorf("authorization %q", a)
	}
	if !srv.deadline.Load() {
		t.Error("a call without a deadline reached the server without one")
	}
}

func TestDoesNotRetryWhatIsNotRetryable(t *testing.T) {
	for _, c := range []codes.Code{codes.Aborted, codes.ResourceExhausted, codes.Internal, codes.InvalidArgument} {
		srv := &towns{fail: 1, code: c}
		conn := serve(t, srv, Options{})
		_, err := conn.Towns().ListTowns(context.Background(), &caseworkv1.ListTownsRequest{})
		if status.Code(err) != c || srv.calls.Load() != 1 {
			t.Errorf("%v: %v after %d calls, want one call", c, err, srv.calls.Load())
		}
	}
}

func TestGivesUp(t *testing.T) {
	srv := &towns{fail: 100, code: codes.Unavailable}
	conn := serve(t, srv, Options{})
	_, err := conn.Towns().ListTowns(context.Background(), &caseworkv1.ListTownsRequest{})
	if status.Code(err) != codes.Unavailable || srv.calls.Load() != int32(DefaultRetry.MaxAttempts) {
		t.Errorf("%v after %d calls, want UNAVAILABLE after %d", err, srv.calls.Load(), DefaultRetry.MaxAttempts)
	}
	if Reason(err) != caseworkv1.ErrorReason_UNAVAILABLE {
		t.Errorf("Reason = %v", Reason(err))
	}
	srv = &towns{fail: 100, code: codes.Unavailable}
	conn = serve(t, srv, Options{Retry: &NoRetry})
	_, _ = conn.Towns().ListTowns(context.Background(), &caseworkv1.ListTownsRequest{})
	if srv.calls.Load() != 1 {
		t.Errorf("NoRetry made %d calls", srv.calls.Load())
	}
}

func TestBadPolicyRefused(t *testing.T) {
	if _, err := Dial("localhost:1", Options{Retry: &RetryPolicy{MaxAttempts: 9}}); err == nil {
		t.Error("a policy of 9 attempts was accepted")
	}
}
