package domain

import (
	"fmt"
	"unicode/utf8"
)

// TextProblem says why s may not be stored as text, or returns "" when it
// may. The answer never repeats s, only the code point that is refused.
//
// Refused, in every text field:
//   - NUL and the other C0 controls except tab, line feed and carriage
//     return, DEL, and the C1 controls (U+0080–U+009F). They have no place
//     in a name or a note: they corrupt terminals and logs, PostgreSQL
//     refuses NUL outright while SQLite stores it, and some are invisible.
//   - The bidirectional embeddings, overrides and isolates (U+202A–U+202E,
//     U+2066–U+2069). They reorder the text that follows them until they are
//     closed, so a name can display as something other than what is stored,
//     and an unclosed one spills into whatever a screen or export shows next.
//   - Invalid UTF-8, which protobuf refuses anyway; checked for callers that
//     are handed a Go string from elsewhere.
//
// Allowed: tab, line feed and carriage return (addresses and notes have
// lines), and the left-to-right and right-to-left marks U+200E and U+200F.
// A mark only gives neutral characters next to it a direction; it opens
// nothing that could run on past the field, so it cannot disguise text
// after it, and mixed-script text legitimately uses it.
func TextProblem(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "must be valid UTF-8"
		}
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			return fmt.Sprintf("must not contain control characters (found %U)", r)
		case r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("must not contain bidirectional formatting characters (found %U)", r)
		}
		i += size
	}
	return ""
}
