package server

// The HTTP forms of AttachmentService's two streaming calls. grpc-gateway
// cannot read a multipart body into a client stream, nor answer a stream of
// HttpBody as one file (it would put a newline after every piece), so these
// two routes are handlers of our own on the gateway's mux. They do no
// checking of their own: each opens the same gRPC call over the gateway's
// in-process connection, with the metadata the generated handlers send, so
// authentication, rate limits, the role table, validation, the refusal
// audit and the service's rules are the ones a gRPC client meets.

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/apierr"
	"github.com/fengdu-county/casework/service"
)

const (
	uploadPattern   = "/v1/{parent=cases/*}/attachments"
	downloadPattern = "/v1/{name=cases/*/attachments/*}:download"
	uploadMethod    = "/casework.v1.AttachmentService/UploadAttachment"
	downloadMethod  = "/casework.v1.AttachmentService/DownloadAttachment"
	// An operation's file is answered over HTTP through the streaming
	// method rather than the unary one the contract binds to the path.
	resultPattern = "/v1/{name=operations/*}:download"
	resultMethod  = "/casework.v1.OperationService/StreamOperationResult"
	// MetadataHeader carries a raw-body upload's AttachmentUpload as JSON:
	// a header, not the URL, since a file name may name a person.
	MetadataHeader = "X-Attachment-Metadata"
	// uploadPiece is how much of the body one message of the stream
	// carries.
	uploadPiece = 256 << 10
	// uploadOverhead is what a multipart body may hold beyond the file:
	// boundaries, part headers and the metadata part.
	uploadOverhead = 1 << 20
)

// uploadPath is an upload's path, which gets the attachment limit rather
// than the limit of a JSON body.
var uploadPath = regexp.MustCompile(`^/v1/cases/[^/]+/attachments$`)

// errUploadForm refuses a body that is neither multipart with a metadata
// part and a file part nor a raw body with the metadata header.
var errUploadForm = domain.Invalid("metadata",
	"send multipart/form-data with a part \"metadata\" (the AttachmentUpload as JSON) and then a part \"file\", or the file as the body with the metadata as JSON in the "+MetadataHeader+" header")

// registerFileRoutes puts the handlers of files on the gateway's mux,
// over the routes generated from the contract: an attachment's upload, and
// the downloads of attachments and operations' files, streamed.
func (s *Server) registerFileRoutes(gw *runtime.ServeMux) error {
	if err := gw.HandlePath(http.MethodPost, uploadPattern, s.uploadHTTP(gw)); err != nil {
		return err
	}
	err := gw.HandlePath(http.MethodGet, downloadPattern, s.downloadHTTP(gw, downloadMethod, downloadPattern,
		func(ctx context.Context, name string) (grpc.ServerStreamingClient[httpbody.HttpBody], error) {
			return pb.NewAttachmentServiceClient(s.gwClient).DownloadAttachment(ctx, &pb.DownloadAttachmentRequest{Name: name})
		}))
	if err != nil {
		return err
	}
	return gw.HandlePath(http.MethodGet, resultPattern, s.downloadHTTP(gw, resultMethod, resultPattern,
		func(ctx context.Context, name string) (grpc.ServerStreamingClient[httpbody.HttpBody], error) {
			return pb.NewOperationServiceClient(s.gwClient).StreamOperationResult(ctx, &pb.StreamOperationResultRequest{Name: name})
		}))
}

func (s *Server) uploadHTTP(gw *runtime.ServeMux) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, out := runtime.MarshalerForRequest(gw, r)
		ctx, err := runtime.AnnotateContext(r.Context(), gw, r, uploadMethod, runtime.WithHTTPPathPattern(uploadPattern))
		if err == nil {
			var header metadata.MD
			var resp *pb.Attachment
			if resp, err = s.upload(ctx, r, params["parent"], &header); err == nil {
				ctx = runtime.NewServerMetadataContext(ctx, runtime.ServerMetadata{HeaderMD: header})
				runtime.ForwardResponseMessage(ctx, gw, out, w, r, resp)
				return
			}
		}
		answerError(ctx, gw, out, w, r, err)
	}
}

// upload reads the body's metadata and file and sends them as the gRPC
// stream does.
func (s *Server) upload(ctx context.Context, r *http.Request, parent string, header *metadata.MD) (*pb.Attachment, error) {
	meta, file, err := uploadParts(r)
	if err != nil {
		return nil, err
	}
	// The path names the case; a body naming another is refused by
	// validation of the first message, never silently moved.
	if meta.GetParent() == "" {
		meta.Parent = parent
	} else if meta.GetParent() != parent {
		return nil, domain.Invalid("metadata.parent", "must be the case the path names")
	}
	stream, err := pb.NewAttachmentServiceClient(s.gwClient).UploadAttachment(ctx, grpc.Header(header))
	if err != nil {
		return nil, err
	}
	if err := sendUpload(stream, meta, file); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	// io.EOF from Send: the service ended the call early (too large, a
	// type refused); its answer says why.
	return stream.CloseAndRecv()
}

func sendUpload(stream grpc.ClientStreamingClient[pb.UploadAttachmentRequest, pb.Attachment], meta *pb.AttachmentUpload, file io.Reader) error {
	if err := stream.Send(&pb.UploadAttachmentRequest{Part: &pb.UploadAttachmentRequest_Metadata{Metadata: meta}}); err != nil {
		return err
	}
	buf := make([]byte, uploadPiece)
	for {
		n, err := io.ReadFull(file, buf)
		if n > 0 {
			if sErr := stream.Send(&pb.UploadAttachmentRequest{Part: &pb.UploadAttachmentRequest_Chunk{Chunk: buf[:n]}}); sErr != nil {
				return sErr
			}
		}
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		case err != nil:
			return bodyError(err, errBodyUnreadable)
		}
	}
}

var errBodyUnreadable = apierr.New(codes.InvalidArgument, pb.ErrorReason_INVALID_ARGUMENT, "the request body could not be read")

// bodyError tells a body over the HTTP server's cap from one that broke
// (answered as otherwise).
func bodyError(err, otherwise error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return domain.ErrAttachmentTooLarge
	}
	return otherwise
}

// uploadParts finds the metadata and the file in a multipart body (the
// metadata part first, so the file can be streamed), or in the header and
// the raw body. The declared type defaults to the file's Content-Type.
func uploadParts(r *http.Request) (*pb.AttachmentUpload, io.Reader, error) {
	meta := &pb.AttachmentUpload{}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		raw := r.Header.Get(MetadataHeader)
		if raw == "" || protojson.Unmarshal([]byte(raw), meta) != nil {
			return nil, nil, errUploadForm
		}
		declareType(meta, r.Header.Get("Content-Type"))
		return meta, r.Body, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, errUploadForm
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "metadata" {
		return nil, nil, errUploadForm
	}
	raw, err := io.ReadAll(io.LimitReader(part, 64<<10))
	if err != nil || protojson.Unmarshal(raw, meta) != nil {
		return nil, nil, errUploadForm
	}
	file, err := nextFilePart(mr)
	if err != nil {
		return nil, nil, err
	}
	if meta.GetAttachment() != nil && meta.GetAttachment().GetFileName() == "" {
		meta.Attachment.FileName = file.FileName()
	}
	declareType(meta, file.Header.Get("Content-Type"))
	return meta, file, nil
}

func nextFilePart(mr *multipart.Reader) (*multipart.Part, error) {
	part, err := mr.NextPart()
	if err != nil {
		return nil, bodyError(err, errUploadForm)
	}
	if part.FormName() != "file" {
		return nil, errUploadForm
	}
	return part, nil
}

func declareType(meta *pb.AttachmentUpload, contentType string) {
	if a := meta.GetAttachment(); a != nil && a.GetDeclaredContentType() == "" {
		a.DeclaredContentType = domain.NormalizeContentType(contentType)
	}
}

// downloadHTTP answers a file as the stream open starts it sends it,
// piece by piece: the status line and headers once its first piece is
// there, so that an error before it is answered as any call's.
func (s *Server) downloadHTTP(gw *runtime.ServeMux, method, pattern string,
	open func(ctx context.Context, name string) (grpc.ServerStreamingClient[httpbody.HttpBody], error)) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, out := runtime.MarshalerForRequest(gw, r)
		ctx, err := runtime.AnnotateContext(r.Context(), gw, r, method, runtime.WithHTTPPathPattern(pattern))
		if err != nil {
			answerError(ctx, gw, out, w, r, err)
			return
		}
		stream, err := open(ctx, params["name"])
		if err != nil {
			answerError(ctx, gw, out, w, r, err)
			return
		}
		first, err := stream.Recv()
		if err != nil {
			answerError(ctx, gw, out, w, r, err)
			return
		}
		header, err := stream.Header()
		if err != nil {
			answerError(ctx, gw, out, w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", first.GetContentType())
		h.Set("X-Content-Type-Options", "nosniff")
		if cd := header.Get(service.ContentDispositionKey); len(cd) > 0 {
			h.Set("Content-Disposition", cd[0])
		}
		if id := header.Get(requestIDKey); len(id) > 0 {
			h.Set("X-Request-Id", id[0])
		}
		w.WriteHeader(http.StatusOK)
		for msg := first; ; {
			if _, err := w.Write(msg.GetData()); err != nil {
				return
			}
			if msg, err = stream.Recv(); errors.Is(err, io.EOF) {
				return
			} else if err != nil {
				// The status line is out: cut the connection, so the client
				// sees a broken transfer, never a complete-looking file.
				panic(http.ErrAbortHandler)
			}
		}
	}
}

// answerError answers an upload's or download's error as the gateway
// answers any call's: a status from the services as it is, one raised
// here rewritten. An attachment over the limit is 413, as a body over the
// server's cap is, rather than the 429 of its gRPC code.
func answerError(ctx context.Context, gw *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(apierr.ToStatus(err))
	if apierr.Reason(st.Err()) == pb.ErrorReason_ATTACHMENT_TOO_LARGE {
		writeStatus(w, http.StatusRequestEntityTooLarge, st.Err())
		return
	}
	gatewayErrors(ctx, gw, m, w, r, &serverStatus{st: st})
}
