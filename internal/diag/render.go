package diag

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Sources gives the renderer the text of a file so it can show the line a
// diagnostic points at. Loaders register what they read; anything else is read
// from disk on demand.
type Sources struct {
	mu    sync.Mutex
	files map[string][]string
}

// NewSources returns an empty source cache.
func NewSources() *Sources { return &Sources{files: map[string][]string{}} }

// Add registers the content of a file under the name diagnostics use for it.
func (s *Sources) Add(name string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = strings.Split(strings.ReplaceAll(string(content), "\r\n", "\n"), "\n")
}

// Line returns line n (1-based) of file, and whether it exists.
func (s *Sources) Line(file string, n int) (string, bool) {
	if s == nil || file == "" || n <= 0 {
		return "", false
	}
	s.mu.Lock()
	lines, ok := s.files[file]
	s.mu.Unlock()
	if !ok {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", false
		}
		s.Add(file, data)
		s.mu.Lock()
		lines = s.files[file]
		s.mu.Unlock()
	}
	if n > len(lines) {
		return "", false
	}
	return lines[n-1], true
}

// Render writes every diagnostic in the house style:
//
//	Error: unknown key "handlr"
//	  --> serverless.yml:12:5 (functions.hello.handlr)
//	   |
//	12 |     handlr: handler.hello
//	   |     ^^^^^^
//	   = detail text
//
// followed by a count line when there is more than one problem.
func Render(w io.Writer, ds Diagnostics, src *Sources) {
	for i, d := range ds {
		if i > 0 {
			fmt.Fprintln(w)
		}
		renderOne(w, d, src)
	}
	if n := len(ds); n > 1 {
		errs, warns := len(ds.Errors()), len(ds.Warnings())
		fmt.Fprintf(w, "\n%s, %s\n", plural(errs, "error"), plural(warns, "warning"))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func renderOne(w io.Writer, d Diagnostic, src *Sources) {
	fmt.Fprintf(w, "%s: %s\n", d.Severity, d.Summary)
	loc := d.Pos.String()
	switch {
	case loc != "" && d.Path != "":
		fmt.Fprintf(w, "  --> %s (%s)\n", loc, d.Path)
	case loc != "":
		fmt.Fprintf(w, "  --> %s\n", loc)
	case d.Path != "":
		fmt.Fprintf(w, "  --> at %s\n", d.Path)
	}
	if line, ok := src.Line(d.Pos.File, d.Pos.Line); ok {
		num := fmt.Sprint(d.Pos.Line)
		pad := strings.Repeat(" ", len(num))
		line = strings.ReplaceAll(line, "\t", " ")
		fmt.Fprintf(w, "%s |\n%s | %s\n", pad, num, line)
		if d.Pos.Col > 0 {
			col := d.Pos.Col
			if max := utf8.RuneCountInString(line) + 1; col > max {
				col = max
			}
			width := d.Width
			if width < 1 {
				width = 1
			}
			fmt.Fprintf(w, "%s | %s%s\n", pad, strings.Repeat(" ", col-1), strings.Repeat("^", width))
		}
	}
	if d.Detail != "" {
		for _, l := range strings.Split(d.Detail, "\n") {
			fmt.Fprintf(w, "  = %s\n", l)
		}
	}
}
