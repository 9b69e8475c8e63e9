package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// testNewcomerTrips holds what a new user tripped on: a 401 says how to
// authenticate as RFC 6750 asks, and a PATCH's updateMask in the query may
// name fields as the JSON mapping writes them.
func testNewcomerTrips(t *testing.T, e *env) {
	t.Run("www_authenticate", func(t *testing.T) {
		for _, tc := range []struct {
			name, auth, want string
		}{
			{"no credentials", "", `Bearer realm="casework"`},
			{"a bad token", "Bearer not-a-token", `Bearer realm="casework", error="invalid_token"`},
		} {
			hdr := http.Header{}
			if tc.auth != "" {
				hdr.Set("Authorization", tc.auth)
			}
			code, got, _, err := e.doHTTP(t, &http.Client{}, e.httpBase+"/v1/households", http.MethodGet, nil, 0, hdr)
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusUnauthorized || got.Get("WWW-Authenticate") != tc.want {
				t.Errorf("%s: HTTP %d, WWW-Authenticate %q; want 401 and %q", tc.name, code, got.Get("WWW-Authenticate"), tc.want)
			}
		}
		// A caller without a credential is answered 401 whatever it sent:
		// the body is not read, so a broken one draws no 400.
		for _, tc := range []struct{ name, auth, want string }{
			{"no credentials", "", `Bearer realm="casework"`},
			{"another scheme", "Basic ZGVtbzpkZW1v", `Bearer realm="casework", error="invalid_token"`},
		} {
			hdr := http.Header{"Content-Type": {"application/json"}}
			if tc.auth != "" {
				hdr.Set("Authorization", tc.auth)
			}
			code, got, body, err := e.doHTTP(t, &http.Client{}, e.httpBase+"/v1/households:batchCreate", http.MethodPost,
				strings.NewReader(`{"requests": [{"household": {"servicemember": {"serviceBranch": "NAVYY"}}}], "x": `), -1, hdr)
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusUnauthorized || got.Get("WWW-Authenticate") != tc.want || got.Get("X-Request-Id") == "" ||
				!strings.Contains(string(body), "ErrorInfo") {
				t.Errorf("%s with a broken body: HTTP %d, WWW-Authenticate %q, X-Request-Id %q, %s",
					tc.name, code, got.Get("WWW-Authenticate"), got.Get("X-Request-Id"), body)
			}
		}
		// The gateway's own refusals carry the call's request id too.
		code, got, _, err := e.doHTTP(t, e.httpAs(e.roleToken(t, "caseworker")), e.httpBase+"/v1/households:batchCreate",
			http.MethodPost, strings.NewReader(`{"requests": [`), -1, http.Header{"X-Request-Id": {"nightly-run-7"}})
		if err != nil || code != http.StatusBadRequest || len(got.Values("X-Request-Id")) != 1 || got.Get("X-Request-Id") != "nightly-run-7" {
			t.Errorf("a body the gateway cannot decode: HTTP %d, X-Request-Id %q (%v)", code, got.Values("X-Request-Id"), err)
		}
		// An answer of the services carries it once, not once per layer.
		code, got, _, err = e.doHTTP(t, e.httpAs(e.roleToken(t, "caseworker")), e.httpBase+"/v1/households",
			http.MethodGet, nil, 0, http.Header{"X-Request-Id": {"nightly-run-8"}})
		if err != nil || code != http.StatusOK || len(got.Values("X-Request-Id")) != 1 || got.Get("X-Request-Id") != "nightly-run-8" {
			t.Errorf("a list: HTTP %d, X-Request-Id %q (%v)", code, got.Values("X-Request-Id"), err)
		}
		// Other refusals carry no challenge.
		code, got, _, err = e.doHTTP(t, e.httpAs(e.roleToken(t, "admin")), e.httpBase+"/v1/households", http.MethodGet, nil, 0, nil)
		if err != nil || code != http.StatusForbidden || got.Get("WWW-Authenticate") != "" {
			t.Errorf("a 403: HTTP %d, WWW-Authenticate %q (%v)", code, got.Get("WWW-Authenticate"), err)
		}
	})

	t.Run("update_mask_in_json_names", func(t *testing.T) {
		c := e.httpClient(t)
		f := e.family(t, c)
		cs := must(c.CreateCase(schoolCase(f))).ok(t)
		body := `{"etag": "` + cs.GetEtag() + `", "schoolEnrollment": {"assignedSchool": "丰都县实验小学", "schoolStage": "SCHOOL_STAGE_PRIMARY"}}`
		for _, mask := range []string{"schoolEnrollment.assignedSchool", "school_enrollment.assigned_school"} {
			path := "/v1/" + cs.GetName() + "?updateMask=" + url.QueryEscape(mask)
			code, out := e.jsonHTTP(t, http.MethodPatch, path, body)
			if code != http.StatusOK || !strings.Contains(string(out), "丰都县实验小学") {
				t.Fatalf("PATCH with updateMask=%s: HTTP %d %s", mask, code, out)
			}
			got := must(c.GetCase(cs.GetName())).ok(t)
			body = strings.Replace(body, cs.GetEtag(), got.GetEtag(), 1)
			cs = got
			if got.GetSchoolEnrollment().GetAssignedSchool() != "丰都县实验小学" ||
				got.GetSchoolEnrollment().GetRequestedSchool() != schoolCase(f).GetSchoolEnrollment().GetRequestedSchool() {
				t.Errorf("after PATCH with %s: %v", mask, got.GetSchoolEnrollment())
			}
		}
	})
}
