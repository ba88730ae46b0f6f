// Command goparse prints, as JSON, the ordered statements of chosen functions of a Go
// source file (entersys's gate reads runtime/proc.go with it). Each statement is one
// record in source pre-order: compound statements (if, for, switch, select, block) give a
// header record and then their children one level deeper. Std-only, built with the target
// tree's own toolchain, so the tree's parser reads the tree's file.
//
// Usage: goparse FILE FUNC[,FUNC...]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"strings"
)

type stmt struct {
	Line  int    `json:"line"`
	End   int    `json:"end"`
	Depth int    `json:"depth"`
	Kind  string `json:"kind"`
	Path  string `json:"path"`
	Text  string `json:"text"`
}

type fn struct {
	Line  int    `json:"line"`
	End   int    `json:"end"`
	Stmts []stmt `json:"stmts"`
}

type out struct {
	File  string        `json:"file"`
	Funcs map[string]fn `json:"funcs"`
}

var fset = token.NewFileSet()

func text(n ast.Node) string {
	if n == nil {
		return ""
	}
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, n); err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func line(p token.Pos) int { return fset.Position(p).Line }

type walker struct{ stmts []stmt }

func (w *walker) emit(n ast.Node, depth int, kind, path, t string) {
	w.stmts = append(w.stmts, stmt{line(n.Pos()), line(n.End()), depth, kind, path, t})
}

func (w *walker) list(l []ast.Stmt, depth int, path string) {
	for _, s := range l {
		w.stmt(s, depth, path)
	}
}

func (w *walker) stmt(s ast.Stmt, depth int, path string) {
	switch s := s.(type) {
	case *ast.IfStmt:
		h := "if "
		if s.Init != nil {
			h += text(s.Init) + "; "
		}
		h += text(s.Cond)
		w.emit(s, depth, "if", path, h)
		w.list(s.Body.List, depth+1, path+"/then")
		switch e := s.Else.(type) {
		case *ast.IfStmt:
			w.stmt(e, depth+1, path+"/else")
		case *ast.BlockStmt:
			w.list(e.List, depth+1, path+"/else")
		}
	case *ast.ForStmt:
		h := "for " + text(s.Init) + "; " + text(s.Cond) + "; " + text(s.Post)
		w.emit(s, depth, "for", path, h)
		w.list(s.Body.List, depth+1, path+"/body")
	case *ast.RangeStmt:
		w.emit(s, depth, "range", path, "for "+text(s.Key)+", "+text(s.Value)+" := range "+text(s.X))
		w.list(s.Body.List, depth+1, path+"/body")
	case *ast.BlockStmt:
		w.emit(s, depth, "block", path, "{")
		w.list(s.List, depth+1, path+"/block")
	case *ast.SwitchStmt:
		w.emit(s, depth, "switch", path, "switch "+text(s.Tag))
		for i, c := range s.Body.List {
			cc := c.(*ast.CaseClause)
			w.emit(cc, depth+1, "case", path, "case "+exprs(cc.List))
			w.list(cc.Body, depth+2, fmt.Sprintf("%s/case%d", path, i))
		}
	case *ast.TypeSwitchStmt:
		w.emit(s, depth, "switch", path, "switch "+text(s.Assign))
		for i, c := range s.Body.List {
			cc := c.(*ast.CaseClause)
			w.emit(cc, depth+1, "case", path, "case "+exprs(cc.List))
			w.list(cc.Body, depth+2, fmt.Sprintf("%s/case%d", path, i))
		}
	case *ast.SelectStmt:
		w.emit(s, depth, "select", path, "select")
		for i, c := range s.Body.List {
			cc := c.(*ast.CommClause)
			w.emit(cc, depth+1, "case", path, "case "+text(cc.Comm))
			w.list(cc.Body, depth+2, fmt.Sprintf("%s/case%d", path, i))
		}
	case *ast.LabeledStmt:
		w.emit(s, depth, "label", path, s.Label.Name+":")
		w.stmt(s.Stmt, depth, path)
	default:
		w.emit(s, depth, "simple", path, text(s))
	}
}

func exprs(l []ast.Expr) string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = text(e)
	}
	return strings.Join(parts, ", ")
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goparse FILE FUNC[,FUNC...]")
		os.Exit(2)
	}
	f, err := parser.ParseFile(fset, os.Args[1], nil, parser.SkipObjectResolution)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goparse:", err)
		os.Exit(1)
	}
	want := map[string]bool{}
	for _, n := range strings.Split(os.Args[2], ",") {
		want[n] = true
	}
	res := out{File: os.Args[1], Funcs: map[string]fn{}}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || !want[fd.Name.Name] || fd.Body == nil {
			continue
		}
		w := &walker{}
		w.list(fd.Body.List, 0, "")
		res.Funcs[fd.Name.Name] = fn{line(fd.Pos()), line(fd.End()), w.stmts}
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "goparse:", err)
		os.Exit(1)
	}
}
