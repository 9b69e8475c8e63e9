package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/repository"
)

// apiKeyFor builds, without storing, an integration key for account valid
// for a year, and returns it with its secret.
func (e *env) apiKeyFor(account string, mods ...func(*repository.APIKey)) (*repository.APIKey, string) {
	e.t.Helper()
	id, secret, _, err := authn.NewAPIKey()
	must(e.t, err, "authn.NewAPIKey")
	k := &repository.APIKey{ID: id, Account: account, Roles: repository.List[principal.Role]{principal.Integration},
		SecretHash: authn.HashSecret(secret), ExpireTime: e.clock.Now().AddDate(1, 0, 0), Creator: "users/test-admin"}
	for _, m := range mods {
		m(k)
	}
	return k, secret
}

// newAPIKey stores a key made by apiKeyFor.
func (e *env) newAPIKey(account string, mods ...func(*repository.APIKey)) (*repository.APIKey, string) {
	e.t.Helper()
	k, secret := e.apiKeyFor(account, mods...)
	e.clock.Advance(e.step)
	must(e.t, e.s.CreateAPIKey(e.ctx, k), "CreateAPIKey")
	return k, secret
}

func apiKeyIDs(ks []repository.APIKey) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

var apiKeyTests = []test{
	{"RolesAndTownsAreCommaJoinedText", func(t *testing.T, e *env) {
		k, _ := e.newAPIKey("svc-format", func(k *repository.APIKey) {
			k.Roles = repository.List[principal.Role]{principal.Integration, principal.Batch}
			k.Towns = repository.List[string]{townA, townB}
		})
		var raw struct{ Roles, Towns string }
		must(t, e.db.Raw("SELECT roles, towns FROM api_keys WHERE id = ?", k.ID).Scan(&raw).Error, "read the raw key")
		if raw.Roles != "integration,batch" || raw.Towns != townA+","+townB {
			t.Fatalf("stored roles %q, towns %q", raw.Roles, raw.Towns)
		}
		must(t, e.db.Exec("UPDATE api_keys SET roles = 'batch', towns = '' WHERE id = ?", k.ID).Error, "rewrite the key")
		got, err := e.s.GetAPIKey(e.ctx, k.ID)
		must(t, err, "GetAPIKey")
		if !slices.Equal(got.Roles, repository.List[principal.Role]{principal.Batch}) || got.Towns != nil {
			t.Fatalf("read back roles %#v, towns %#v", got.Roles, got.Towns)
		}
	}},
	{"ApprovalBySecondAdmin", func(t *testing.T, e *env) {
		k, secret := e.newAPIKey("svc-people", func(k *repository.APIKey) {
			k.Roles, k.NeedsApproval = repository.List[principal.Role]{principal.Supervisor}, true
		})
		rec, err := e.s.APIKeyByID(e.ctx, k.ID)
		must(t, err, "APIKeyByID")
		if _, err := rec.Principal(e.clock.Now(), secret); err == nil {
			t.Fatalf("a key awaiting approval admitted its holder")
		}
		_, err = e.s.ApproveAPIKey(e.ctx, k.ID, k.Creator)
		wantErr(t, err, repository.ErrSelfApproval, "approval by the key's creator")
		got, err := e.s.ApproveAPIKey(e.ctx, k.ID, "users/second-admin")
		must(t, err, "ApproveAPIKey")
		if got.Approver != "users/second-admin" || got.ApproveTime == nil {
			t.Errorf("approved key: approver %q time %v", got.Approver, got.ApproveTime)
		}
		rec, err = e.s.APIKeyByID(e.ctx, k.ID)
		must(t, err, "APIKeyByID")
		if _, err := rec.Principal(e.clock.Now(), secret); err != nil {
			t.Errorf("an approved key refused its holder: %v", err)
		}
		_, err = e.s.ApproveAPIKey(e.ctx, k.ID, "users/third-admin")
		var pre *domain.PreconditionError
		if !errors.As(err, &pre) {
			t.Errorf("approving an approved key: %v, want a precondition error", err)
		}
		// A key that needs no approval cannot be approved either.
		plain, _ := e.newAPIKey("svc-plain")
		_, err = e.s.ApproveAPIKey(e.ctx, plain.ID, "users/second-admin")
		if !errors.As(err, &pre) {
			t.Errorf("approving a key that needs none: %v, want a precondition error", err)
		}
	}},
	{"CreateGetListRevoke", func(t *testing.T, e *env) {
		var (
			keys    []*repository.APIKey
			secrets []string
		)
		for _, account := range []string{"svc-e", "svc-d", "svc-c", "svc-b", "svc-a"} {
			k, s := e.newAPIKey(account)
			if !k.CreateTime.Equal(e.nowStored()) || k.RevokeTime != nil {
				t.Fatalf("created key: create time %v, revoke time %v; want %v, nil", k.CreateTime, k.RevokeTime, e.nowStored())
			}
			checkStamped(t, k.CreateTime, "CreateTime")
			checkStamped(t, k.ExpireTime, "ExpireTime")
			got, err := e.s.GetAPIKey(e.ctx, k.ID)
			must(t, err, "GetAPIKey")
			sameRow(t, got, k, "GetAPIKey")
			keys, secrets = append(keys, k), append(secrets, s)
		}
		for _, row := range e.rawRows("SELECT * FROM api_keys") {
			for col, v := range row {
				for _, s := range secrets {
					if strings.Contains(v, s) {
						t.Fatalf("api_keys.%s holds a key's secret", col)
					}
				}
			}
		}
		all, n := pages(t, 2, func(p repository.Page) ([]repository.APIKey, *repository.Cursor, error) {
			return e.s.ListAPIKeys(e.ctx, p)
		})
		sameIDs(t, apiKeyIDs(all), apiKeyIDs(values(keys)), "ListAPIKeys, oldest first")
		if n != 3 {
			t.Fatalf("ListAPIKeys took %d pages of 2 for 5 keys, want 3", n)
		}

		e.clock.Advance(time.Minute)
		revoked, err := e.s.RevokeAPIKey(e.ctx, keys[1].ID)
		must(t, err, "RevokeAPIKey")
		if revoked.RevokeTime == nil || !revoked.RevokeTime.Equal(e.nowStored()) {
			t.Fatalf("revoke time %v, want %v", revoked.RevokeTime, e.nowStored())
		}
		want := *keys[1]
		want.RevokeTime = ptr(e.nowStored())
		got, err := e.s.GetAPIKey(e.ctx, keys[1].ID)
		must(t, err, "GetAPIKey of a revoked key")
		sameRow(t, got, &want, "GetAPIKey of a revoked key")
		_, err = e.s.RevokeAPIKey(e.ctx, keys[1].ID)
		wantErr(t, err, repository.ErrNotFound, "RevokeAPIKey twice")
		_, err = e.s.RevokeAPIKey(e.ctx, "missing")
		wantErr(t, err, repository.ErrNotFound, "RevokeAPIKey of a missing key")
		_, err = e.s.GetAPIKey(e.ctx, "missing")
		wantErr(t, err, repository.ErrNotFound, "GetAPIKey of a missing key")
		all, _ = pages(t, 2, func(p repository.Page) ([]repository.APIKey, *repository.Cursor, error) {
			return e.s.ListAPIKeys(e.ctx, p)
		})
		sameIDs(t, apiKeyIDs(all), apiKeyIDs(values(keys)), "ListAPIKeys keeps revoked keys")
		sameRow(t, &all[1], &want, "the revoked key in the list")
	}},
	{"OneLiveKeyPerAccount", func(t *testing.T, e *env) {
		first, _ := e.newAPIKey("svc-batch")
		second, _ := e.apiKeyFor("svc-batch")
		wantErr(t, e.s.CreateAPIKey(e.ctx, second), repository.ErrAlreadyExists, "a second live key for one account")
		_, err := e.s.GetAPIKey(e.ctx, second.ID)
		wantErr(t, err, repository.ErrNotFound, "the refused key")
		e.newAPIKey("svc-other")
		_, err = e.s.RevokeAPIKey(e.ctx, first.ID)
		must(t, err, "RevokeAPIKey")
		must(t, e.s.CreateAPIKey(e.ctx, second), "a new key after revoking the old one")
		rec, err := e.s.APIKeyByAccount(e.ctx, "svc-batch")
		must(t, err, "APIKeyByAccount")
		if rec.ID != second.ID {
			t.Fatalf("APIKeyByAccount found %s, want the live %s", rec.ID, second.ID)
		}
	}},
	{"Authenticate", func(t *testing.T, e *env) {
		k, secret := e.newAPIKey("svc-veterans", func(k *repository.APIKey) {
			k.Roles = repository.List[principal.Role]{principal.Integration, principal.Batch}
			k.Towns = repository.List[string]{townA, townB}
		})
		_, otherSecret := e.newAPIKey("svc-other")
		byID, err := e.s.APIKeyByID(e.ctx, k.ID)
		must(t, err, "APIKeyByID")
		byAccount, err := e.s.APIKeyByAccount(e.ctx, "svc-veterans")
		must(t, err, "APIKeyByAccount")
		for name, rec := range map[string]*authn.APIKeyRecord{"by id": byID, "by account": byAccount} {
			if rec.ID != k.ID || rec.SecretHash != k.SecretHash || rec.ExpireTime == nil || !rec.ExpireTime.Equal(k.ExpireTime) {
				t.Fatalf("%s: record %+v does not match the key", name, rec)
			}
			p, err := rec.Principal(e.clock.Now(), secret)
			must(t, err, "%s: Principal with the right secret", name)
			if p.ID != "apikey:svc-veterans" || p.Kind != principal.Service || p.Credential != "api-key" ||
				!slices.Equal(p.Roles, []principal.Role{principal.Integration, principal.Batch}) ||
				!slices.Equal(p.Towns, []string{townA, townB}) {
				t.Fatalf("%s: principal %+v", name, p)
			}
			for _, s := range []string{otherSecret, "", secret + "x"} {
				if _, err := rec.Principal(e.clock.Now(), s); err == nil {
					t.Fatalf("%s: a wrong secret authenticated", name)
				}
			}
			if _, err := rec.Principal(k.ExpireTime, secret); err == nil {
				t.Fatalf("%s: the key authenticated at its expiry", name)
			}
		}
		_, err = e.s.APIKeyByID(e.ctx, "missing")
		wantErr(t, err, repository.ErrNotFound, "APIKeyByID of a missing key")
		_, err = e.s.APIKeyByAccount(e.ctx, "svc-missing")
		wantErr(t, err, repository.ErrNotFound, "APIKeyByAccount of a missing account")

		_, err = e.s.RevokeAPIKey(e.ctx, k.ID)
		must(t, err, "RevokeAPIKey")
		rec, err := e.s.APIKeyByID(e.ctx, k.ID)
		must(t, err, "APIKeyByID of a revoked key")
		if _, err := rec.Principal(e.clock.Now(), secret); err == nil {
			t.Fatal("a revoked key authenticated")
		}
		_, err = e.s.APIKeyByAccount(e.ctx, "svc-veterans")
		wantErr(t, err, repository.ErrNotFound, "APIKeyByAccount after revocation")
	}},
}
