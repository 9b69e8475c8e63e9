package service

import (
	"context"
	"fmt"
	"sync"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/api/httpbody"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/sheet"
)

// XLSXContentType is the media type of an .xlsx workbook.
const XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Templates implements pb.TemplateServiceServer: the spreadsheets staff
// fill in. The household template depends only on the county's towns,
// fixed for the server's life, so it is written once, on first request.
type Templates struct {
	pb.UnimplementedTemplateServiceServer
	base
	households func() ([]byte, error)
}

// NewTemplates builds the template service over the county's towns.
func NewTemplates(t *towns.Table, v protovalidate.Validator, o Options) *Templates {
	if t == nil {
		t = towns.Default()
	}
	return &Templates{base: newBase(v, o), households: sync.OnceValues(func() ([]byte, error) { return sheet.HouseholdTemplate(t) })}
}

func (s *Templates) GetHouseholdTemplate(_ context.Context, _ *pb.GetHouseholdTemplateRequest) (*httpbody.HttpBody, error) {
	data, err := s.households()
	if err != nil {
		return nil, fmt.Errorf("household template: %w", err)
	}
	return &httpbody.HttpBody{ContentType: XLSXContentType, Data: data}, nil
}
