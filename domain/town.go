package domain

// IsTownCode reports whether c has the shape of a town or sub-district code
// (乡镇/街道): the nine digits of the national administrative division code.
// Credentials, filters and households all use this one definition.
func IsTownCode(c string) bool {
	if len(c) != 9 {
		return false
	}
	for i := range len(c) {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}
