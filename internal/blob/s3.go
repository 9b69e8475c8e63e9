package blob

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config locates a bucket of an S3-compatible object store.
type S3Config struct {
	Endpoint  string // host:port, without scheme
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string //nolint:gosec // a field that holds the secret, filled from the environment only
	Insecure  bool   // plain HTTP, for a store on the same host or in tests
	Prefix    string // put before every key, so one bucket can serve several deployments
}

// S3 keeps blobs as objects of one bucket. Paths, not virtual hosts, name
// the bucket: the self-hosted stores a county runs (MinIO and the like)
// answer those whatever their DNS.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

// s3PartBytes is the part size of an upload of unknown length: the
// client holds one part in memory, so the least S3 allows.
const s3PartBytes = 5 << 20

// NewS3 connects to the bucket; it does not create it.
func NewS3(cfg S3Config) (*S3, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       !cfg.Insecure,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, err
	}
	return &S3{client: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

func (s *S3) object(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put uploads r's bytes under key; S3 makes the object visible only once
// the whole of it is stored.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	// An upload of unknown length is sent without a Content-Length,
	// which some stores refuse for an empty object: that one is sized.
	br := bufio.NewReader(r)
	size := int64(-1)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		size = 0
	} else if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, s.bucket, name, br, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream", PartSize: s3PartBytes,
		// The payload is sealed and authenticated already; signing it
		// too would make the client read each part twice.
		DisableContentSha256: true})
	return err
}

// Get opens the object under key. A missing object is found out by a stat
// first: minio's reader reports it only at the first read.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if _, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{}); err != nil {
		return nil, s3Error(err)
	}
	o, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Error(err)
	}
	return o, nil
}

// Delete removes the object under key.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	// S3 answers a delete of a missing object with success, so ask first:
	// the interface tells a missing blob apart.
	if _, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{}); err != nil {
		return s3Error(err)
	}
	return s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
}

// List lists the objects under the prefix, by key, their times the
// objects' last modification.
func (s *S3) List(ctx context.Context, after string, limit int) ([]Info, error) {
	// Cancelling stops minio's listing goroutine once the page is full.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true, MaxKeys: limit}
	if after != "" {
		opts.StartAfter = s.prefix + after
	}
	var out []Info
	for o := range s.client.ListObjects(ctx, s.bucket, opts) {
		if o.Err != nil {
			return nil, s3Error(o.Err)
		}
		key := strings.TrimPrefix(o.Key, s.prefix)
		if CheckKey(key) != nil {
			continue // not one of ours: a deeper path under the prefix
		}
		out = append(out, Info{Key: key, Stored: o.LastModified})
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func s3Error(err error) error {
	if resp := minio.ToErrorResponse(err); resp.Code == "NoSuchKey" || resp.StatusCode == 404 {
		return ErrNotFound
	}
	return err
}
