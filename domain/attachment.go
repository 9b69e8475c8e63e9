package domain

import (
	"mime"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
)

// The documents a case keeps are scans and photographs of paper: approvals,
// admission letters, hospital records, court papers. County policy keeps
// them in the formats every office can open and none can run: PDF, JPEG and
// PNG. Anything else (an office document with macros, an archive, a web
// page, a program) is refused however it is named.
var attachmentTypes = map[string]bool{
	"application/pdf": true,
	"image/jpeg":      true,
	"image/png":       true,
}

// attachmentTypeAliases are names clients send for an allowed type.
var attachmentTypeAliases = map[string]string{
	"image/jpg":         "image/jpeg",
	"image/pjpeg":       "image/jpeg",
	"application/x-pdf": "application/pdf",
}

// AttachmentSniffBytes is how much of a file's start DetectContentType
// needs; an upload holds that much back before storing anything.
const AttachmentSniffBytes = 3072

// Errors of an attachment's bytes. Nothing is stored when one is returned.
var (
	ErrAttachmentTooLarge error = attachmentError("the attachment is larger than the server accepts")
	// ErrAttachmentTypeMismatch: the bytes are not what the upload declared.
	ErrAttachmentTypeMismatch error = attachmentError("the attachment's bytes are not of the content type it declares")
	// ErrAttachmentTypeNotAllowed: neither declared nor found is a kept type.
	ErrAttachmentTypeNotAllowed error = attachmentError("attachments are kept as PDF, JPEG or PNG only")
)

// attachmentError is a refusal of a file under ATTACHMENT_FILES, which the
// answer names.
type attachmentError string

func (e attachmentError) Error() string { return string(e) }

// Rule is the rule of the table that refuses the file.
func (attachmentError) Rule() RuleID { return RuleAttachmentFiles }

// DetectContentType names the media type of a file from its first bytes
// (AttachmentSniffBytes of them, or all of a shorter file), without
// parameters.
func DetectContentType(head []byte) string {
	return baseType(mimetype.Detect(head).String())
}

// CheckAttachmentType decides whether a file may be kept: its detected
// type must be an allowed one and the one it declared. A declared type
// that is allowed but not what the bytes are is a lie about the file (a
// program named .pdf), told apart from a plainly unsupported file.
func CheckAttachmentType(declared, detected string) error {
	declared = NormalizeContentType(declared)
	switch {
	case attachmentTypes[detected] && declared == detected:
		return nil
	case attachmentTypes[declared]:
		return ErrAttachmentTypeMismatch
	default:
		return ErrAttachmentTypeNotAllowed
	}
}

// NormalizeContentType lowercases a media type, drops its parameters and
// maps the aliases of allowed types to their registered names.
func NormalizeContentType(t string) string {
	t = baseType(t)
	if alias, ok := attachmentTypeAliases[t]; ok {
		return alias
	}
	return t
}

func baseType(t string) string {
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		return mt
	}
	return strings.ToLower(strings.TrimSpace(t))
}

// maxFileNameBytes keeps a file name within what every file system and
// the Content-Disposition header of a download take.
const maxFileNameBytes = 255

// SanitizeFileName keeps what a file name says and drops what could harm
// whoever saves the download: directories (either slash), control and
// format characters (a right-to-left override can make "exe.pdf" of
// "fdp.exe"), and leading dots. Chinese names are kept. A name with
// nothing left is "attachment".
func SanitizeFileName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(strings.ToValidUTF8(name, ""))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	for len(name) > maxFileNameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "/" {
		return "attachment"
	}
	return name
}

// MaskFileName hides a file name from a caller without the full view,
// keeping its extension so the list still tells a scan from a photograph.
func MaskFileName(name string) string {
	ext := path.Ext(name)
	if utf8.RuneCountInString(ext) > 8 {
		ext = ""
	}
	return "***" + ext
}
