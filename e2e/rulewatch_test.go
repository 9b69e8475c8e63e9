package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fengdu-county/casework/domain"
)

// Every rule of the table must be seen at work through the API, on both
// transports: in a case's or household's policy basis, a clock's or an
// eligibility decision's rule, a member's warnings, or a refusal that
// names it (ErrorInfo metadata or a field violation's reason). The clients
// of every scenario report what they see here; when the whole suite has
// run, TestE2E fails for a rule no scenario showed.
var rulesSeen = &ruleWatch{seen: map[string]map[domain.RuleID]bool{"grpc": {}, "http": {}}}

// scenariosRun counts the scenarios that ran to their end, so the check
// runs only when every scenario did (not for a -run subset).
var scenariosRun atomic.Int64

type ruleWatch struct {
	mu   sync.Mutex
	seen map[string]map[domain.RuleID]bool
}

func (w *ruleWatch) add(transport, id string) {
	if _, ok := domain.RuleByID(domain.RuleID(id)); !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[transport][domain.RuleID(id)] = true
}

// ruleFields are the fields (by proto name) that carry rule ids.
var ruleFields = []protoreflect.Name{"policy_basis", "priority_basis", "contact_basis", "policy", "warnings"}

// fromMessage collects the rule ids a gRPC answer carries, at any depth.
func (w *ruleWatch) fromMessage(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.StringKind && slices.Contains(ruleFields, fd.Name()):
			if fd.IsList() {
				for i := 0; i < v.List().Len(); i++ {
					w.add("grpc", v.List().Get(i).String())
				}
			} else {
				w.add("grpc", v.String())
			}
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				w.fromMessage(v.List().Get(i).Message())
			}
		case fd.Kind() == protoreflect.MessageKind && !fd.IsMap():
			w.fromMessage(v.Message())
		}
		return true
	})
}

// fromStatus collects the rules a refusal names.
func (w *ruleWatch) fromStatus(transport string, st *status.Status) {
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			w.add(transport, d.GetMetadata()["rule"])
			for _, r := range strings.Split(d.GetMetadata()["rules"], ",") {
				w.add(transport, r)
			}
		}
	}
}

func (w *ruleWatch) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		w.fromStatus("grpc", status.Convert(err))
	} else if m, ok := reply.(proto.Message); ok {
		w.fromMessage(m.ProtoReflect())
	}
	return err
}

// jsonRuleKeys are the JSON names of ruleFields.
var jsonRuleKeys = []string{"policyBasis", "priorityBasis", "contactBasis", "policy", "warnings"}

// fromJSON collects the rule ids a JSON answer carries, at any depth: in
// the fields that carry them, in an ErrorInfo's metadata and in field
// violations' reasons.
func (w *ruleWatch) fromJSON(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch {
			case slices.Contains(jsonRuleKeys, k):
				w.jsonStrings(x)
			case k == "metadata":
				if md, ok := x.(map[string]any); ok {
					w.jsonStrings(md["rule"])
					if rules, ok := md["rules"].(string); ok {
						for _, r := range strings.Split(rules, ",") {
							w.add("http", r)
						}
					}
				}
			default:
				w.fromJSON(x)
			}
		}
	case []any:
		for _, x := range v {
			w.fromJSON(x)
		}
	}
}

func (w *ruleWatch) jsonStrings(v any) {
	switch v := v.(type) {
	case string:
		w.add("http", v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				w.add("http", s)
			}
		}
	}
}

// fromHTTP reads a JSON answer and gives it back unread to the caller.
func (w *ruleWatch) fromHTTP(resp *http.Response) (*http.Response, error) {
	if resp.Header.Get("Content-Type") != "application/json" {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		w.fromJSON(v)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// checkRulesSeen fails for every rule of the table no scenario showed on a
// transport. It runs only when every scenario ran to its end.
func checkRulesSeen(t *testing.T) {
	if int(scenariosRun.Load()) != (len(scenarios)+len(bareScenarios))*len(dialects) || t.Failed() {
		return
	}
	rulesSeen.mu.Lock()
	defer rulesSeen.mu.Unlock()
	for _, r := range domain.Rules {
		for _, transport := range []string{"grpc", "http"} {
			if !rulesSeen.seen[transport][r.ID] {
				t.Errorf("rule %s was never seen at work through the API over %s: add a scenario that shows it", r.ID, transport)
			}
		}
	}
}
