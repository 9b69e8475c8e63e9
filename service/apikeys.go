package service

import (
	"context"
	"time"

	"buf.build/go/protovalidate"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/authn"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// APIKeyStore is what the API-key service needs from storage.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k *repository.APIKey) error
	GetAPIKey(ctx context.Context, id string) (*repository.APIKey, error)
	ListAPIKeys(ctx context.Context, page repository.Page) ([]repository.APIKey, *repository.Cursor, error)
	RevokeAPIKey(ctx context.Context, id string) (*repository.APIKey, error)
	ApproveAPIKey(ctx context.Context, id, approver string) (*repository.APIKey, error)
}

// APIKeys implements pb.ApiKeyServiceServer.
type APIKeys struct {
	pb.UnimplementedApiKeyServiceServer
	base
	store       APIKeyStore
	peopleRoles bool
}

// NewAPIKeys builds the API-key service.
func NewAPIKeys(store APIKeyStore, v protovalidate.Validator, o Options) *APIKeys {
	return &APIKeys{base: newBase(v, o), store: store, peopleRoles: o.APIKeyPeopleRoles}
}

// maxKeyLifetime bounds how long a key may live: a forgotten key must
// eventually stop working.
const maxKeyLifetime = 2 * 365 * 24 * time.Hour

func (s *APIKeys) apiKeyToProto(k *repository.APIKey) *pb.ApiKey {
	return convert.APIKeyToProto(k, s.now())
}

func (s *APIKeys) CreateApiKey(ctx context.Context, req *pb.CreateApiKeyRequest) (*pb.CreateApiKeyResponse, error) {
	p := req.GetApiKey()
	now := s.now()
	exp := p.GetExpireTime().AsTime()
	switch {
	case p.GetExpireTime() == nil:
		return nil, domain.Invalid("api_key.expire_time", "is required: no key lives forever")
	case !exp.After(now):
		return nil, domain.Invalid("api_key.expire_time", "must be in the future")
	case exp.Sub(now) > maxKeyLifetime:
		return nil, domain.Invalid("api_key.expire_time", "may be at most two years away")
	}
	k := &repository.APIKey{}
	convert.APIKeyFromProto(p, k)
	needsApproval, err := policy.KeyNeedsApproval(k.Roles, s.peopleRoles)
	if err != nil {
		return nil, err
	}
	id, secret, full, err := authn.NewAPIKey()
	if err != nil {
		return nil, err
	}
	k.ID, k.SecretHash, k.Creator, k.NeedsApproval = id, authn.HashSecret(secret), s.actor(ctx), needsApproval
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return nil, err
	}
	return &pb.CreateApiKeyResponse{ApiKey: s.apiKeyToProto(k), Secret: full}, nil
}

func (s *APIKeys) GetApiKey(ctx context.Context, req *pb.GetApiKeyRequest) (*pb.ApiKey, error) {
	n, err := nameOf[names.APIKey]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	k, err := s.store.GetAPIKey(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	return s.apiKeyToProto(k), nil
}

func (s *APIKeys) ListApiKeys(ctx context.Context, req *pb.ListApiKeysRequest) (*pb.ListApiKeysResponse, error) {
	query := listQuery("apiKeys")
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListAPIKeys(ctx, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListApiKeysResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.ApiKeys = append(resp.ApiKeys, s.apiKeyToProto(&rows[i]))
	}
	return resp, nil
}

func (s *APIKeys) RevokeApiKey(ctx context.Context, req *pb.RevokeApiKeyRequest) (*pb.ApiKey, error) {
	n, err := nameOf[names.APIKey]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	k, err := s.store.RevokeAPIKey(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	return s.apiKeyToProto(k), nil
}

func (s *APIKeys) ApproveApiKey(ctx context.Context, req *pb.ApproveApiKeyRequest) (*pb.ApiKey, error) {
	n, err := nameOf[names.APIKey]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	k, err := s.store.ApproveAPIKey(ctx, n.ID, s.actor(ctx))
	if err != nil {
		return nil, err
	}
	return s.apiKeyToProto(k), nil
}
