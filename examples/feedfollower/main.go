// Command feedfollower follows the casework change feed over gRPC and
// appends each event, as one JSON line, to a file. The file is its own
// bookmark: on start it resumes after the last complete line, so a
// follower killed at any moment and started again writes every event
// exactly once, in order.
//
//	feedfollower -addr localhost:9090 -out events.jsonl
//
// The credential comes from CASEWORK_TOKEN (an API key `cwk_…` of an
// integration or batch account, or a bearer token).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	caseworkv1 "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/api/client"
)

func main() {
	addr := flag.String("addr", "localhost:9090", "the casework gRPC address")
	out := flag.String("out", "events.jsonl", "file the events are appended to; also where the follower resumes from")
	useTLS := flag.Bool("tls", false, "connect with TLS")
	types := flag.String("resource-types", "", "comma-separated resource types to follow (households,members,cases,notes); empty for all")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *out, *useTLS, *types); err != nil && !errors.Is(err, context.Canceled) {
		log.Print(err)
		if status.Code(err) == codes.FailedPrecondition {
			// The feed no longer holds our position: retention removed it.
			// Resynchronise by reading the resources, then start afresh.
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, out string, useTLS bool, types string) error {
	after, err := resumePoint(out)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()

	// The client's retry policy covers the call that opens the stream; a
	// stream that breaks later is resumed below, from the last event
	// written. A watch has no deadline: it is meant to stay open.
	conn, err := client.Dial(addr, client.Options{Insecure: !useTLS, Token: os.Getenv("CASEWORK_TOKEN")})
	if err != nil {
		return err
	}
	defer conn.Close()
	feed := conn.Events()

	var filter []string
	if types != "" {
		filter = strings.Split(types, ",")
	}
	backoff := 200 * time.Millisecond
	for {
		err := follow(ctx, feed, f, &after, filter)
		switch status.Code(err) {
		case codes.Unavailable, codes.Internal, codes.DeadlineExceeded, codes.ResourceExhausted:
			// The server went away or is busy: resume from the last event
			// written, after a pause that grows while it stays away.
			log.Printf("feed interrupted at %d (%v); resuming", after, status.Code(err))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		return err
	}
}

// follow streams events after *after into f until the stream ends.
func follow(ctx context.Context, feed caseworkv1.EventServiceClient, f *os.File, after *int64, filter []string) error {
	stream, err := feed.WatchEvents(ctx, &caseworkv1.WatchEventsRequest{After: *after, ResourceTypes: filter})
	if err != nil {
		return err
	}
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return status.Error(codes.Unavailable, "stream ended")
		}
		if err != nil {
			return err
		}
		line, err := protojson.Marshal(ev)
		if err != nil {
			return err
		}
		// One write per line: a kill leaves at most a partial last line,
		// which the next start cuts off.
		if _, err := f.Write(append(line, '\n')); err != nil {
			return err
		}
		*after = ev.GetPosition()
	}
}

// resumePoint reads the position of the last complete line of out, cutting
// off a partial line a kill may have left.
func resumePoint(out string) (int64, error) {
	data, err := os.ReadFile(out)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	complete := strings.LastIndexByte(string(data), '\n') + 1
	if complete < len(data) {
		if err := os.Truncate(out, int64(complete)); err != nil {
			return 0, err
		}
	}
	var last string
	sc := bufio.NewScanner(strings.NewReader(string(data[:complete])))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		last = sc.Text()
	}
	if last == "" {
		return 0, nil
	}
	var ev caseworkv1.Event
	if err := protojson.Unmarshal([]byte(last), &ev); err != nil {
		return 0, fmt.Errorf("%s: last line is not an event: %w", out, err)
	}
	return ev.GetPosition(), nil
}
