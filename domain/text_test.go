package domain

import (
	"strings"
	"testing"
)

func TestTextProblem(t *testing.T) {
	refused := []struct {
		name, in, want string
	}{
		{"NUL", "张\x00伟", "U+0000"},
		{"NUL at the end", "张伟\x00", "U+0000"},
		{"bell", "王\x07芳", "U+0007"},
		{"escape", "x\x1b[2J", "U+001B"},
		{"unit separator", "a\x1fb", "U+001F"},
		{"vertical tab", "a\vb", "U+000B"},
		{"form feed", "a\fb", "U+000C"},
		{"DEL", "a\x7fb", "U+007F"},
		{"C1 first", "a\u0080b", "U+0080"},
		{"C1 next line", "a\u0085b", "U+0085"},
		{"C1 CSI", "a\u009bb", "U+009B"},
		{"C1 last", "a\u009fb", "U+009F"},
		{"LRE", "a\u202ab", "U+202A"},
		{"RLE", "a\u202bb", "U+202B"},
		{"PDF", "a\u202cb", "U+202C"},
		{"LRO", "a\u202db", "U+202D"},
		{"RLO", "\u202e伟张", "U+202E"},
		{"LRI", "a\u2066b", "U+2066"},
		{"RLI", "a\u2067b", "U+2067"},
		{"FSI", "a\u2068b", "U+2068"},
		{"PDI", "a\u2069b", "U+2069"},
		{"invalid UTF-8", "a\xffb", "UTF-8"},
		{"truncated UTF-8", "张"[:2], "UTF-8"},
	}
	for _, tt := range refused {
		got := TextProblem(tt.in)
		if got == "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s: TextProblem = %q, want a refusal naming %s", tt.name, got, tt.want)
		}
		// The refusal names the character, never the text around it.
		if strings.Contains(got, "张") || strings.Contains(got, "伟") {
			t.Errorf("%s: TextProblem %q repeats the text", tt.name, got)
		}
	}
	allowed := []string{
		"", "张伟", "名山街道 1 号", "第一行\n第二行", "a\r\nb", "列\t列",
		"\u200eLTR mark", "RTL mark\u200f", // marks reorder nothing
		"U+202F narrow no-break\u202f", "U+2065\u2065", "U+206A\u206a", // neighbours of the refused ranges
		"\u00a0no-break space", "emoji 🙂", "\u00ff",
	}
	for _, s := range allowed {
		if got := TextProblem(s); got != "" {
			t.Errorf("TextProblem(%q) = %q, want allowed", s, got)
		}
	}
}
