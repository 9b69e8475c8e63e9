package service

import (
	"errors"
	"strings"
	"time"

	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/internal/filter"
	"github.com/fengdu-county/casework/internal/pagetoken"
	"github.com/fengdu-county/casework/repository"
)

// pager turns repository cursors into opaque, signed page tokens and back.
type pager struct{ codec *pagetoken.Codec }

func (p pager) encode(c *repository.Cursor, query string) string {
	if c == nil {
		return ""
	}
	t := pagetoken.Token{Query: query, LastID: c.ID}
	if c.Time != nil {
		t.Last = c.Time.UTC().Format(time.RFC3339Nano)
	}
	return p.codec.Encode(t)
}

func (p pager) decode(token, query string) (*repository.Cursor, error) {
	if token == "" {
		return nil, nil
	}
	t, err := p.codec.Decode(token, query)
	if err != nil {
		return nil, domain.Invalid("page_token", "is not a token this list issued for this filter and order; start again without it")
	}
	c := &repository.Cursor{ID: t.LastID}
	if t.Last != "" {
		ts, err := time.Parse(time.RFC3339Nano, t.Last)
		if err != nil {
			return nil, domain.Invalid("page_token", "is malformed")
		}
		c.Time = &ts
	}
	return c, nil
}

// parseOrderBy reads an AIP-132 order_by of one field, "field" or
// "field desc", from the fields a list allows; empty means the first.
func parseOrderBy(s string, allowed ...string) (repository.Order, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return repository.Order{Column: allowed[0]}, nil
	}
	o := repository.Order{Column: words[0]}
	ok := false
	for _, a := range allowed {
		ok = ok || a == o.Column
	}
	switch {
	case !ok:
		return o, domain.Invalid("order_by", "can order by %s, optionally followed by desc", strings.Join(allowed, " or "))
	case len(words) == 2 && (words[1] == "desc" || words[1] == "asc"):
		o.Desc = words[1] == "desc"
	case len(words) != 1:
		return o, domain.Invalid("order_by", "can order by %s, optionally followed by desc", strings.Join(allowed, " or "))
	}
	return o, nil
}

// filterError reports a filter the server does not understand as a field
// violation on "filter", keeping the parser's position.
func filterError(err error) error {
	var fe *filter.Error
	if errors.As(err, &fe) {
		return domain.Invalid("filter", "position %d: %s", fe.Pos, fe.Msg)
	}
	return err
}
