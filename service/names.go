package service

import (
	"regexp"
	"strings"

	"github.com/fengdu-county/casework/domain"
)

// The ids this server issues: UUIDs, and for API keys 12 base32 characters.
// A name whose id has another shape fails here with a field violation
// instead of reaching a query as an id that matches nothing.
var (
	uuidPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	apiKeyPattern = regexp.MustCompile(`^[a-z2-7]{12}$`)
)

func idPattern(collection string) *regexp.Regexp {
	if collection == "apiKeys" {
		return apiKeyPattern
	}
	return uuidPattern
}

// parseName splits a resource name against its collections, e.g.
// parseName("case.subject", "households/a/members/b", "households", "members")
// returns ["a", "b"].
func parseName(field, name string, collections ...string) ([]string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 2*len(collections) {
		return nil, invalidName(field, collections)
	}
	ids := make([]string, len(collections))
	for i, c := range collections {
		if parts[2*i] != c || !idPattern(c).MatchString(parts[2*i+1]) {
			return nil, invalidName(field, collections)
		}
		ids[i] = parts[2*i+1]
	}
	return ids, nil
}

func invalidName(field string, collections []string) error {
	var b strings.Builder
	for i, c := range collections {
		if i > 0 {
			b.WriteString("/")
		}
		b.WriteString(c + "/{" + strings.TrimSuffix(c, "s") + "}")
	}
	return domain.Invalid(field, "must be a resource name of the form %s", b.String())
}

func householdID(field, name string) (string, error) {
	ids, err := parseName(field, name, "households")
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

func memberIDs(field, name string) (household, member string, err error) {
	ids, err := parseName(field, name, "households", "members")
	if err != nil {
		return "", "", err
	}
	return ids[0], ids[1], nil
}

func caseID(field, name string) (string, error) {
	ids, err := parseName(field, name, "cases")
	if err != nil {
		return "", err
	}
	return ids[0], nil
}
