package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/idnumber"
	"github.com/fengdu-county/casework/internal/sheet"
)

// fileImportResult is the household import of a filled-in template, end
// to end: POST /v1/households:import with the file, polled to its end.
type fileImportResult struct {
	Households int     `json:"households"` // household rows of the file, each with a member row
	FileBytes  int     `json:"file_bytes"`
	Created    int32   `json:"households_created"`
	Seconds    float64 `json:"seconds"` // from the POST to the operation's end
	Error      string  `json:"error,omitempty"`
}

// fileImportRegion is the region code of the file's ID numbers: none of
// the generated county's (regions), so every row is a new household.
const fileImportRegion = "500238"

// importWorkbook is the household template filled with n households of
// the county's first town, each with a spouse, as a clerk's file would be.
func importWorkbook(n int) ([]byte, error) {
	tmpl, err := sheet.HouseholdTemplate(nil)
	if err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(tmpl))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	cells := func(cols []sheet.Column, byField map[string]string) *[]any {
		row := make([]any, len(cols))
		for i, c := range cols {
			row[i] = byField[c.Field]
		}
		return &row
	}
	for i := range n {
		// A day apart per row and a sequence per 1,000 days: distinct numbers.
		birth := time.Date(1975, 1, 1+i%1000, 0, 0, 0, 0, time.UTC)
		sm := idnumber.Make(fileImportRegion, birth, 1+2*(i/1000))
		spouseBirth := birth.AddDate(3, 0, 0)
		r := sheet.FirstDataRow + i
		if err := f.SetSheetRow(sheet.HouseholdSheet, fmt.Sprintf("A%d", r), cells(sheet.HouseholdColumns, map[string]string{
			"servicemember.idNumber": sm, "servicemember.name": fmt.Sprintf("导入军人%d", i),
			"servicemember.rankCategory": "军士", "servicemember.postType": "一般岗位", "servicemember.status": "现役军士",
			"townCode": "三合街道", "phone": "13800000000", "address": "丰都县三合街道",
		})); err != nil {
			return nil, err
		}
		if err := f.SetSheetRow(sheet.MemberSheet, fmt.Sprintf("A%d", r), cells(sheet.MemberColumns, map[string]string{
			"servicemember.idNumber": sm, "relation": "配偶", "displayName": fmt.Sprintf("导入家属%d", i),
			"idNumber": idnumber.Make(fileImportRegion, spouseBirth, 2*(i/1000)), "birthDate": spouseBirth.Format(time.DateOnly),
			"accompanying": "是",
		})); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// importFile imports a template of n households as a county-wide
// supervisor would, and times it from the POST to the operation's end.
func (b *bench) importFile(ctx context.Context, n int) (fileImportResult, error) {
	res := fileImportResult{Households: n}
	fail := func(err error) (fileImportResult, error) {
		res.Error = err.Error()
		return res, err
	}
	data, err := importWorkbook(n)
	if err != nil {
		return fail(err)
	}
	res.FileBytes = len(data)
	start := time.Now()
	op, err := pb.NewSpreadsheetServiceClient(b.conn).ImportHouseholds(b.authCtx(ctx),
		&pb.ImportHouseholdsRequest{Content: data, Filename: "bench.xlsx"})
	if err != nil {
		return fail(fmt.Errorf("ImportHouseholds: %w", err))
	}
	if op, err = b.waitOperation(ctx, op); err != nil {
		return fail(err)
	}
	res.Seconds = time.Since(start).Seconds()
	if st := op.GetError(); st != nil {
		return fail(fmt.Errorf("the import failed: %s", st.GetMessage()))
	}
	var resp pb.ImportHouseholdsResponse
	if err := anypb.UnmarshalTo(op.GetResponse(), &resp, proto.UnmarshalOptions{}); err != nil {
		return fail(err)
	}
	res.Created = resp.GetHouseholdsCreated()
	if int(res.Created) != n || resp.GetMembersCreated() != int32(n) {
		return fail(fmt.Errorf("the import created %d households and %d members of %d each", res.Created, resp.GetMembersCreated(), n))
	}
	return res, nil
}
