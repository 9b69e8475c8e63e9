package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/access/principal"
	"github.com/fengdu-county/casework/internal/blob"
	"github.com/fengdu-county/casework/server"
)

// A marker no ciphertext holds by chance: the stored blobs must not.
const attachmentMarker = "ATTACHMENT-PLAINTEXT-病历-MARKER"

// fileOf makes a file of a type told by its first bytes, of about size
// bytes, holding the marker.
func fileOf(magic string, size int) []byte {
	b := []byte(magic + attachmentMarker + "\n")
	for len(b) < size {
		b = append(b, "0123456789abcdefghijklmnopqrstuvwxyz "+attachmentMarker+"\n"...)
	}
	return b
}

var (
	pdfMagic = "%PDF-1.7\n"
	pngMagic = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
	jpgMagic = "\xff\xd8\xff\xe0\x00\x10JFIF\x00"
	exeMagic = "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
)

// upload sends file over gRPC in 64 KiB chunks.
func upload(ctx context.Context, conn *grpc.ClientConn, meta *pb.AttachmentUpload, file []byte) (*pb.Attachment, error) {
	stream, err := pb.NewAttachmentServiceClient(conn).UploadAttachment(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&pb.UploadAttachmentRequest{Part: &pb.UploadAttachmentRequest_Metadata{Metadata: meta}}); err != nil {
		return nil, err
	}
	for len(file) > 0 {
		n := min(len(file), 64<<10)
		if err := stream.Send(&pb.UploadAttachmentRequest{Part: &pb.UploadAttachmentRequest_Chunk{Chunk: file[:n]}}); err != nil {
			if errors.Is(err, io.EOF) {
				break // the server ended the call: CloseAndRecv says why
			}
			return nil, err
		}
		file = file[n:]
	}
	a, err := stream.CloseAndRecv()
	// A client stream passes no unary interceptor: the rule watch is shown
	// its refusals (ATTACHMENT_FILES) here.
	if st, ok := status.FromError(err); ok && err != nil {
		rulesSeen.fromStatus("grpc", st)
	}
	return a, err
}

func download(ctx context.Context, conn *grpc.ClientConn, name string) ([]byte, string, error) {
	stream, err := pb.NewAttachmentServiceClient(conn).DownloadAttachment(ctx, &pb.DownloadAttachmentRequest{Name: name})
	if err != nil {
		return nil, "", err
	}
	var out []byte
	var contentType string
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, contentType, nil
		}
		if err != nil {
			return nil, "", err
		}
		if contentType == "" {
			contentType = msg.GetContentType()
		}
		out = append(out, msg.GetData()...)
	}
}

func uploadMeta(parent, fileName, declared string) *pb.AttachmentUpload {
	return &pb.AttachmentUpload{Parent: parent, Attachment: &pb.Attachment{FileName: fileName, DeclaredContentType: declared,
		Kind: pb.Attachment_KIND_ACCOMPANY_APPROVAL, Description: "部队随军审批表"}}
}

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func testAttachments(t *testing.T, e *env) {
	c := e.grpcClient(t)
	f := e.family(t, c)
	cs := must(c.CreateCase(employmentCase(f))).ok(t)
	ctx := ctxFor(t)

	// gRPC: a client stream in, a server stream out, byte for byte.
	pdf := fileOf(pdfMagic, 700<<10)
	a := must(upload(ctx, e.conn, uploadMeta(cs.GetName(), `C:\scans\张伟 随军审批.pdf`, "application/pdf"), pdf)).ok(t)
	if a.GetFileName() != "张伟 随军审批.pdf" || a.GetContentType() != "application/pdf" || a.GetSizeBytes() != int64(len(pdf)) ||
		a.GetSha256() != hexSHA(pdf) || a.GetUploader() != supervisorUser || a.GetEtag() == "" {
		t.Fatalf("uploaded: %v", a)
	}
	got, ct, err := download(ctx, e.conn, a.GetName())
	if err != nil || !bytes.Equal(got, pdf) || ct != "application/pdf" || hexSHA(got) != a.GetSha256() {
		t.Fatalf("gRPC download: %d bytes, %q, %v", len(got), ct, err)
	}

	// HTTP: multipart and raw body in, the file itself out.
	png := fileOf(pngMagic, 50<<10)
	pngAtt := e.uploadMultipart(t, e.http, cs.GetName(), "孩子 入学通知.png", "image/png", png, http.StatusOK)
	jpg := fileOf(jpgMagic, 90<<10)
	jpgAtt := e.uploadRaw(t, e.http, cs.GetName(), "病历.jpg", "image/jpeg", jpg, http.StatusOK)
	for _, x := range []struct {
		att  map[string]any
		want []byte
		ct   string
	}{{pngAtt, png, "image/png"}, {jpgAtt, jpg, "image/jpeg"}, {map[string]any{"name": a.GetName()}, pdf, "application/pdf"}} {
		name, _ := x.att["name"].(string)
		code, hdr, body, err := e.doHTTP(t, e.http, e.httpBase+"/v1/"+name+":download", http.MethodGet, nil, 0, nil)
		if err != nil || code != http.StatusOK || !bytes.Equal(body, x.want) || hdr.Get("Content-Type") != x.ct ||
			!strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment; filename*=UTF-8''") {
			t.Fatalf("HTTP download of %s: %d %q %q, %d bytes, %v", name, code, hdr.Get("Content-Type"), hdr.Get("Content-Disposition"), len(body), err)
		}
		if sha, _ := x.att["sha256"].(string); sha != "" && sha != hexSHA(body) {
			t.Errorf("%s: sha256 %s, downloaded %s", name, sha, hexSHA(body))
		}
	}

	// Every download is audited: one gRPC and one HTTP of the PDF.
	var downloads int64
	if err := e.db.Gorm.Table("audit_log").Where("action = ? AND resource = ?", "download", a.GetName()).Count(&downloads).Error; err != nil || downloads != 2 {
		t.Errorf("audited downloads of %s: %d, %v; want 2", a.GetName(), downloads, err)
	}

	// Bytes that lie about their type are refused, over both transports,
	// and nothing is stored.
	rows, parts := e.attachmentCounts(t)
	for _, lie := range [][]byte{fileOf(exeMagic, 10<<10), fileOf("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10<<10), fileOf("<!DOCTYPE html><html>", 10<<10)} {
		st := must(upload(ctx, e.conn, uploadMeta(cs.GetName(), "approval.pdf", "application/pdf"), lie)).fails(t, codes.InvalidArgument)
		wantReason(t, st, pb.ErrorReason_ATTACHMENT_TYPE_MISMATCH)
		e.uploadRaw(t, e.http, cs.GetName(), "approval.pdf", "application/pdf", lie, http.StatusBadRequest)
	}
	st := must(upload(ctx, e.conn, uploadMeta(cs.GetName(), "a.exe", "application/x-msdownload"), fileOf(exeMagic, 100))).fails(t, codes.InvalidArgument)
	wantReason(t, st, pb.ErrorReason_ATTACHMENT_TYPE_NOT_ALLOWED)
	if r, p := e.attachmentCounts(t); r != rows || p != parts {
		t.Errorf("refused types stored something: rows %d→%d, blob parts %d→%d", rows, r, parts, p)
	}

	// AIP-155: a retry under the same request id answers the first
	// upload and keeps no second copy; another file under it is refused.
	retried := uploadMeta(cs.GetName(), "retry.pdf", "application/pdf")
	retried.RequestId = "att-retry-1"
	doc := fileOf(pdfMagic, 20<<10)
	first := must(upload(ctx, e.conn, retried, doc)).ok(t)
	rows, parts = e.attachmentCounts(t)
	again := must(upload(ctx, e.conn, retried, doc)).ok(t)
	if again.GetName() != first.GetName() || again.GetEtag() != first.GetEtag() {
		t.Errorf("retry answered %s, first %s", again.GetName(), first.GetName())
	}
	if r, p := e.attachmentCounts(t); r != rows || p != parts {
		t.Errorf("a retry stored something: rows %d→%d, blob parts %d→%d", rows, r, parts, p)
	}
	st = must(upload(ctx, e.conn, retried, fileOf(pdfMagic, 21<<10))).fails(t, codes.AlreadyExists)
	wantReason(t, st, pb.ErrorReason_REQUEST_ID_REUSED)
	// The metadata comes first, once.
	stream, err := pb.NewAttachmentServiceClient(e.conn).UploadAttachment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&pb.UploadAttachmentRequest{Part: &pb.UploadAttachmentRequest_Chunk{Chunk: doc}})
	_, err = stream.CloseAndRecv()
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("an upload without metadata: %v", err)
	}

	// Over the limit: refused while streaming, over both transports.
	smallBase, smallConn := e.serveWith(t, e.db.Store(), func(cfg *server.Config) { cfg.AttachmentMaxBytes = 256 << 10 })
	big := fileOf(pdfMagic, 1<<20)
	st = must(upload(ctx, smallConn, uploadMeta(cs.GetName(), "big.pdf", "application/pdf"), big)).fails(t, codes.ResourceExhausted)
	wantReason(t, st, pb.ErrorReason_ATTACHMENT_TOO_LARGE)
	code, _, _, _ := e.doHTTP(t, e.http, smallBase+"/v1/"+cs.GetName()+"/attachments", http.MethodPost, bytes.NewReader(big), int64(len(big)),
		http.Header{"Content-Type": {"application/pdf"}, server.MetadataHeader: {metaJSON(t, "big.pdf")}})
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP upload over the limit: %d, want 413", code)
	}
	if r, p := e.attachmentCounts(t); r != rows || p != parts {
		t.Errorf("refused uploads stored something: rows %d→%d, blob parts %d→%d", rows, r, parts, p)
	}

	// At rest: the blobs are ciphertext, the names sealed.
	var leaked int64
	if err := e.db.Gorm.Table("attachment_blob_parts").Where("data LIKE ?", "%"+attachmentMarker[:20]+"%").Count(&leaked).Error; err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	if err := e.db.Gorm.Table("attachment_blob_parts").Pluck("data", &blobs).Error; err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		if bytes.Contains(b, []byte(attachmentMarker)) || bytes.Contains(b, []byte(pdfMagic)) {
			leaked++
		}
	}
	var names int64
	_ = e.db.Gorm.Table("attachments").Where("file_name LIKE ?", "%张伟%").Count(&names).Error
	if leaked > 0 || names > 0 || len(blobs) == 0 {
		t.Errorf("at rest: %d blob parts hold plaintext, %d file names in clear (of %d parts)", leaked, names, len(blobs))
	}

	e.attachmentsInDir(t, cs)
	e.attachmentScope(t, cs, a)

	// Soft delete: with a stale etag refused, then hidden, then gone from
	// downloads; show_deleted still lists it.
	svc := pb.NewAttachmentServiceClient(e.conn)
	must(svc.DeleteAttachment(ctx, &pb.DeleteAttachmentRequest{Name: a.GetName(), Etag: "v99"})).fails(t, codes.Aborted)
	deleted := must(svc.DeleteAttachment(ctx, &pb.DeleteAttachmentRequest{Name: a.GetName(), Etag: a.GetEtag()})).ok(t)
	if deleted.GetDeleteTime() == nil || deleted.GetEtag() == a.GetEtag() {
		t.Errorf("deleted: %v", deleted)
	}
	live := must(svc.ListAttachments(ctx, &pb.ListAttachmentsRequest{Parent: cs.GetName()})).ok(t)
	all := must(svc.ListAttachments(ctx, &pb.ListAttachmentsRequest{Parent: cs.GetName(), ShowDeleted: true})).ok(t)
	// The retried upload is there once; the local store's server and the
	// matrix's caseworker each uploaded and deleted one more.
	if len(live.GetAttachments()) != 3 || len(all.GetAttachments()) != 6 {
		t.Errorf("after delete: %d live, %d with deleted; want 3 and 6", len(live.GetAttachments()), len(all.GetAttachments()))
	}
	if _, _, err := download(ctx, e.conn, a.GetName()); status.Code(err) != codes.NotFound {
		t.Errorf("download of a deleted attachment: %v", err)
	}
	code, _, _, _ = e.doHTTP(t, e.http, e.httpBase+"/v1/"+a.GetName(), http.MethodDelete, nil, 0, nil)
	if code != http.StatusNotFound {
		t.Errorf("HTTP delete of a deleted attachment: %d", code)
	}
	history := must(pb.NewCaseServiceClient(e.conn).ListCaseHistory(ctx, &pb.ListCaseHistoryRequest{Parent: cs.GetName()})).ok(t)
	methods := map[string]int{}
	for _, h := range history.GetEntries() {
		methods[h.GetMethod()]++
	}
	if methods["UploadAttachment"] != 6 || methods["DeleteAttachment"] != 3 {
		t.Errorf("case history: %v", methods)
	}
	var events int64
	_ = e.db.Gorm.Table("events").Where("resource LIKE ?", cs.GetName()+"/attachments/%").Count(&events).Error
	if events != 9 {
		t.Errorf("feed events of the case's attachments: %d, want 9", events)
	}
}

// attachmentScope is the role and town matrix.
func (e *env) attachmentScope(t *testing.T, cs *pb.Case, a *pb.Attachment) {
	ctx := ctxFor(t)
	town := cs.GetTownCode()
	other := "500230105"
	if town == other {
		other = "500230101"
	}
	as := func(user string, role principal.Role, towns ...string) (*grpc.ClientConn, *http.Client) {
		tok := e.token(t, user, []principal.Role{role}, towns...)
		return e.dial(t, tok), e.httpAs(tok)
	}
	// A caseworker of the town works with the case's documents.
	own, _ := as("att-caseworker", principal.Caseworker, town)
	mine := must(upload(ctx, own, uploadMeta(cs.GetName(), "判决书.pdf", "application/pdf"), fileOf(pdfMagic, 5000))).ok(t)
	if _, _, err := download(ctx, own, a.GetName()); err != nil {
		t.Errorf("the town's caseworker downloads: %v", err)
	}
	must(pb.NewAttachmentServiceClient(own).DeleteAttachment(ctx, &pb.DeleteAttachmentRequest{Name: mine.GetName()})).ok(t)
	// Another town's caseworker is told nothing is there.
	stranger, strangerHTTP := as("att-stranger", principal.Caseworker, other)
	svc := pb.NewAttachmentServiceClient(stranger)
	must(svc.GetAttachment(ctx, &pb.GetAttachmentRequest{Name: a.GetName()})).fails(t, codes.NotFound)
	must(svc.ListAttachments(ctx, &pb.ListAttachmentsRequest{Parent: cs.GetName()})).fails(t, codes.NotFound)
	if _, _, err := download(ctx, stranger, a.GetName()); status.Code(err) != codes.NotFound {
		t.Errorf("another town's download: %v", err)
	}
	must(upload(ctx, stranger, uploadMeta(cs.GetName(), "x.pdf", "application/pdf"), fileOf(pdfMagic, 100))).fails(t, codes.NotFound)
	code, _, _, _ := e.doHTTP(t, strangerHTTP, e.httpBase+"/v1/"+a.GetName()+":download", http.MethodGet, nil, 0, nil)
	if code != http.StatusNotFound {
		t.Errorf("another town's HTTP download: %d", code)
	}
	e.uploadRaw(t, strangerHTTP, cs.GetName(), "x.pdf", "application/pdf", fileOf(pdfMagic, 100), http.StatusNotFound)
	// An auditor sees that the document is there, masked, and cannot open it.
	auditor, auditorHTTP := as("att-auditor", principal.Auditor)
	seen := must(pb.NewAttachmentServiceClient(auditor).GetAttachment(ctx, &pb.GetAttachmentRequest{Name: a.GetName()})).ok(t)
	if seen.GetFileName() != "***.pdf" || seen.GetDescription() != "" || seen.GetSha256() != a.GetSha256() {
		t.Errorf("the auditor's view: %v", seen)
	}
	if _, _, err := download(ctx, auditor, a.GetName()); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the auditor's download: %v", err)
	}
	code, _, _, _ = e.doHTTP(t, auditorHTTP, e.httpBase+"/v1/"+a.GetName()+":download", http.MethodGet, nil, 0, nil)
	if code != http.StatusForbidden {
		t.Errorf("the auditor's HTTP download: %d", code)
	}
	e.uploadRaw(t, auditorHTTP, cs.GetName(), "x.pdf", "application/pdf", fileOf(pdfMagic, 100), http.StatusForbidden)
	// Systems have no part in documents.
	for _, role := range []principal.Role{principal.Integration, principal.Batch} {
		conn, _ := as("att-"+string(role), role)
		must(pb.NewAttachmentServiceClient(conn).ListAttachments(ctx, &pb.ListAttachmentsRequest{Parent: cs.GetName()})).fails(t, codes.PermissionDenied)
	}
}

func metaJSON(t *testing.T, fileName string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"attachment": map[string]any{
		"fileName": fileName, "kind": "KIND_HOSPITAL_RECORD", "description": "住院病历"}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) uploadRaw(t *testing.T, hc *http.Client, parent, fileName, contentType string, file []byte, want int) map[string]any {
	t.Helper()
	code, _, body, err := e.doHTTP(t, hc, e.httpBase+"/v1/"+parent+"/attachments", http.MethodPost, bytes.NewReader(file), int64(len(file)),
		http.Header{"Content-Type": {contentType}, server.MetadataHeader: {metaJSON(t, fileName)}})
	return uploadAnswer(t, code, body, err, want)
}

func (e *env) uploadMultipart(t *testing.T, hc *http.Client, parent, fileName, contentType string, file []byte, want int) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	meta, _ := mw.CreateFormField("metadata")
	_, _ = meta.Write([]byte(metaJSON(t, "")))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+fileName+`"`)
	h.Set("Content-Type", contentType)
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(file)
	_ = mw.Close()
	code, _, body, err := e.doHTTP(t, hc, e.httpBase+"/v1/"+parent+"/attachments", http.MethodPost, &buf, int64(buf.Len()),
		http.Header{"Content-Type": {mw.FormDataContentType()}})
	return uploadAnswer(t, code, body, err, want)
}

func uploadAnswer(t *testing.T, code int, body []byte, err error, want int) map[string]any {
	t.Helper()
	if err != nil || code != want {
		t.Fatalf("HTTP upload: %d %s, %v; want %d", code, body, err, want)
	}
	var out map[string]any
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("HTTP upload answer: %v", err)
		}
	}
	return out
}

func (e *env) attachmentCounts(t *testing.T) (rows, parts int64) {
	t.Helper()
	if err := e.db.Gorm.Table("attachments").Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if err := e.db.Gorm.Table("attachment_blob_parts").Count(&parts).Error; err != nil {
		t.Fatal(err)
	}
	return rows, parts
}

// attachmentsInDir runs a server on the embedded default's local directory
// store: the file round-trips, and the directory holds only ciphertext.
func (e *env) attachmentsInDir(t *testing.T, cs *pb.Case) {
	dir := t.TempDir()
	store, err := blob.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	base, conn := e.serveWith(t, e.db.Store(), func(cfg *server.Config) { cfg.AttachmentBlobs = store })
	pdf := fileOf(pdfMagic, 300<<10)
	a := must(upload(ctxFor(t), conn, uploadMeta(cs.GetName(), "local.pdf", "application/pdf"), pdf)).ok(t)
	code, _, body, err := e.doHTTP(t, e.http, base+"/v1/"+a.GetName()+":download", http.MethodGet, nil, 0, nil)
	if err != nil || code != http.StatusOK || !bytes.Equal(body, pdf) {
		t.Fatalf("download from the local store: %d, %d bytes, %v", code, len(body), err)
	}
	files, err := os.ReadDir(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("the local store holds %d files (%v), want 1", len(files), err)
	}
	stored, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte(attachmentMarker)) || bytes.Contains(stored, []byte(pdfMagic)) {
		t.Error("the local store holds plaintext")
	}
	// The file is this server's; another store does not have it.
	if _, _, err := download(ctxFor(t), e.conn, a.GetName()); err == nil {
		t.Error("a server on another store downloaded a file it does not hold")
	}
	must(pb.NewAttachmentServiceClient(conn).DeleteAttachment(ctxFor(t), &pb.DeleteAttachmentRequest{Name: a.GetName()})).ok(t)
}
