package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/fengdu-county/casework/internal/audit"
)

// checkAnchorFile opens the anchor file as the anchoring will, so that a
// path the server cannot write fails the start, not an anchor hours later.
func checkAnchorFile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("server: audit anchor file: %w", err)
	}
	return f.Close()
}

// anchorAudit records the audit chain's head outside the database every
// AuditAnchorInterval: in the log, and as a line appended to the anchor
// file when one is configured. Whoever can rewrite the database cannot
// reach either, so `casework audit verify --anchor` can later tell whether
// the history up to an anchor was changed, even by someone holding the
// audit key. Every server anchors; the lines of several agree, being the
// same chain. A head already anchored by this server is not repeated, and
// one that failed to be written is tried again at the next tick.
func (s *Server) anchorAudit(ctx context.Context) {
	if s.cfg.AuditAnchorInterval <= 0 {
		return
	}
	tick := time.NewTicker(s.cfg.AuditAnchorInterval)
	defer tick.Stop()
	var last audit.Head
	for {
		h, err := s.store.AuditHead(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.log.Error("reading the audit head to anchor it", "error_type", fmt.Sprintf("%T", err))
			}
		case h.Seq == 0 || (h.Seq == last.Seq && h.Hash == last.Hash):
			// Nothing new to anchor.
		default:
			s.log.Info("audit anchor", "sequence", h.Seq, "hash", h.Hash, "key_id", h.KeyID, "entry_time", h.Time)
			if s.cfg.AuditAnchorFile != "" {
				if err := audit.AppendAnchor(s.cfg.AuditAnchorFile, audit.AnchorOf(h, s.cfg.Now())); err != nil {
					s.log.Error("writing the audit anchor", "file", s.cfg.AuditAnchorFile, "error", err)
					break
				}
			}
			last = h
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
