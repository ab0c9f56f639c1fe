// Package diag carries problems as values: a severity, a summary, an optional
// detail, the key path inside the service config and the source range in the
// file it came from. Every stage returns Diagnostics instead of printing, and
// one renderer (Render) shows them with the offending source line.
package diag

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Severity orders problems: errors stop the pipeline, warnings do not.
type Severity uint8

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "Warning"
	}
	return "Error"
}

// Pos is a 1-based position in a source file. The zero value means "unknown".
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"column,omitempty"`
}

// Known reports whether the position points somewhere.
func (p Pos) Known() bool { return p.File != "" && p.Line > 0 }

func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Diagnostic is one problem.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	// Path is the dotted key path in the service config ("functions.hello.events[0].http").
	Path string `json:"path,omitempty"`
	// Pos is where the problem starts; Width (in columns) lets the renderer
	// underline the whole offending token instead of one character.
	Pos   Pos `json:"pos"`
	Width int `json:"-"`
}

// Message is the one-line form used in errors and logs:
// "serverless.yml:3:5: functions.hello.handler: summary".
func (d Diagnostic) Message() string {
	var b strings.Builder
	if s := d.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	return b.String()
}

// Diagnostics is a list of problems, in the order they were found.
type Diagnostics []Diagnostic

// Errorf appends an error diagnostic.
func (ds *Diagnostics) Errorf(pos Pos, path string, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Error, Pos: pos, Path: path, Summary: fmt.Sprintf(format, args...)})
}

// Warnf appends a warning diagnostic.
func (ds *Diagnostics) Warnf(pos Pos, path string, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Warning, Pos: pos, Path: path, Summary: fmt.Sprintf(format, args...)})
}

// Append adds other diagnostics.
func (ds *Diagnostics) Append(more ...Diagnostic) { *ds = append(*ds, more...) }

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(Error) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(Warning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by file, line and column, keeping unknown
// positions last, so several problems read top to bottom like the file.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.Known() != b.Known() {
			return a.Known()
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err turns the errors into a Go error (nil when there are none). The error
// keeps the diagnostics so callers can render them fully with errors.As.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return &DiagError{Diags: ds.Errors()}
}

// DiagError is a Go error made of diagnostics.
type DiagError struct{ Diags Diagnostics }

func (e *DiagError) Error() string {
	msgs := make([]string, len(e.Diags))
	for i, d := range e.Diags {
		msgs[i] = d.Message()
	}
	return strings.Join(msgs, "\n")
}

// FromError returns the diagnostics inside err, or one diagnostic holding its
// text when err carries none.
func FromError(err error) Diagnostics {
	if err == nil {
		return nil
	}
	var de *DiagError
	if errors.As(err, &de) {
		return de.Diags
	}
	return Diagnostics{{Severity: Error, Summary: err.Error()}}
}
