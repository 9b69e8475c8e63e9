package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/repository"
	"github.com/fengdu-county/casework/server"
)

func (c *client) GetAuditLogHead() (*pb.AuditLogHead, error) {
	out := &pb.AuditLogHead{}
	return out, c.call("AuditService/GetAuditLogHead", get("auditLogs:head", nil), &pb.GetAuditLogHeadRequest{}, out)
}

// readAnchors reads the anchor file, nil while it does not exist.
func readAnchors(t *testing.T, path string) ([]audit.Anchor, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	anchors, err := audit.ReadAnchors(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the server wrote an anchor file that does not read back: %v\n%s", err, data)
	}
	return anchors, data
}

// waitForAnchor waits until the anchor file holds head, and returns the
// file's content then.
func waitForAnchor(t *testing.T, path string, head *pb.AuditLogHead) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		anchors, data := readAnchors(t, path)
		for _, a := range anchors {
			if a.Seq == head.GetSequence() {
				if a.Hash != head.GetHash() || a.KeyID != head.GetKeyId() || !a.EntryTime.Equal(head.GetTime().AsTime()) {
					t.Fatalf("anchor of entry %d is %+v; the API's head is %v", a.Seq, a, head)
				}
				return data
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no anchor of entry %d after 10s; the file holds:\n%s", head.GetSequence(), data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testAuditAnchors reads the audit chain's head over both transports, as
// each role that may, and checks it against the anchor file a server wrote
// and against the log itself.
func testAuditAnchors(t *testing.T, e *env) {
	sup := e.grpcClient(t)
	e.family(t, sup) // some history: a household and three members

	path := filepath.Join(t.TempDir(), "audit-anchors.jsonl")
	e.serveWith(t, e.db.Store(repository.WithClock(e.clock.Now)), func(c *server.Config) {
		c.AuditAnchorFile, c.AuditAnchorInterval = path, 20*time.Millisecond
	})

	headOf := func() *pb.AuditLogHead {
		t.Helper()
		var heads []*pb.AuditLogHead
		for _, r := range []principal.Role{principal.Auditor, principal.Admin, principal.Integration} {
			for _, c := range e.asRole(t, r) {
				c.t = t
				heads = append(heads, must(c.GetAuditLogHead()).ok(t))
			}
		}
		for i, h := range heads[1:] {
			if !proto.Equal(h, heads[0]) {
				t.Fatalf("head answers differ between roles and transports: %v and %v (answer %d)", heads[0], h, i+1)
			}
		}
		return heads[0]
	}

	head := headOf()
	logs := auditEntries(t, e, "")
	last := logs[len(logs)-1]
	if head.GetSequence() != last.GetSequence() || head.GetHash() != last.GetHash() || head.GetKeyId() != last.GetKeyId() ||
		!head.GetTime().AsTime().Equal(last.GetTime().AsTime()) {
		t.Fatalf("head %v is not the log's last entry %v", head, last)
	}
	if head.GetSequence() < 4 || head.GetKeyId() == "" || len(head.GetHash()) != 64 {
		t.Fatalf("head %v: want a keyed entry after the family's four", head)
	}
	if head.GetKeyId() != e.db.Keyring.ActiveAuditKeyID() {
		t.Fatalf("head under audit key %q, the keyring's active one is %q", head.GetKeyId(), e.db.Keyring.ActiveAuditKeyID())
	}
	before := waitForAnchor(t, path, head)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("anchor file: %v, mode %o; want 0600", err, fi.Mode().Perm())
	}
	if !strings.Contains(e.logs.String(), "sequence="+strconv.FormatInt(head.GetSequence(), 10)+" hash="+head.GetHash()) {
		t.Errorf("the server's log has no anchor of entry %d", head.GetSequence())
	}

	// The history moves on; the file gets a new line and keeps the old ones.
	must(sup.CreateHousehold(e.newHousehold())).ok(t)
	next := headOf()
	if next.GetSequence() != head.GetSequence()+1 {
		t.Fatalf("head after one change: %d, want %d", next.GetSequence(), head.GetSequence()+1)
	}
	after := waitForAnchor(t, path, next)
	if !bytes.HasPrefix(after, before) {
		t.Fatalf("the anchor file was rewritten, not appended to:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The database agrees with every anchor the server wrote.
	anchors, _ := readAnchors(t, path)
	bad, err := e.db.Store().CheckAuditAnchors(ctxFor(t), anchors)
	if err != nil || len(bad) != 0 {
		t.Fatalf("CheckAuditAnchors against the server's anchors: %v, %v", bad, err)
	}

	// Roles with no need for it are refused on both transports.
	for _, r := range []principal.Role{principal.Caseworker, principal.Supervisor, principal.Batch} {
		for _, c := range e.asRole(t, r) {
			c.t = t
			must(c.GetAuditLogHead()).fails(t, codes.PermissionDenied)
		}
	}
}
