package service

import (
	"bytes"
	"context"
	"net/url"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// ReportStore is what the reports read; repository.Store is one.
type ReportStore interface {
	CaseStatistics(ctx context.Context, q repository.StatisticsQuery) (*repository.Statistics, error)
	AppendAudit(ctx context.Context, e *audit.Entry) error
}

// Reports implements ReportService: the statistics of the model-county
// evaluation, as an answer and as a workbook.
type Reports struct {
	pb.UnimplementedReportServiceServer
	base
	store ReportStore
	towns *towns.Table
}

// NewReports builds the report service.
func NewReports(store ReportStore, t *towns.Table, v protovalidate.Validator, o Options) *Reports {
	if t == nil {
		t = towns.Default()
	}
	return &Reports{base: newBase(v, o), store: store, towns: t}
}

// statisticsRequest is what both methods ask.
type statisticsRequest interface {
	GetPeriod() *pb.StatisticsPeriod
	GetTownCode() string
}

func (s *Reports) GetCaseStatistics(ctx context.Context, req *pb.GetCaseStatisticsRequest) (*pb.CaseStatistics, error) {
	return s.statistics(ctx, req)
}

func (s *Reports) statistics(ctx context.Context, req statisticsRequest) (*pb.CaseStatistics, error) {
	q, err := s.query(ctx, req)
	if err != nil {
		return nil, err
	}
	st, err := s.store.CaseStatistics(ctx, q)
	if err != nil {
		return nil, err
	}
	return convert.StatisticsToProto(st, q, s.towns), nil
}

// query checks the period and the town asked. A town of the county but
// not of the caller's is refused rather than answered with zeros, which
// would read as a town where nothing happened.
func (s *Reports) query(ctx context.Context, req statisticsRequest) (repository.StatisticsQuery, error) {
	q := repository.StatisticsQuery{Town: req.GetTownCode(), Now: s.now()}
	var err error
	if q.Period, err = periodOf(req.GetPeriod()); err != nil {
		return q, err
	}
	if q.Town == "" {
		return q, nil
	}
	if err := domain.CheckTownCode("town_code", q.Town, s.towns); err != nil {
		return q, err
	}
	if !principal.ScopeFrom(ctx).Allows(q.Town) {
		return q, repository.ErrOutOfScope
	}
	return q, nil
}

// periodOf is the period p names; protovalidate has checked its numbers.
func periodOf(p *pb.StatisticsPeriod) (domain.Period, error) {
	switch v := p.GetPeriod().(type) {
	case *pb.StatisticsPeriod_Year:
		return domain.YearPeriod(int(v.Year)), nil
	case *pb.StatisticsPeriod_Quarter:
		return domain.QuarterPeriod(int(v.Quarter.GetYear()), int(v.Quarter.GetQuarter())), nil
	case *pb.StatisticsPeriod_Month:
		return domain.MonthPeriod(int(v.Month.GetYear()), int(v.Month.GetMonth())), nil
	case *pb.StatisticsPeriod_Dates:
		first, err := convert.TimeOfDate("period.dates.start_date", v.Dates.GetStartDate())
		if err != nil {
			return domain.Period{}, err
		}
		last, err := convert.TimeOfDate("period.dates.end_date", v.Dates.GetEndDate())
		if err != nil {
			return domain.Period{}, err
		}
		return domain.DatesPeriod(first, last)
	}
	return domain.Period{}, domain.Invalid("period", "one of year, quarter, month or dates is required")
}

// DownloadCaseStatistics answers the statistics as a workbook, audited:
// whoever takes the figures away is on record.
func (s *Reports) DownloadCaseStatistics(ctx context.Context, req *pb.DownloadCaseStatisticsRequest) (*httpbody.HttpBody, error) {
	st, err := s.statistics(ctx, req)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeStatistics(&buf, st); err != nil {
		return nil, err
	}
	entry := audit.FromContext(ctx).Entry(audit.ActionDownload, names.CaseStatistics{}.String(), audit.OutcomeOK, nil)
	if err := s.store.AppendAudit(ctx, entry); err != nil {
		return nil, err
	}
	// RFC 6266/5987: the name is Chinese, so it goes percent-encoded.
	_ = grpc.SetHeader(ctx, metadata.Pairs(ContentDispositionKey,
		"attachment; filename*=UTF-8''"+url.PathEscape(statisticsFileName(st))))
	return &httpbody.HttpBody{ContentType: xlsxType, Data: buf.Bytes()}, nil
}
