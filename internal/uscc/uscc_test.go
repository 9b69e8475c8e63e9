package uscc

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		code string
		want error
	}{
		// Published examples of the standard's form: a company, a public
		// institution and a social organisation (check characters computed
		// by hand from the weights).
		{"91350100M000100Y43", nil},
		{"91110000600037341L", nil},
		{"12100000400010398P", nil},
		{"91500230709345037Q", nil},
		{"52500230MJP1234567", nil},
		{"91500230MA60XKRL8B", nil},
		{"91500230MA5U3XYL0D", nil},
		// One character off: the check character no longer matches.
		{"91350100M000100Y44", ErrCheck},
		{"91110000600037341M", ErrCheck},
		{"91500230709345037R", ErrCheck},
		// Letters the standard leaves out.
		{"91350100I000100Y43", ErrCharacter},
		{"9135010OM000100Y43", ErrCharacter},
		{"91350100M000100Y4Z", ErrCharacter},
		{"91350100M000100S43", ErrCharacter},
		{"91350100m000100y43", ErrCharacter},
		// Length.
		{"", ErrLength},
		{"91350100M000100Y4", ErrLength},
		{"91350100M000100Y433", ErrLength},
		{"九1350100M000100Y4", ErrLength},
	} {
		if err := Check(tc.code); !errors.Is(err, tc.want) {
			t.Errorf("Check(%q) = %v, want %v", tc.code, err, tc.want)
		}
	}
}

func TestCheckCharacterZero(t *testing.T) {
	// A sum that is a multiple of 31 gives 31, written '0'.
	if c, err := CheckCharacter("00000000000000000"); err != nil || c != '0' {
		t.Errorf("CheckCharacter(zeros) = %q, %v; want '0'", c, err)
	}
}

func TestNormalize(t *testing.T) {
	if got := Normalize(" 91350100m000100y43 "); got != "91350100M000100Y43" {
		t.Errorf("Normalize = %q", got)
	}
}

// FuzzCheck: Check never panics; whatever it accepts is 18 characters of
// the alphabet whose check character CheckCharacter agrees with; and a
// code it accepts is refused with any other last character.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"91350100M000100Y43", "", "I", "91110000600037341L", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		if Check(code) != nil {
			return
		}
		c, err := CheckCharacter(code[:17])
		if err != nil || c != code[17] {
			t.Fatalf("accepted %q but CheckCharacter = %q, %v", code, c, err)
		}
		for i := range len(alphabet) {
			if alphabet[i] != code[17] && Check(code[:17]+string(alphabet[i])) == nil {
				t.Fatalf("accepted %q with another check character", code)
			}
		}
	})
}
