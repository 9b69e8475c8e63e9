package domain

import "github.com/fengdu-county/casework/domain/towns"

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

// CheckTownCode applies rule TOWN_CODE to the town code sent in field: it
// must be one of the county's towns and sub-districts in table (the shipped
// list, or the one the server was started with). The refusal does not
// repeat the code.
func CheckTownCode(field, code string, table *towns.Table) error {
	if table == nil {
		table = towns.Default()
	}
	if !table.Contains(code) {
		return Refuse(RuleTownCode, field, "is not one of the county's towns and sub-districts (GET /v1/towns lists them)")
	}
	return nil
}
