package service

import (
	"context"
	"log/slog"
	"time"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// AlertStore is what alerts need from storage.
type AlertStore interface {
	ListAlerts(ctx context.Context, q repository.AlertQuery) ([]repository.Alert, *repository.Cursor, error)
	GetAlert(ctx context.Context, id, assignee string) (*repository.Alert, error)
	AcknowledgeAlert(ctx context.Context, id, etag, assignee, actor string) (*repository.Alert, error)
	RaiseAlerts(ctx context.Context, now time.Time, window time.Duration, newID func() string) (int, error)
}

// Alerts implements pb.AlertServiceServer, and the scan that raises the
// alerts (run by the job queue).
type Alerts struct {
	pb.UnimplementedAlertServiceServer
	base
	store  AlertStore
	window time.Duration
	log    *slog.Logger
}

// NewAlerts builds the alert service; window is how long before a case's
// due time it is due soon (0: domain.DefaultAlertWindow).
func NewAlerts(store AlertStore, window time.Duration, v protovalidate.Validator, o Options, log *slog.Logger) *Alerts {
	if window <= 0 {
		window = domain.DefaultAlertWindow
	}
	return &Alerts{base: newBase(v, o), store: store, window: window, log: log}
}

// Scan raises the alerts due now. Several servers may scan at once: each
// alert is raised by one of them.
func (s *Alerts) Scan(ctx context.Context) error {
	n, err := s.store.RaiseAlerts(ctx, s.now(), s.window, newID)
	if n > 0 && s.log != nil {
		s.log.InfoContext(ctx, "alerts raised", "count", n)
	}
	return err
}

// assigneeOf is whose cases' alerts the caller sees: a supervisor every
// case's of their towns (""), anyone else only the cases assigned to them.
func assigneeOf(ctx context.Context) string {
	p := principal.FromContext(ctx)
	if p == nil {
		return "\x00" // no one is assigned this
	}
	if p.Has(principal.Supervisor) {
		return ""
	}
	return p.ID
}

func (s *Alerts) ListAlerts(ctx context.Context, req *pb.ListAlertsRequest) (*pb.ListAlertsResponse, error) {
	f, err := filter.Parse(req.GetFilter(), repository.AlertFilter)
	if err != nil {
		return nil, filterError(err)
	}
	assignee := assigneeOf(ctx)
	// Bound to the caller's view too: a token of a supervisor's list does
	// not page a caseworker's.
	query := listQuery("alerts", req.GetFilter(), assignee)
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListAlerts(ctx, repository.AlertQuery{Filter: f, Assignee: assignee,
		Page: repository.Page{Size: int(req.GetPageSize()), After: after}})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListAlertsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Alerts = append(resp.Alerts, convert.AlertToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Alerts) GetAlert(ctx context.Context, req *pb.GetAlertRequest) (*pb.Alert, error) {
	n, err := nameOf[names.Alert]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAlert(ctx, n.ID, assigneeOf(ctx))
	if err != nil {
		return nil, err
	}
	return convert.AlertToProto(a), nil
}

func (s *Alerts) AcknowledgeAlert(ctx context.Context, req *pb.AcknowledgeAlertRequest) (*pb.Alert, error) {
	n, err := nameOf[names.Alert]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	a, err := s.store.AcknowledgeAlert(ctx, n.ID, req.GetEtag(), assigneeOf(ctx), s.actor(ctx))
	if err != nil {
		return nil, err
	}
	return convert.AlertToProto(a), nil
}
