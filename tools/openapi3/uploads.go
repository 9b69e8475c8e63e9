package main

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// upload is a client-streaming method the server also takes over HTTP as
// a file, by a handler of its own on the gateway's mux (server/
// attachments.go): grpc-gateway binds no client stream with a path
// parameter, so the v2 document has no operation to convert.
type upload struct {
	method   string // the protoAPI key, Service_Method
	path     string
	param    string // the path's one parameter
	metadata string // the message of the stream's first part
	header   string // carries the metadata as JSON beside a raw body
	answer   string // the component schema of the answer
	types    []string
}

var uploads = []upload{{
	method: "AttachmentService_UploadAttachment", path: "/v1/cases/{case}/attachments", param: "case",
	metadata: "AttachmentUpload", header: "X-Attachment-Metadata", answer: "Attachment",
	types: []string{"application/pdf", "image/jpeg", "image/png"},
}}

// addUploads describes each upload: multipart/form-data with the metadata
// part first, or the raw file with its metadata in a header; the answer
// and the errors as for any call that takes a request id and a body.
func addUploads(doc *openapi3.T, api *protoAPI, ex *exampler) error {
	for _, u := range uploads {
		m := api.methods[u.method]
		if m == nil {
			return fmt.Errorf("upload %s: no such method", u.method)
		}
		summary, description := words(m)
		binary := &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Format: "binary"}}
		metaDoc := "The " + u.metadata + " (parent, attachment, request_id) as JSON. The parent may be left out: the path names it."
		content := openapi3.Content{"multipart/form-data": &openapi3.MediaType{
			Schema: &openapi3.SchemaRef{Value: obj(map[string]*openapi3.SchemaRef{
				"metadata": {Value: &openapi3.Schema{
					Type:        &openapi3.Types{openapi3.TypeObject},
					Description: metaDoc + " The file name defaults to the file part's, the declared type to its Content-Type.",
					Properties: openapi3.Schemas{
						"parent":     str("The case, `cases/{case}`; the path's when left out."),
						"attachment": ref(u.answer),
						"requestId":  str("AIP-155: a retry with the same id and the same file answers the first upload."),
					},
					Required: []string{"attachment"},
				}},
				"file": binary,
			}, "metadata", "file")},
			Encoding: map[string]*openapi3.Encoding{"metadata": {ContentType: "application/json"}},
		}}
		for _, t := range u.types {
			content[t] = &openapi3.MediaType{Schema: binary}
		}
		op := &openapi3.Operation{
			OperationID: u.method, Tags: []string{string(m.Parent().Name())}, Summary: summary,
			Description: description,
			Parameters: openapi3.Parameters{
				{Value: &openapi3.Parameter{Name: u.param, In: openapi3.ParameterInPath, Required: true,
					Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}}}},
				{Value: &openapi3.Parameter{Name: u.header, In: openapi3.ParameterInHeader,
					Description: metaDoc + " Required with a raw body; a header, not the URL, since a file name may name a person.",
					Schema:      str(""), Example: `{"attachment":{"fileName":"随军审批.pdf","kind":"KIND_ACCOMPANY_APPROVAL"}}`}},
			},
			RequestBody: &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: true, Content: content,
				Description: "The file, as a multipart form or as the body itself."}},
			Responses: openapi3.NewResponses(),
		}
		answer := ref(u.answer)
		headers := openapi3.Headers{}
		for _, h := range []string{"X-Request-Id", "Idempotent-Replay", "Grpc-Metadata-Idempotent-Replay"} {
			headers[h] = &openapi3.HeaderRef{Ref: "#/components/headers/" + h}
		}
		op.Responses.Set("200", &openapi3.ResponseRef{Value: &openapi3.Response{
			Description: ptr("The attachment as stored."),
			Content:     openapi3.Content{"application/json": &openapi3.MediaType{Schema: answer, Example: ex.example(answer, read, 0)}},
			Headers:     headers,
		}})
		for _, e := range errorResponses(opKind{requestID: true, finds: true}, true) {
			if e.code == "413" {
				e.description = "The file is larger than the server's limit (code 8, ATTACHMENT_TOO_LARGE). Nothing was stored."
				e.example = status(8, "the attachment is larger than the server accepts", "ATTACHMENT_TOO_LARGE", nil)
			}
			op.Responses.Set(e.code, &openapi3.ResponseRef{Value: e.response()})
		}
		item := doc.Paths.Value(u.path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(u.path, item)
		}
		if item.Post != nil {
			return fmt.Errorf("upload %s: %s already has a POST", u.method, u.path)
		}
		item.Post = op
	}
	return nil
}
