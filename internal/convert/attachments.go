package convert

import (
	"strings"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/names"
	"github.com/fengdu-county/casework/repository"
)

// attachmentKindPrefix is the enum's prefix, left out of the stored kind.
const attachmentKindPrefix = "KIND_"

// AttachmentToProto renders an attachment as stored; masking is the
// handler's.
func AttachmentToProto(a *repository.Attachment) *pb.Attachment {
	return &pb.Attachment{
		Name:                names.Attachment{CaseID: a.CaseID, ID: a.ID}.String(),
		FileName:            a.FileName,
		DeclaredContentType: a.DeclaredContentType,
		ContentType:         a.ContentType,
		SizeBytes:           a.SizeBytes,
		Sha256:              a.Sha256,
		Kind:                pb.Attachment_Kind(pb.Attachment_Kind_value[attachmentKindPrefix+a.Kind]),
		Description:         a.Description,
		Uploader:            a.Uploader,
		CreateTime:          timestamp(a.CreateTime),
		DeleteTime:          optTimestamp(a.DeleteTime),
		Etag:                a.Etag(),
	}
}

// AttachmentFromProto copies the writable fields of p onto a.
func AttachmentFromProto(p *pb.Attachment, a *repository.Attachment) {
	a.FileName = p.GetFileName()
	a.DeclaredContentType = p.GetDeclaredContentType()
	a.Kind = strings.TrimPrefix(p.GetKind().String(), attachmentKindPrefix)
	a.Description = p.GetDescription()
}
