package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/principal"
)

// Local tokens let a developer run the server with no identity provider.
const (
	LocalIssuer   = "casework-local"
	LocalAudience = "casework"
	// MaxLocalTTL bounds local tokens, when minted and when verified: they
	// cannot be revoked.
	MaxLocalTTL = 24 * time.Hour

	localKeyFile = "local-signing-key.pem"
)

// LocalSigner mints and verifies development tokens with a key kept in the
// data directory.
type LocalSigner struct {
	key    *ecdsa.PrivateKey
	kid    string
	signer jose.Signer
	jwks   []byte
}

// LoadOrCreateLocalSigner loads the ECDSA P-256 key at
// dataDir/local-signing-key.pem, creating it (mode 0600) on first use, so
// tokens minted by one run stay valid in the next.
func LoadOrCreateLocalSigner(dataDir string) (*LocalSigner, error) {
	path := filepath.Join(dataDir, localKeyFile)
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(dataDir, path)
	}
	if err != nil {
		return nil, err
	}
	return newLocalSigner(key)
}

// LoadLocalSigner loads the key LoadOrCreateLocalSigner made, and fails
// (with an error that errors.Is fs.ErrNotExist) when there is none: a
// token signed with a key the server does not have would be refused.
func LoadLocalSigner(dataDir string) (*LocalSigner, error) {
	key, err := readKey(filepath.Join(dataDir, localKeyFile))
	if err != nil {
		return nil, err
	}
	return newLocalSigner(key)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("authn: %s: no PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("authn: %s: %w", path, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("authn: %s: not an ECDSA P-256 key", path)
	}
	return key, nil
}

// createKey writes a new key to a temporary file and links it into place, so
// a crash never leaves a half-written key and two processes starting at once
// end up sharing whichever key landed first.
func createKey(dataDir, path string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("authn: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, localKeyFile+".tmp*") // created 0600
	if err != nil {
		return nil, fmt.Errorf("authn: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	err = pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("authn: writing signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("authn: %w", err)
	}
	return key, nil
}

func newLocalSigner(key *ecdsa.PrivateKey) (*LocalSigner, error) {
	kid, err := keyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig",
	}}})
	if err != nil {
		return nil, err
	}
	return &LocalSigner{key: key, kid: kid, signer: signer, jwks: jwks}, nil
}

// keyID is base64url of the first 16 bytes of SHA-256 over the PKIX DER
// public key: stable across restarts and different for every key.
func keyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// KeyID returns the kid stamped on minted tokens.
func (s *LocalSigner) KeyID() string { return s.kid }

// JWKS returns the public key as a JSON Web Key Set.
func (s *LocalSigner) JWKS() []byte { return append([]byte(nil), s.jwks...) }

// Mint returns an ES256 token for user, valid for ttl from now. It refuses
// what the verifier would refuse (no valid role) and what it would silently
// drop (unknown roles, malformed towns), so mistakes show at mint time.
func (s *LocalSigner) Mint(user string, roles []principal.Role, towns []string, ttl time.Duration) (string, error) {
	switch {
	case user == "":
		return "", errors.New("authn: empty user")
	case strings.HasPrefix(user, apiKeyPrincipalPrefix):
		return "", errors.New("authn: user id is reserved for API keys")
	case ttl <= 0 || ttl > MaxLocalTTL:
		return "", fmt.Errorf("authn: token lifetime must be in (0, %v]", MaxLocalTTL)
	case len(roles) == 0:
		return "", errors.New("authn: no role")
	}
	for _, r := range roles {
		if !r.Valid() {
			return "", fmt.Errorf("authn: unknown role %q", r)
		}
	}
	for _, t := range towns {
		if !domain.IsTownCode(t) {
			return "", fmt.Errorf("authn: bad town code %q", t)
		}
	}
	now := time.Now()
	std := jwt.Claims{
		Issuer:    LocalIssuer,
		Audience:  jwt.Audience{LocalAudience},
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(ttl)),
	}
	extra := struct {
		Roles []principal.Role `json:"roles"`
		Towns []string         `json:"towns,omitempty"`
	}{roles, towns}
	return jwt.Signed(s.signer).Claims(std).Claims(extra).Serialize()
}

// Verifier returns a verifier for tokens this signer minted. now is the clock
// (nil: time.Now).
func (s *LocalSigner) Verifier(now func() time.Time) *TokenVerifier {
	keys := &keySet{
		inner: &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&s.key.PublicKey}},
		known: func(kid string) bool { return kid == "" || kid == s.kid },
	}
	cfg := OIDCConfig{Issuer: LocalIssuer, Audience: LocalAudience, Now: now}
	v := newVerifier(cfg, keys, []string{oidc.ES256}, "local-token")
	// Mint's cap alone binds only Mint: anything else holding the key
	// (another build, a script) could sign a token for a year.
	v.maxLifetime = MaxLocalTTL
	return v
}
