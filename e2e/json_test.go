package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// obj is a decoded JSON object.
type obj = map[string]any

// decodeJSON decodes body into an object, failing the test otherwise.
func decodeJSON(t *testing.T, body []byte) obj {
	t.Helper()
	var o obj
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("response is not a JSON object: %v: %.300s", err, body)
	}
	return o
}

// wantJSON sends a JSON request and checks the HTTP status; an error body
// must also carry grpcCode as its numeric "code".
func (e *env) wantJSON(t *testing.T, method, path, body string, httpStatus int, grpcCode codes.Code) obj {
	t.Helper()
	code, out := e.jsonHTTP(t, method, path, body)
	if code != httpStatus {
		t.Fatalf("%s %s: HTTP %d, want %d: %.500s", method, path, code, httpStatus, out)
	}
	o := decodeJSON(t, out)
	if httpStatus != http.StatusOK {
		if got, _ := o["code"].(float64); codes.Code(got) != grpcCode {
			t.Errorf("%s %s: JSON code %v, want %d (%v): %s", method, path, o["code"], grpcCode, grpcCode, out)
		}
		if msg, _ := o["message"].(string); msg == "" {
			t.Errorf("%s %s: error without a message: %s", method, path, out)
		}
	}
	return o
}

func str(o obj, keys ...string) string {
	var v any = o
	for _, k := range keys {
		m, _ := v.(obj)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// testJSON speaks to the gateway with hand-written JSON, as a caseworker's
// frontend or a batch job does, and checks the wire names and error shapes.
func testJSON(t *testing.T, e *env) {
	smID := e.idNumber(servicememberBirth)
	household := fmt.Sprintf(`{"servicemember":{"name":"刘强","idNumber":%q,"serviceBranch":"SERVICE_BRANCH_NAVY","rankCategory":"RANK_CATEGORY_OFFICER",
		"postType":"POST_TYPE_BORDER_COASTAL_DEFENCE"},"category":"HOUSEHOLD_CATEGORY_ACTIVE_DUTY_FAMILY",
		"townCode":"500230102","hardship":true}`, smID)

	t.Run("bad_input", func(t *testing.T) {
		e.wantJSON(t, "POST", "/v1/households", strings.Replace(household, `"hardship":true`, `"hardship":true,"colour":"red"`, 1),
			http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "POST", "/v1/households", household[:len(household)/2], http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "POST", "/v1/households", `[1,2,3]`, http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "POST", "/v1/households", strings.Replace(household, `"POST_TYPE_BORDER_COASTAL_DEFENCE"`, `"POST_TYPE_SPACE"`, 1),
			http.StatusBadRequest, codes.InvalidArgument)
		bad := e.wantJSON(t, "POST", "/v1/households", strings.Replace(household, smID, smID[:17], 1), http.StatusBadRequest, codes.InvalidArgument)
		details, _ := bad["details"].([]any)
		found := false
		for _, d := range details {
			d, _ := d.(obj)
			if d["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
				continue
			}
			for _, v := range d["fieldViolations"].([]any) {
				found = found || str(v.(obj), "field") == "household.servicemember.id_number"
			}
		}
		if !found {
			t.Errorf("no BadRequest field violation for household.servicemember.id_number in %v", bad)
		}
		// Nothing was stored by any of them.
		if got := e.wantJSON(t, "GET", "/v1/households", "", http.StatusOK, 0); len(got["households"].([]any)) != 0 {
			t.Errorf("refused households were stored: %v", got["households"])
		}
	})

	h := e.wantJSON(t, "POST", "/v1/households", household, http.StatusOK, 0)
	hName := str(h, "name")
	if !strings.HasPrefix(hName, "households/") || str(h, "servicemember", "postType") != "POST_TYPE_BORDER_COASTAL_DEFENCE" ||
		str(h, "etag") == "" || str(h, "createTime") == "" || h["memberCount"] == nil || str(h, "townCode") != "500230102" {
		t.Fatalf("household JSON: %v", h)
	}
	e.wantJSON(t, "POST", "/v1/households", household, http.StatusConflict, codes.AlreadyExists)

	childID := e.idNumber(childBirth)
	child := e.wantJSON(t, "POST", "/v1/"+hName+"/members", fmt.Sprintf(
		`{"relation":"RELATION_CHILD","displayName":"刘小红","idNumber":%q,"birthDate":{"year":2016,"month":9,"day":1}}`, childID),
		http.StatusOK, 0)
	e.wantJSON(t, "POST", "/v1/"+hName+"/members", fmt.Sprintf(
		`{"relation":"RELATION_CHILD","displayName":"刘小红","idNumber":%q,"birthDate":{"year":2016,"month":9,"day":2}}`, e.idNumber(childBirth)),
		http.StatusBadRequest, codes.InvalidArgument)

	t.Run("lookup", func(t *testing.T) {
		for _, id := range []string{smID, childID} {
			got := e.wantJSON(t, "POST", "/v1/households:lookup", fmt.Sprintf(`{"idNumber":%q}`, id), http.StatusOK, 0)
			if str(got, "name") != hName {
				t.Errorf("lookup = %s, want %s", str(got, "name"), hName)
			}
		}
		e.wantJSON(t, "POST", "/v1/households:lookup", fmt.Sprintf(`{"idNumber":%q}`, e.idNumber(fatherBirth)), http.StatusNotFound, codes.NotFound)
	})

	cs := e.wantJSON(t, "POST", "/v1/cases", fmt.Sprintf(`{"household":%q,"subject":%q,
		"schoolEnrollment":{"schoolStage":"SCHOOL_STAGE_PRIMARY","requestedSchool":"名山小学","schoolYear":"2026-2027"}}`,
		hName, str(child, "name")), http.StatusOK, 0)
	cName := str(cs, "name")
	if str(cs, "caseType") != "CASE_TYPE_SCHOOL_ENROLLMENT" || str(cs, "status") != "CASE_STATUS_DRAFT" ||
		str(cs, "priority") != "CASE_PRIORITY_FIRST" || str(cs, "schoolEnrollment", "schoolYear") != "2026-2027" {
		t.Errorf("case JSON: %v", cs)
	}
	reasons, _ := cs["priorityReasons"].([]any)
	if !slices.Equal(reasons, []any{"PRIORITY_REASON_BORDER_COASTAL_DEFENCE", "PRIORITY_REASON_HARDSHIP_HOUSEHOLD"}) {
		t.Errorf("priorityReasons = %v", cs["priorityReasons"])
	}
	// Output-only and unknown fields in a case body.
	e.wantJSON(t, "POST", "/v1/cases", fmt.Sprintf(`{"household":%q,"subject":%q,"legalAid":{},"severity":"HIGH"}`, hName, str(child, "name")),
		http.StatusBadRequest, codes.InvalidArgument)

	t.Run("transitions", func(t *testing.T) {
		e.wantJSON(t, "POST", "/v1/"+cName+":accept", `{}`, http.StatusBadRequest, codes.FailedPrecondition)
		sub := e.wantJSON(t, "POST", "/v1/"+cName+":submit", `{}`, http.StatusOK, 0)
		if str(sub, "status") != "CASE_STATUS_SUBMITTED" || str(sub, "dueTime") == "" {
			t.Errorf("submitted case JSON: %v", sub)
		}
		again := e.wantJSON(t, "POST", "/v1/"+cName+":submit", `{}`, http.StatusBadRequest, codes.FailedPrecondition)
		if !strings.Contains(str(again, "message"), "CASE_STATUS_SUBMITTED") {
			t.Errorf("illegal transition message %q does not name CASE_STATUS_SUBMITTED", str(again, "message"))
		}
		e.wantJSON(t, "POST", "/v1/"+cName+":reject", `{}`, http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "POST", "/v1/"+cName+":reject", `{"reason":""}`, http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "POST", "/v1/"+cName+":submit", `{"etag":`, http.StatusBadRequest, codes.InvalidArgument)

		// PATCH: the etag is required and must be current.
		e.wantJSON(t, "PATCH", "/v1/"+cName, `{"schoolEnrollment":{"requestedSchool":"实验小学"}}`, http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "PATCH", "/v1/"+cName, `{"etag":"1","schoolEnrollment":{"requestedSchool":"实验小学"}}`, http.StatusConflict, codes.Aborted)
		patched := e.wantJSON(t, "PATCH", "/v1/"+cName, fmt.Sprintf(`{"etag":%q,"schoolEnrollment":{"requestedSchool":"实验小学"}}`, str(sub, "etag")),
			http.StatusOK, 0)
		// The mask the gateway derives from the body touches only what was sent.
		if str(patched, "schoolEnrollment", "requestedSchool") != "实验小学" || str(patched, "schoolEnrollment", "schoolYear") != "2026-2027" {
			t.Errorf("patched case JSON: %v", patched["schoolEnrollment"])
		}
		e.wantJSON(t, "PATCH", "/v1/"+cName, fmt.Sprintf(`{"etag":%q,"status":"CASE_STATUS_CLOSED"}`, str(patched, "etag")),
			http.StatusBadRequest, codes.InvalidArgument)
		hist := e.wantJSON(t, "GET", "/v1/"+cName+"/history", "", http.StatusOK, 0)
		entries, _ := hist["entries"].([]any)
		if len(entries) != 3 || str(entries[1].(obj), "fromStatus") != "CASE_STATUS_DRAFT" || str(entries[1].(obj), "toStatus") != "CASE_STATUS_SUBMITTED" {
			t.Errorf("history JSON: %v", hist)
		}
	})

	t.Run("list_query", func(t *testing.T) {
		q := url.Values{"filter": {`case_type = SCHOOL_ENROLLMENT AND status = CASE_STATUS_SUBMITTED`}, "pageSize": {"10"}}
		got := e.wantJSON(t, "GET", "/v1/cases?"+q.Encode(), "", http.StatusOK, 0)
		list, _ := got["cases"].([]any)
		if len(list) != 1 || str(list[0].(obj), "name") != cName {
			t.Errorf("filtered list: %v", got)
		}
		e.wantJSON(t, "GET", "/v1/cases?pageSize=501", "", http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "GET", "/v1/cases?pageSize=ten", "", http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "GET", "/v1/cases?"+url.Values{"filter": {"colour = RED"}}.Encode(), "", http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "GET", "/v1/cases?"+url.Values{"orderBy": {"name"}}.Encode(), "", http.StatusBadRequest, codes.InvalidArgument)
		e.wantJSON(t, "GET", "/v1/cases?pageToken=abc", "", http.StatusBadRequest, codes.InvalidArgument)
	})

	t.Run("oversized", func(t *testing.T) {
		note := `{"body":"` + strings.Repeat("x", 5<<20) + `"}`
		for _, chunked := range []bool{false, true} {
			// The server may answer and close before the client has sent
			// the whole body; the client then sometimes sees only the reset.
			// A few tries make sure the answer itself is seen.
			var code int
			var out []byte
			var err error
			for try := 0; try < 5; try++ {
				n := int64(len(note))
				var body io.Reader = strings.NewReader(note)
				if chunked {
					n, body = -1, io.MultiReader(strings.NewReader(note)) // length unknown: sent chunked
				}
				if code, out, err = e.tryHTTP(t, "POST", "/v1/"+cName+"/notes", body, n); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("oversized body (chunked=%v): no answer in 5 tries: %v", chunked, err)
			}
			if code != http.StatusRequestEntityTooLarge && code != http.StatusBadRequest {
				t.Errorf("oversized body (chunked=%v): HTTP %d, want 413 or 400: %.200s", chunked, code, out)
			}
		}
		if notes := e.wantJSON(t, "GET", "/v1/"+cName+"/notes", "", http.StatusOK, 0); len(notes["notes"].([]any)) != 0 {
			t.Errorf("an oversized note was stored")
		}
		c := e.grpcClient(t)
		must(c.CreateNote(cName, strings.Repeat("x", 5<<20))).fails(t, codes.ResourceExhausted)
		// Under the transport limit, the field's own limit applies.
		must(c.CreateNote(cName, strings.Repeat("x", 8193))).fails(t, codes.InvalidArgument)
	})

	t.Run("routes", func(t *testing.T) {
		code, _ := e.jsonHTTP(t, "GET", "/v1/nothing-here", "")
		if code != http.StatusNotFound {
			t.Errorf("unknown route: HTTP %d, want 404", code)
		}
		e.wantJSON(t, "GET", "/v1/cases/"+"0190c0de-0000-7000-8000-000000000000", "", http.StatusNotFound, codes.NotFound)
		e.wantJSON(t, "DELETE", "/v1/"+hName, "", http.StatusBadRequest, codes.FailedPrecondition)
	})
}
