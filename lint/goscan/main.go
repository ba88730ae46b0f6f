// Command goscan is entersys lint's reader of Go source: for each directory given, it
// parses the files that build for -goos/-goarch with Go's own go/parser and prints one JSON
// object per line: every function declaration with its span, directives and the calls it
// makes to the syscall entry points (Syscall*, RawSyscall*, the NoError variants,
// rawVforkSyscall), and every constant declaration, so that traps can be resolved.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/build"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

var entries = map[string]bool{
	"Syscall": true, "Syscall6": true, "Syscall9": true,
	"RawSyscall": true, "RawSyscall6": true, "RawSyscall9": true,
	"SyscallNoError": true, "RawSyscallNoError": true, "rawSyscallNoError": true,
	"rawVforkSyscall": true,
}

var entryPkgs = map[string]bool{"syscall": true, "golang.org/x/sys/unix": true}

type call struct {
	Callee  string   `json:"callee"`
	Via     string   `json:"via,omitempty"`     // a same-package wrapper that forwards its trap
	Trap    string   `json:"trap"`              // the trap argument, printed
	Forward bool     `json:"forward,omitempty"` // the trap is a parameter of the caller
	Pkg     string   `json:"pkg"`
	Line    int      `json:"line"`
	Col     int      `json:"col"`
	Args    []string `json:"args"`
}

type record struct {
	Kind    string   `json:"kind"`
	File    string   `json:"file"`
	Package string   `json:"package"`
	Name    string   `json:"name"`
	Line    int      `json:"line"`
	EndLine int      `json:"end_line,omitempty"`
	Nosplit bool     `json:"nosplit,omitempty"`
	Calls   []call   `json:"calls,omitempty"`
	Value   string   `json:"value,omitempty"`
	Error   string   `json:"error,omitempty"`
	Files   []string `json:"files,omitempty"`
}

func text(fset *token.FileSet, n ast.Node) string {
	var b bytes.Buffer
	printer.Fprint(&b, fset, n)
	return b.String()
}

// parsed is one file of a directory with its import names.
type parsed struct {
	path    string
	f       *ast.File
	imports map[string]string // local name -> import path
}

// wrapper: a function of the package whose body passes one of its parameters as the trap
// of an entry point (or of another wrapper): schedAffinity(trap uintptr, ...) in x/sys.
type wrapper struct {
	entry string
	param int
}

func params(fd *ast.FuncDecl) []string {
	var ps []string
	for _, fl := range fd.Type.Params.List {
		if len(fl.Names) == 0 {
			ps = append(ps, "_")
		}
		for _, n := range fl.Names {
			ps = append(ps, n.Name)
		}
	}
	return ps
}

// callee resolves a call to (entry point, via wrapper, trap index), or ok=false.
func callee(p *parsed, pkg string, wrappers map[string]wrapper, ce *ast.CallExpr) (c call, idx int, ok bool) {
	switch fn := ce.Fun.(type) {
	case *ast.Ident:
		if w, isw := wrappers[fn.Name]; isw {
			return call{Callee: w.entry, Via: fn.Name}, w.param, true
		}
		if (pkg == "syscall" || pkg == "unix") && entries[fn.Name] {
			return call{Callee: fn.Name}, 0, true
		}
	case *ast.SelectorExpr:
		x, isid := fn.X.(*ast.Ident)
		if isid && entryPkgs[p.imports[x.Name]] && entries[fn.Sel.Name] {
			return call{Callee: fn.Sel.Name, Pkg: p.imports[x.Name]}, 0, true
		}
	}
	return call{}, 0, false
}

func funcName(fset *token.FileSet, d *ast.FuncDecl) string {
	if d.Recv != nil && len(d.Recv.List) > 0 {
		return text(fset, d.Recv.List[0].Type) + "." + d.Name.Name
	}
	return d.Name.Name
}

func scanDir(out *json.Encoder, fset *token.FileSet, files []string) {
	var ps []*parsed
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			out.Encode(record{Kind: "error", File: path, Error: err.Error()})
			return
		}
		p := &parsed{path: path, f: f, imports: map[string]string{}}
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			name := ip[strings.LastIndex(ip, "/")+1:]
			if im.Name != nil {
				name = im.Name.Name
			}
			p.imports[name] = ip
		}
		ps = append(ps, p)
	}
	// Wrappers, to a fixed point (a wrapper may call a wrapper).
	wrappers := map[string]wrapper{}
	for changed := true; changed; {
		changed = false
		for _, p := range ps {
			for _, d := range p.f.Decls {
				fd, isfd := d.(*ast.FuncDecl)
				if !isfd || fd.Body == nil || fd.Recv != nil || entries[fd.Name.Name] {
					continue
				}
				if _, done := wrappers[fd.Name.Name]; done {
					continue
				}
				pl := params(fd)
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					ce, isce := n.(*ast.CallExpr)
					if !isce {
						return true
					}
					c, idx, ok := callee(p, p.f.Name.Name, wrappers, ce)
					if !ok || idx >= len(ce.Args) {
						return true
					}
					if id, isid := ce.Args[idx].(*ast.Ident); isid {
						for k, name := range pl {
							if name == id.Name {
								wrappers[fd.Name.Name] = wrapper{c.Callee, k}
								changed = true
								return false
							}
						}
					}
					return true
				})
			}
		}
	}
	for _, p := range ps {
		scanFile(out, fset, p, wrappers)
	}
}

func scanFile(out *json.Encoder, fset *token.FileSet, p *parsed, wrappers map[string]wrapper) {
	pkg := p.f.Name.Name
	path := p.path
	for _, d := range p.f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok != token.CONST {
				continue
			}
			for _, s := range d.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						out.Encode(record{Kind: "const", File: path, Package: pkg, Name: n.Name,
							Line: fset.Position(n.Pos()).Line, Value: text(fset, vs.Values[i])})
					}
				}
			}
		case *ast.FuncDecl:
			r := record{Kind: "func", File: path, Package: pkg, Name: funcName(fset, d),
				Line: fset.Position(d.Pos()).Line, EndLine: fset.Position(d.End()).Line}
			if d.Doc != nil {
				for _, c := range d.Doc.List {
					if strings.HasPrefix(c.Text, "//go:nosplit") {
						r.Nosplit = true
					}
				}
			}
			pl := params(d)
			if d.Body != nil {
				ast.Inspect(d.Body, func(n ast.Node) bool {
					ce, isce := n.(*ast.CallExpr)
					if !isce {
						return true
					}
					c, idx, ok := callee(p, pkg, wrappers, ce)
					if !ok {
						return true
					}
					pos := fset.Position(ce.Pos())
					c.Line, c.Col = pos.Line, pos.Column
					for _, a := range ce.Args {
						c.Args = append(c.Args, text(fset, a))
					}
					if idx < len(ce.Args) {
						c.Trap = c.Args[idx]
						if id, isid := ce.Args[idx].(*ast.Ident); isid {
							for _, name := range pl {
								c.Forward = c.Forward || name == id.Name
							}
						}
					}
					r.Calls = append(r.Calls, c)
					return true
				})
			}
			out.Encode(r)
		}
	}
}

func main() {
	goos := flag.String("goos", "linux", "GOOS whose files are read")
	goarch := flag.String("goarch", "amd64", "GOARCH whose files are read")
	tests := flag.Bool("tests", false, "also read _test.go files")
	flag.Parse()
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled, ctx.Compiler = *goos, *goarch, false, "gc"
	out := json.NewEncoder(os.Stdout)
	fset := token.NewFileSet()
	for _, dir := range flag.Args() {
		ents, err := os.ReadDir(dir)
		if err != nil {
			out.Encode(record{Kind: "error", File: dir, Error: err.Error()})
			continue
		}
		var files []string
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".go") || (!*tests && strings.HasSuffix(n, "_test.go")) {
				continue
			}
			ok, err := ctx.MatchFile(dir, n)
			if err != nil {
				out.Encode(record{Kind: "error", File: filepath.Join(dir, n), Error: err.Error()})
				continue
			}
			if ok {
				files = append(files, filepath.Join(dir, n))
			}
		}
		sort.Strings(files)
		out.Encode(record{Kind: "dir", File: dir, Files: files})
		scanDir(out, fset, files)
	}
}
