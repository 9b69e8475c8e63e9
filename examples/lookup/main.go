// Command lookup finds households by their servicemember's ID number over
// gRPC, as the veterans-affairs system does before it opens a case: it
// reads ID numbers from standard input, one a line (never from the command
// line, where other users of the machine could read them), and prints for
// each line its number and the household's resource name, or why there is
// none. It never prints an ID number.
//
//	lookup -addr localhost:9090 < numbers.txt
//
// It uses the api module's client: TLS unless -insecure, the credential
// from CASEWORK_TOKEN, a deadline on each call, and retries of what the
// server says is retryable; a rate limit is waited out as the server asks.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	caseworkv1 "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/api/client"
)

func main() {
	addr := flag.String("addr", "localhost:9090", "the casework gRPC address")
	plaintext := flag.Bool("insecure", false, "connect without TLS (a server on this machine, development)")
	timeout := flag.Duration("timeout", 10*time.Second, "deadline of each lookup")
	flag.Parse()

	conn, err := client.Dial(*addr, client.Options{Insecure: *plaintext, Token: os.Getenv("CASEWORK_TOKEN"), Timeout: *timeout})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	households := conn.Households()

	failed := false
	sc := bufio.NewScanner(os.Stdin)
	for line := 1; sc.Scan(); line++ {
		id := strings.TrimSpace(sc.Text())
		if id == "" {
			continue
		}
		h, err := lookup(households, id)
		switch client.Reason(err) {
		case caseworkv1.ErrorReason_ERROR_REASON_UNSPECIFIED:
			if err != nil {
				log.Fatalf("line %d: %v", line, err) // no answer from the server at all
			}
			fmt.Printf("%d\t%s\n", line, h.GetName())
		case caseworkv1.ErrorReason_NOT_FOUND:
			fmt.Printf("%d\tnot registered (or not in your towns)\n", line)
		default:
			// The server's message never repeats the number sent.
			fmt.Printf("%d\trefused: %s (%s)\n", line, status.Convert(err).Message(), client.Reason(err))
			failed = true
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	if failed {
		os.Exit(1)
	}
}

// lookup asks once, and once more after the delay a rate limit names: the
// client's retry policy does not retry RESOURCE_EXHAUSTED, since a body
// too large is that code too and never succeeds.
func lookup(households caseworkv1.HouseholdServiceClient, id string) (*caseworkv1.Household, error) {
	for attempt := 0; ; attempt++ {
		h, err := households.LookupHousehold(context.Background(), &caseworkv1.LookupHouseholdRequest{IdNumber: id})
		if client.Reason(err) != caseworkv1.ErrorReason_RATE_LIMITED || attempt == 3 {
			return h, err
		}
		time.Sleep(retryDelay(err))
	}
}

// retryDelay is the RetryInfo's delay of a refusal, or a second.
func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok {
			return info.GetRetryDelay().AsDuration()
		}
	}
	return time.Second
}
