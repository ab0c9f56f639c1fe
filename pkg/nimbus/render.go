package nimbus

import (
	"io"

	"github.com/nimbusfw/nimbus/internal/diag"
)

// RenderError writes err as the nimbus CLI shows it: every problem with its
// file:line:col, key path and the source line under a caret, several at
// once. p is what Load returned (it keeps the files read even when Load
// failed) and may be nil; errors without diagnostics print as one line.
func RenderError(w io.Writer, err error, p *Project) {
	diag.Render(w, diag.FromError(err), sourcesOf(p))
}

// RenderWarnings writes the project's warnings the same way.
func RenderWarnings(w io.Writer, p *Project) {
	if p != nil {
		diag.Render(w, p.Warnings, p.Sources)
	}
}

func sourcesOf(p *Project) *diag.Sources {
	if p == nil {
		return nil
	}
	return p.Sources
}
