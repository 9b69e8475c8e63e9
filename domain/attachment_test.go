package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestSanitizeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"张伟 随军审批.pdf":            "张伟 随军审批.pdf",
		`C:\Users\scan\入学通知.png`: "入学通知.png",
		"../../etc/passwd":       "passwd",
		"report\u202Efdp.exe":    "reportfdp.exe", // a right-to-left override dropped
		"line\nbreak\t.pdf":      "linebreak.pdf",
		"...hidden.pdf":          "hidden.pdf",
		"":                       "attachment",
		"/":                      "attachment",
		"bad\xffutf8.pdf":        "badutf8.pdf",
		strings.Repeat("病", 100): strings.Repeat("病", 85), // 255 bytes, whole characters
	} {
		if got := SanitizeFileName(in); got != want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckAttachmentType(t *testing.T) {
	files := map[string][]byte{
		"pdf":  []byte("%PDF-1.7\n1 0 obj"),
		"png":  []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"),
		"jpeg": []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
		"exe":  []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"),
		"zip":  []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"),
		"html": []byte("<!DOCTYPE html><html><script>"),
	}
	for _, c := range []struct {
		declared, file string
		want           error
	}{
		{"application/pdf", "pdf", nil},
		{"application/pdf; charset=binary", "pdf", nil},
		{"image/png", "png", nil},
		{"image/jpg", "jpeg", nil}, // an alias clients send
		{"IMAGE/JPEG", "jpeg", nil},
		{"application/pdf", "exe", ErrAttachmentTypeMismatch},
		{"application/pdf", "zip", ErrAttachmentTypeMismatch},
		{"application/pdf", "html", ErrAttachmentTypeMismatch},
		{"image/png", "pdf", ErrAttachmentTypeMismatch},
		{"application/zip", "zip", ErrAttachmentTypeNotAllowed},
		{"text/html", "html", ErrAttachmentTypeNotAllowed},
		{"application/octet-stream", "pdf", ErrAttachmentTypeNotAllowed},
	} {
		detected := DetectContentType(files[c.file])
		err := CheckAttachmentType(c.declared, detected)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("declared %s, bytes of %s (detected %s): %v, want %v", c.declared, c.file, detected, err, c.want)
		}
		// Every refusal of a file is under ATTACHMENT_FILES, which the answer names.
		var ruled interface{ Rule() RuleID }
		if err != nil && (!errors.As(err, &ruled) || ruled.Rule() != RuleAttachmentFiles) {
			t.Errorf("declared %s, bytes of %s: %v names no rule %s", c.declared, c.file, err, RuleAttachmentFiles)
		}
	}
}

func TestMaskFileName(t *testing.T) {
	for in, want := range map[string]string{"张伟 病历.pdf": "***.pdf", "noext": "***", "x.verylongextension": "***"} {
		if got := MaskFileName(in); got != want {
			t.Errorf("MaskFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
