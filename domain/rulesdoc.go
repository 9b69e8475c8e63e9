package domain

import (
	"fmt"
	"strings"
)

// RulesMarkdown renders the rule table as docs/rules.md, so that the
// document a county reads is the table the server applies.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString(`# The rules and where they come from

Generated from the rule table in [` + "`domain/rules.go`" + `](../domain/rules.go) by
` + "`go test ./domain -run TestRulesDoc -update`" + `; a test fails when the two differ.
The server lists the same table at ` + "`GET /v1/policies`" + `, and every case carries the ids
of the rules that decided its eligibility, priority and due times in ` + "`policyBasis`" + `.
Where no statute sets a rule, its source is the county's policy (the 2023 double-support
work points), and the table says so. The notes summarise each source in a few words;
they are not quotations.

Laws cited: ` + LawStatus + ` (the Law on the Status and Rights of Servicemembers, 2021);
` + LawPension + ` (the Military Pension and Preferential Treatment Regulations, 2024);
` + LawLegalAid + ` (the Legal Aid Law, 2021); ` + LawCivilCode + ` (the Civil Code);
` + LawPIPL + ` (the Personal Information Protection Law, 2021).
`)
	for _, k := range []struct {
		kind  RuleKind
		title string
	}{
		{KindEligibility, "Eligibility: who may have a service"},
		{KindPriority, "Priority: who is served first"},
		{KindDeadline, "Deadlines: by when"},
		{KindProcedure, "Procedure: how a case moves and what it keeps"},
		{KindDocument, "Documents: what a record or number must be"},
	} {
		fmt.Fprintf(&b, "\n## %s\n\n| id | rule | source |\n| --- | --- | --- |\n", k.title)
		for _, r := range Rules {
			if r.Kind != k.kind {
				continue
			}
			var srcs []string
			for _, s := range r.Sources {
				src := s.Law
				if s.Article != "" {
					src += " " + s.Article
				}
				if s.Paragraph != "" {
					src += s.Paragraph
				}
				if s.Note != "" {
					src += "：" + s.Note
				}
				srcs = append(srcs, cell(src))
			}
			fmt.Fprintf(&b, "| `%s` | %s<br>%s | %s |\n", r.ID, cell(r.Zh), cell(r.En), strings.Join(srcs, "<br>"))
		}
	}
	return b.String()
}

// cell keeps text inside a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
