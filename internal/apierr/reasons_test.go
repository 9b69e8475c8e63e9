package apierr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// TestPreconditionTypesAreReasons holds the domain's refusals to the
// contract: every precondition type written anywhere in the module (a
// PreconditionError literal's Type, or the repository's errPrecondition) is
// a value of ErrorReason, so a client that switches on the enum knows every
// reason the server sends. (The other reasons are enum values by their
// type: New and Status take a pb.ErrorReason.)
func TestPreconditionTypesAreReasons(t *testing.T) {
	types := map[string]string{} // type -> where
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "api" || d.Name() == "examples" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				// The helper itself passes its parameter on; its callers'
				// literals are checked below.
				return n.Name.Name != "errPrecondition"
			case *ast.ValueSpec:
				return len(n.Names) != 1 || n.Names[0].Name != "errPrecondition"
			case *ast.CompositeLit:
				if !isNamed(n.Type, "PreconditionError") {
					return true
				}
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok && isNamed(kv.Key, "Type") {
						add(t, types, fset, kv.Value)
					}
				}
			case *ast.CallExpr:
				if isNamed(n.Fun, "errPrecondition") && len(n.Args) > 0 {
					add(t, types, fset, n.Args[0])
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(types) < 10 {
		t.Fatalf("found only %d precondition types (%v): is the scan still looking in the right places?", len(types), types)
	}
	for typ, where := range types {
		if _, ok := pb.ErrorReason_value[typ]; !ok {
			t.Errorf("%s: precondition type %s is not a value of ErrorReason (proto/casework/v1/errors.proto)", where, typ)
		}
	}
}

func isNamed(e ast.Expr, name string) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == name
	case *ast.SelectorExpr:
		return e.Sel.Name == name
	case *ast.UnaryExpr:
		return isNamed(e.X, name)
	}
	return false
}

func add(t *testing.T, types map[string]string, fset *token.FileSet, e ast.Expr) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		// A type that is not a literal cannot be checked here: keep them
		// literal so that it can.
		t.Errorf("%s: a precondition type that is not a string literal", fset.Position(e.Pos()))
		return
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	types[s] = fset.Position(lit.Pos()).String()
}
