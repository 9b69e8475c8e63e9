package domain

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/rules.md from the rule table")

// ruleConstants reads the package's source and returns every RuleID
// constant declared, and every one referred to outside the table itself
// (rules.go), by file.
func ruleConstants(t *testing.T) (declared map[string]RuleID, used map[string][]string) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared, used = map[string]RuleID{}, map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "RuleID" {
					for i, name := range n.Names {
						lit, _ := n.Values[i].(*ast.BasicLit)
						declared[name.Name] = RuleID(strings.Trim(lit.Value, `"`))
					}
					return false
				}
			case *ast.Ident:
				if f != "rules.go" && strings.HasPrefix(n.Name, "Rule") && n.Name != "RuleID" && n.Name != "RuleKind" &&
					n.Name != "RuleByID" && n.Name != "Rules" {
					used[n.Name] = append(used[n.Name], f)
				}
			}
			return true
		})
	}
	return declared, used
}

// TestRuleTable holds the code and the table to each other: every rule the
// code applies has a row, every row is applied somewhere, ids are unique
// and every row names a source and both summaries.
func TestRuleTable(t *testing.T) {
	declared, used := ruleConstants(t)
	seen := map[RuleID]bool{}
	for _, r := range Rules {
		if seen[r.ID] {
			t.Errorf("rule %s is listed twice", r.ID)
		}
		seen[r.ID] = true
		if len(r.Sources) == 0 || r.Sources[0].Law == "" || r.Zh == "" || r.En == "" || r.Kind == "" {
			t.Errorf("rule %s lacks a source, a summary or a kind", r.ID)
		}
	}
	for name, id := range declared {
		if !seen[id] {
			t.Errorf("%s (%s) is declared but has no row in Rules", name, id)
		}
		if len(used[name]) == 0 {
			t.Errorf("rule %s (%s) has a row but no code applies it", id, name)
		}
	}
	for id := range seen {
		if !slices.Contains(valuesOf(declared), id) {
			t.Errorf("row %s has no RuleID constant", id)
		}
	}
}

// TestEveryRuleHasAUnitTest: every rule constant is named by some test of
// this package, with cases from its article.
func TestEveryRuleHasAUnitTest(t *testing.T) {
	declared, _ := ruleConstants(t)
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if f == "rules_test.go" {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				tested[id.Name] = true
			}
			return true
		})
	}
	for name, id := range declared {
		if !tested[name] {
			t.Errorf("rule %s (%s) is named by no unit test", id, name)
		}
	}
}

func valuesOf(m map[string]RuleID) []RuleID {
	var out []RuleID
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestRulesDoc checks docs/rules.md against the table; run with -update to
// rewrite it.
func TestRulesDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "rules.md")
	want := RulesMarkdown()
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./domain -run TestRulesDoc -update)", err)
	}
	if string(got) != want {
		t.Errorf("docs/rules.md does not match the rule table; run: go test ./domain -run TestRulesDoc -update")
	}
}
