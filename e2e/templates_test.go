package e2e

import (
	"context"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain/towns"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/sheet"
	"github.com/fengdu-county/casework/service"
)

// testTemplates downloads the household import template over both
// transports, as those who register households, and opens it again with
// the xlsx library; others are refused, and without a credential it is 401.
func testTemplates(t *testing.T, e *env) {
	ctx := context.Background()
	for _, r := range []principal.Role{principal.Caseworker, principal.Supervisor, principal.Batch} {
		token := e.roleToken(t, r)
		t.Run(string(r)+"/grpc", func(t *testing.T) {
			body, err := pb.NewTemplateServiceClient(e.dial(t, token)).GetHouseholdTemplate(ctx, &pb.GetHouseholdTemplateRequest{})
			if err != nil {
				t.Fatalf("GetHouseholdTemplate: %v", err)
			}
			if body.GetContentType() != service.XLSXContentType {
				t.Errorf("content type %q", body.GetContentType())
			}
			if err := sheet.Check(body.GetData(), towns.Default()); err != nil {
				t.Errorf("template: %v", err)
			}
		})
		t.Run(string(r)+"/http", func(t *testing.T) {
			resp, err := e.httpAs(token).Get(e.httpBase + "/v1/templates/households.xlsx")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			data, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, data)
			}
			if ct := resp.Header.Get("Content-Type"); ct != service.XLSXContentType {
				t.Errorf("Content-Type %q", ct)
			}
			if err := sheet.Check(data, towns.Default()); err != nil {
				t.Errorf("template: %v", err)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		for _, r := range []principal.Role{principal.Auditor, principal.Integration, principal.Admin} {
			_, err := pb.NewTemplateServiceClient(e.dial(t, e.roleToken(t, r))).GetHouseholdTemplate(ctx, &pb.GetHouseholdTemplateRequest{})
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("%s over gRPC: %v, want PermissionDenied", r, err)
			}
			resp, err := e.httpAs(e.roleToken(t, r)).Get(e.httpBase + "/v1/templates/households.xlsx")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s over HTTP: %d, want 403", r, resp.StatusCode)
			}
		}
		_, err := pb.NewTemplateServiceClient(e.dial(t, "")).GetHouseholdTemplate(ctx, &pb.GetHouseholdTemplateRequest{})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("no credential over gRPC: %v, want Unauthenticated", err)
		}
		resp, err := e.httpAs("").Get(e.httpBase + "/v1/templates/households.xlsx")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no credential over HTTP: %d, want 401", resp.StatusCode)
		}
	})
}
