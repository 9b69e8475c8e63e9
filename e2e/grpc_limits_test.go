package e2e

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// grpcLimits: the gRPC listener bounds a call's metadata to 64 KiB and a
// connection to 100 calls at once, and it enforces both against a client
// that ignores what it advertised; the server serves on afterwards.
func grpcLimits(t *testing.T, e *env) {
	const check = "/grpc.health.v1.Health/Check"
	pad := func(kib int) []hpack.HeaderField {
		var out []hpack.HeaderField
		for i := range kib {
			out = append(out, hpack.HeaderField{Name: "x-pad-" + strconv.Itoa(i), Value: strings.Repeat("a", 1000)})
		}
		return out
	}

	h := dialH2(t, e.grpcAddr)
	if got := h.settings[http2.SettingMaxHeaderListSize]; got != 64<<10 {
		t.Errorf("the server advertises a header list limit of %d bytes, want 65536", got)
	}
	if got := h.settings[http2.SettingMaxConcurrentStreams]; got != 100 {
		t.Errorf("the server advertises %d concurrent streams, want 100", got)
	}
	// The raw client works: a call with 10 KiB of metadata is answered.
	h.call(1, check, pad(10), true)
	if got := h.await(1); got != "answered 0" {
		t.Fatalf("a call with 10 KiB of metadata: %s, want answered 0", got)
	}
	// 200 KiB of metadata: the stream is reset (or the connection ended),
	// never served.
	h.call(3, check, pad(200), true)
	if got := h.await(3); strings.HasPrefix(got, "answered") {
		t.Fatalf("a call with 200 KiB of metadata was %s", got)
	}

	// A hundred calls held open on one connection; the next is refused.
	h = dialH2(t, e.grpcAddr)
	for i := range 100 {
		h.call(uint32(2*i+1), check, nil, false) // no message yet: the call waits
	}
	h.call(201, check, nil, false)
	if got := h.await(201); got != "reset REFUSED_STREAM" {
		t.Fatalf("the 101st concurrent call: %s, want reset REFUSED_STREAM", got)
	}

	// grpc-go clients respect the advertised limit and refuse to send.
	ctx := metadata.NewOutgoingContext(ctxFor(t), metadata.Pairs("x-pad", strings.Repeat("b", 100<<10)))
	if _, err := healthpb.NewHealthClient(e.conn).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Fatal("a call with 100 KiB of metadata succeeded")
	}
	// The server is unharmed.
	if _, err := healthpb.NewHealthClient(e.conn).Check(ctxFor(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health after the oversized calls: %v", err)
	}
	if _, err := pb.NewCaseServiceClient(e.conn).ListCases(ctxFor(t), &pb.ListCasesRequest{}); err != nil {
		t.Fatalf("ListCases after the oversized calls: %v", err)
	}
}

// h2conn is a bare HTTP/2 client connection, which, unlike grpc-go, sends
// whatever it is told to whatever the server advertised.
type h2conn struct {
	t        *testing.T
	addr     string
	conn     net.Conn
	fr       *http2.Framer
	settings map[http2.SettingID]uint32
	answers  map[uint32]string
}

// dialH2 connects and exchanges settings; the connection closes when t ends.
func dialH2(t *testing.T, addr string) *h2conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	h := &h2conn{t: t, addr: addr, conn: conn, fr: http2.NewFramer(conn, conn),
		settings: map[http2.SettingID]uint32{}, answers: map[uint32]string{}}
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := h.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's settings: %v", err)
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			_ = s.ForeachSetting(func(s http2.Setting) error { h.settings[s.ID] = s.Val; return nil })
			if err := h.fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			return h
		}
	}
}

// call opens stream id with a gRPC request's headers and extra fields,
// split into frames as the protocol requires; with send, it also sends an
// empty message and ends the stream.
func (h *h2conn) call(id uint32, path string, extra []hpack.HeaderField, send bool) {
	h.t.Helper()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	fields := append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: path},
		{Name: ":authority", Value: h.addr}, {Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	}, extra...)
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			h.t.Fatal(err)
		}
	}
	const frame = 16 << 10 // the smallest frame size a server may allow
	b := block.Bytes()
	first := b[:min(frame, len(b))]
	b = b[len(first):]
	err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndHeaders: len(b) == 0})
	for err == nil && len(b) > 0 {
		chunk := b[:min(frame, len(b))]
		b = b[len(chunk):]
		err = h.fr.WriteContinuation(id, len(b) == 0, chunk)
	}
	if err == nil && send {
		err = h.fr.WriteData(id, true, []byte{0, 0, 0, 0, 0})
	}
	if err != nil && !errors.Is(err, io.EOF) && !isClosed(err) {
		h.t.Fatalf("writing stream %d: %v", id, err)
	}
}

// await reads frames until the server answers stream id: "answered N" with
// its grpc-status, "reset CODE", "goaway CODE", or "closed" when the
// connection ended.
func (h *h2conn) await(id uint32) string {
	h.t.Helper()
	for h.answers[id] == "" {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return "closed"
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			// The call's outcome is its grpc-status: in the trailers, or in
			// the only headers of an immediate refusal.
			for _, hf := range f.Fields {
				if hf.Name == "grpc-status" {
					h.answers[f.StreamID] = "answered " + hf.Value
				}
			}
		case *http2.RSTStreamFrame:
			h.answers[f.StreamID] = "reset " + f.ErrCode.String()
		case *http2.GoAwayFrame:
			return "goaway " + f.ErrCode.String()
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = h.fr.WritePing(true, f.Data)
			}
		}
	}
	return h.answers[id]
}

func isClosed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
