package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/url"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/access/policy"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/internal/audit"
	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// BlobStore keeps attachments' bytes (internal/blob, or the database's
// repository.Blobs), sealed by blob.Sealing before they reach it.
type BlobStore interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, after string, limit int) ([]blob.Info, error)
}

// AttachmentStore is the storage AttachmentService needs.
type AttachmentStore interface {
	GetCase(ctx context.Context, id string) (*repository.Case, error)
	CreateAttachment(ctx context.Context, a *repository.Attachment, extra func(ctx context.Context) error) error
	GetAttachment(ctx context.Context, caseID, id string) (*repository.Attachment, error)
	ListAttachments(ctx context.Context, caseID string, showDeleted bool, page repository.Page) ([]repository.Attachment, *repository.Cursor, error)
	DeleteAttachment(ctx context.Context, caseID, id, etag, actor string) (*repository.Attachment, error)
	AppendAudit(ctx context.Context, e *audit.Entry) error
	FindRequest(ctx context.Context, principal, requestID string) (*repository.RequestRecord, error)
	SaveRequest(ctx context.Context, r *repository.RequestRecord, ttl time.Duration) error
}

// DefaultAttachmentMaxBytes is the largest attachment a server takes
// unless configured otherwise: a scanned document of many pages.
const DefaultAttachmentMaxBytes = 20 << 20

// AttachmentOptions configure AttachmentService.
type AttachmentOptions struct {
	Blobs    BlobStore // already sealing
	MaxBytes int64     // 0: DefaultAttachmentMaxBytes
	// RequestIDTTL is how long an upload's request id is remembered.
	RequestIDTTL time.Duration
	Log          *slog.Logger
}

// Attachments implements AttachmentService.
type Attachments struct {
	pb.UnimplementedAttachmentServiceServer
	base
	store AttachmentStore
	opts  AttachmentOptions
}

// NewAttachments builds AttachmentService.
func NewAttachments(store AttachmentStore, v protovalidate.Validator, o Options, ao AttachmentOptions) *Attachments {
	if ao.MaxBytes <= 0 {
		ao.MaxBytes = DefaultAttachmentMaxBytes
	}
	if ao.RequestIDTTL <= 0 {
		ao.RequestIDTTL = 24 * time.Hour
	}
	if ao.Log == nil {
		ao.Log = slog.New(slog.DiscardHandler)
	}
	return &Attachments{base: newBase(v, o), store: store, opts: ao}
}

// uploadMethod is the upload's full method name, which its request id's
// record is kept under.
const uploadMethod = "/casework.v1.AttachmentService/UploadAttachment"

var (
	errNoMetadata = domain.Invalid("metadata", "the first message of an upload must carry the metadata, and only the first")
	// errUploadRequestIDReused: as the interceptor answers a unary call.
	errUploadRequestIDReused = apierr.New(codes.AlreadyExists, pb.ErrorReason_REQUEST_ID_REUSED,
		"this request id was already used for a different request; use a new id for a new request")
)

// UploadAttachment takes the metadata, holds back the file's first bytes
// until its type is known and allowed, then streams the rest into the blob
// store through the size limit and the hash. The row follows the blob; a
// blob whose row does not commit is deleted.
func (s *Attachments) UploadAttachment(stream grpc.ClientStreamingServer[pb.UploadAttachmentRequest, pb.Attachment]) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) || (err == nil && first.GetMetadata() == nil) {
		return errNoMetadata
	}
	if err != nil {
		return err
	}
	meta := first.GetMetadata()
	cid, err := caseID("metadata.parent", meta.GetParent())
	if err != nil {
		return err
	}
	c, err := s.store.GetCase(ctx, cid)
	if err != nil {
		return err
	}
	a := &repository.Attachment{ID: newID(), CaseID: cid, Uploader: s.actor(ctx)}
	convert.AttachmentFromProto(meta.GetAttachment(), a)
	a.FileName = domain.SanitizeFileName(a.FileName)
	a.DeclaredContentType = domain.NormalizeContentType(a.DeclaredContentType)
	body := &uploadBody{stream: stream, max: s.opts.MaxBytes}
	head, err := body.head(domain.AttachmentSniffBytes)
	if err != nil {
		return err
	}
	a.ContentType = domain.DetectContentType(head)
	if err := domain.CheckAttachmentType(a.DeclaredContentType, a.ContentType); err != nil {
		return err
	}
	if err := s.opts.Blobs.Put(ctx, a.ID, body.reader(head)); err != nil {
		s.discard(ctx, a.ID)
		return cmpErr(body.err, err)
	}
	a.SizeBytes, a.Sha256 = body.n, hex.EncodeToString(body.hash.Sum(nil))
	resp, replayed, err := s.record(ctx, a, meta, c.TownCode)
	if err != nil || replayed {
		s.discard(ctx, a.ID)
	}
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

// cmpErr prefers the upload's own refusal (too large, a broken stream) to
// whatever the blob store made of it.
func cmpErr(own, other error) error {
	if own != nil {
		return own
	}
	return other
}

// record writes the row, with the request id's answer in its transaction
// when the upload has one. A retry of a recorded upload gets the first
// answer, and replayed says so: the bytes it sent again are not kept.
func (s *Attachments) record(ctx context.Context, a *repository.Attachment, meta *pb.AttachmentUpload, town string) (*pb.Attachment, bool, error) {
	p := principal.FromContext(ctx)
	id := meta.GetRequestId()
	if id == "" || p == nil {
		if err := s.store.CreateAttachment(ctx, a, nil); err != nil {
			return nil, false, err
		}
		return s.render(ctx, a, town), false, nil
	}
	hash, err := uploadHash(meta, a.Sha256)
	if err != nil {
		return nil, false, err
	}
	if prior, found, err := s.replay(ctx, p.ID, id, hash); found {
		return prior, true, err
	}
	var resp *pb.Attachment
	err = s.store.CreateAttachment(ctx, a, func(ctx context.Context) error {
		// Rendered inside: the row's etag and times are set by now.
		resp = s.render(ctx, a, town)
		body, err := proto.Marshal(resp)
		if err != nil {
			return err
		}
		return s.store.SaveRequest(ctx, &repository.RequestRecord{
			Principal: p.ID, RequestID: id, Method: uploadMethod, RequestHash: hash, Response: body}, s.opts.RequestIDTTL)
	})
	if err != nil {
		// A concurrent attempt with the same id may have won.
		if prior, found, rErr := s.replay(ctx, p.ID, id, hash); found {
			return prior, true, rErr
		}
		return nil, false, err
	}
	return resp, false, nil
}

// replay answers from the record of the caller's request id, if any.
func (s *Attachments) replay(ctx context.Context, principalID, id, hash string) (*pb.Attachment, bool, error) {
	rec, err := s.store.FindRequest(ctx, principalID, id)
	switch {
	case errors.Is(err, repository.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, true, err
	case rec.Method != uploadMethod || rec.RequestHash != hash:
		return nil, true, errUploadRequestIDReused
	}
	prior := &pb.Attachment{}
	if err := proto.Unmarshal(rec.Response, prior); err != nil {
		return nil, true, err
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(ReplayHeader, "true"))
	return prior, true, nil
}

// ReplayHeader marks an answer replayed from a request id's record, as the
// server's idempotency step marks a unary call's.
const ReplayHeader = "idempotent-replay"

// uploadHash identifies an upload by its metadata (without the request id)
// and the SHA-256 of its bytes.
func uploadHash(meta *pb.AttachmentUpload, sha string) (string, error) {
	m := proto.Clone(meta).(*pb.AttachmentUpload)
	m.RequestId = ""
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(uploadMethod))
	h.Write([]byte{0})
	h.Write(b)
	h.Write([]byte{0})
	h.Write([]byte(sha))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// discard deletes the blob of an upload that stored no row. Its own
// context: the call's may be what ended the upload.
func (s *Attachments) discard(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.opts.Blobs.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		// The blob is sealed and named by an id no row holds: it costs
		// space, never exposure.
		s.opts.Log.Warn("deleting the blob of a refused upload", "error_type", fmt.Sprintf("%T", err))
	}
}

// uploadBody reads an upload's chunks as one stream of bytes, counting
// them against the limit and hashing them.
type uploadBody struct {
	stream grpc.ClientStreamingServer[pb.UploadAttachmentRequest, pb.Attachment]
	max    int64
	n      int64
	hash   hash.Hash
	buf    []byte
	eof    bool
	err    error // the refusal the body itself made
}

// head reads up to n bytes, the start of the file a type is told from.
func (b *uploadBody) head(n int) ([]byte, error) {
	b.hash = sha256.New()
	head := make([]byte, 0, n)
	for len(head) < n && !b.eof {
		chunk, err := b.next()
		if err != nil {
			return nil, err
		}
		take := min(n-len(head), len(chunk))
		head = append(head, chunk[:take]...)
		b.buf = chunk[take:]
	}
	return head, nil
}

// reader is the whole file: the head already read, then the rest.
func (b *uploadBody) reader(head []byte) io.Reader {
	b.hash.Write(head)
	return io.MultiReader(bytes.NewReader(head), b)
}

func (b *uploadBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.eof {
			return 0, io.EOF
		}
		chunk, err := b.next()
		if err != nil {
			return 0, err
		}
		b.buf = chunk
	}
	n := copy(p, b.buf)
	b.hash.Write(b.buf[:n])
	b.buf = b.buf[n:]
	return n, nil
}

// next receives the next chunk, refusing the upload once it passes the
// limit: the rest is never read.
func (b *uploadBody) next() ([]byte, error) {
	msg, err := b.stream.Recv()
	if errors.Is(err, io.EOF) {
		b.eof = true
		return nil, nil
	}
	if err != nil {
		return nil, b.fail(err)
	}
	if msg.GetMetadata() != nil {
		return nil, b.fail(errNoMetadata)
	}
	chunk := msg.GetChunk()
	if b.n += int64(len(chunk)); b.n > b.max {
		return nil, b.fail(domain.ErrAttachmentTooLarge)
	}
	return chunk, nil
}

func (b *uploadBody) fail(err error) error {
	b.err = err
	return err
}

// visible reads an attachment of a case the caller may see, with the
// case's town (masking is decided by it).
func (s *Attachments) visible(ctx context.Context, name string) (*repository.Attachment, string, error) {
	n, err := nameOf[names.Attachment]("name", name)
	if err != nil {
		return nil, "", err
	}
	c, err := s.store.GetCase(ctx, n.CaseID)
	if err != nil {
		return nil, "", err
	}
	a, err := s.store.GetAttachment(ctx, n.CaseID, n.ID)
	if err != nil {
		return nil, "", err
	}
	return a, c.TownCode, nil
}

// render masks the file name and description for a caller without the
// full view of the case's town: they may name a person or an illness.
func (s *Attachments) render(ctx context.Context, a *repository.Attachment, town string) *pb.Attachment {
	p := convert.AttachmentToProto(a)
	if !policy.MayViewFull(principal.FromContext(ctx), town) {
		p.FileName, p.Description = domain.MaskFileName(p.FileName), ""
	}
	return p
}

func (s *Attachments) GetAttachment(ctx context.Context, req *pb.GetAttachmentRequest) (*pb.Attachment, error) {
	a, town, err := s.visible(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return s.render(ctx, a, town), nil
}

func (s *Attachments) ListAttachments(ctx context.Context, req *pb.ListAttachmentsRequest) (*pb.ListAttachmentsResponse, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCase(ctx, cid)
	if err != nil {
		return nil, err
	}
	query := listQuery("attachments", req.GetParent(), req.GetShowDeleted())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListAttachments(ctx, cid, req.GetShowDeleted(), repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListAttachmentsResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Attachments = append(resp.Attachments, s.render(ctx, &rows[i], c.TownCode))
	}
	return resp, nil
}

func (s *Attachments) DeleteAttachment(ctx context.Context, req *pb.DeleteAttachmentRequest) (*pb.Attachment, error) {
	n, err := nameOf[names.Attachment]("name", req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetCase(ctx, n.CaseID)
	if err != nil {
		return nil, err
	}
	a, err := s.store.DeleteAttachment(ctx, n.CaseID, n.ID, req.GetEtag(), s.actor(ctx))
	if err != nil {
		return nil, err
	}
	return s.render(ctx, a, c.TownCode), nil
}

// downloadChunk is how much of a file one message of a download carries.
const downloadChunk = 256 << 10

// errAttachmentCorrupt ends a download whose bytes do not hash to what
// the upload recorded: the store lost or altered them.
var errAttachmentCorrupt = errors.New("the attachment's stored bytes do not match its SHA-256")

// DownloadAttachment streams a live attachment's bytes, audited before the
// first byte goes out. The content type is the detected one, never the
// declared; the bytes are checked against the recorded hash as they go,
// and a mismatch ends the stream with an error rather than a clean end.
func (s *Attachments) DownloadAttachment(req *pb.DownloadAttachmentRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	ctx := stream.Context()
	a, _, err := s.visible(ctx, req.GetName())
	if err != nil {
		return err
	}
	if a.DeleteTime != nil {
		return repository.ErrNotFound
	}
	rc, err := s.opts.Blobs.Get(ctx, a.ID)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	resource := names.Attachment{CaseID: a.CaseID, ID: a.ID}.String()
	if err := s.store.AppendAudit(ctx, audit.FromContext(ctx).Entry(audit.ActionDownload, resource, audit.OutcomeOK, nil)); err != nil {
		return err
	}
	if err := stream.SendHeader(metadata.Pairs(ContentDispositionKey,
		"attachment; filename*=UTF-8''"+url.PathEscape(a.FileName))); err != nil {
		return err
	}
	return sendFile(stream, rc, a)
}

func sendFile(stream grpc.ServerStreamingServer[httpbody.HttpBody], r io.Reader, a *repository.Attachment) error {
	h := sha256.New()
	return sendPieces(stream, io.TeeReader(r, h), a.ContentType, func() error {
		if hex.EncodeToString(h.Sum(nil)) != a.Sha256 {
			return errAttachmentCorrupt
		}
		return nil
	})
}

// sendPieces sends what r holds in pieces of downloadChunk, each with
// contentType. complete, when set, is asked once r is read and before its
// last piece goes, so a file it refuses never arrives whole.
func sendPieces(stream grpc.ServerStreamingServer[httpbody.HttpBody], r io.Reader, contentType string, complete func() error) error {
	buf := make([]byte, downloadChunk)
	for sent := false; ; sent = true {
		n, err := io.ReadFull(r, buf)
		end := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !end {
			return err
		}
		if end && complete != nil {
			if err := complete(); err != nil {
				return err
			}
		}
		// An empty file still answers one message, which carries the type.
		if n > 0 || !sent {
			if err := stream.Send(&httpbody.HttpBody{ContentType: contentType, Data: buf[:n]}); err != nil {
				return err
			}
		}
		if end {
			return nil
		}
	}
}
