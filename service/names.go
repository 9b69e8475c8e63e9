package service

import (
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/names"
)

// nameOf reads a request's resource name as a T, or refuses it as a field
// violation, so an id of the wrong shape never reaches a query as an id
// that matches nothing.
func nameOf[T names.Name](field, s string) (T, error) {
	n, err := names.As[T](s)
	if err != nil {
		var zero T
		return zero, domain.Invalid(field, "must be a resource name of the form %s", zero.Collection())
	}
	return n, nil
}

func householdID(field, name string) (string, error) {
	n, err := nameOf[names.Household](field, name)
	return n.ID, err
}

func memberIDs(field, name string) (household, member string, err error) {
	n, err := nameOf[names.Member](field, name)
	return n.HouseholdID, n.ID, err
}

func caseID(field, name string) (string, error) {
	n, err := nameOf[names.Case](field, name)
	return n.ID, err
}
