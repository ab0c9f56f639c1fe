// Command nimbus is the CLI of Nimbus, a fast, open, single-binary
// replacement for the Serverless Framework v3. It parses flags, calls
// pkg/nimbus and renders results; it holds no logic of its own.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nimbusfw/nimbus/internal/diag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetOut(stdout)
	root.SetErr(stderr)
	args, extra := splitFreeOptions(root, args)
	globals.extra = extra
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			renderError(stderr, ee.err, ee.sources)
		}
		return ee.code
	}
	renderError(stderr, err, nil)
	return 1
}

// exitError carries an exit code and, optionally, an error to render first.
type exitError struct {
	code    int
	err     error
	sources *diag.Sources
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func renderError(w io.Writer, err error, src *diag.Sources) {
	ds := diag.FromError(err)
	if src == nil {
		src = diag.NewSources()
	}
	diag.Render(w, ds, src)
}
