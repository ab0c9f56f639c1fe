package main

import (
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
)

func init() {
	scriptCmds["moto"] = cmdMoto
	scriptCmds["exitcode"] = cmdExitCode
	scriptCmds["envfrom"] = cmdEnvFrom
}

// cmdEnvFrom sets an environment variable from the last command's stdout:
// `envfrom FIRST 'Timestamp: (\d+)'` takes the first submatch of the first
// match, so later commands can use $FIRST.
func cmdEnvFrom(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfrom VAR REGEXP")
	}
	re, err := regexp.Compile(args[1])
	if err != nil {
		ts.Fatalf("envfrom: %v", err)
	}
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("envfrom: no match for %q in stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
}

// cmdMoto gives the script a moto_server of its own (scripts run in
// parallel) and sets the AWS environment (endpoint, fake credentials,
// region) so both nimbus and the aws CLI talk to it, never to real AWS.
// The server stops when the script ends.
func cmdMoto(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! moto")
	}
	ep, stop := motoserver.StartDedicated(scriptT{ts})
	ts.Defer(stop)
	for _, kv := range motoserver.EnvFor(ep) {
		k, v, _ := strings.Cut(kv, "=")
		ts.Setenv(k, v)
	}
	ts.Setenv("AWS_PAGER", "")
}

// cmdExitCode runs a command and checks its exact exit status:
// `exitcode 2 nimbus plan`.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	if (got == want) == neg {
		ts.Fatalf("%s exited with %d, want %s%d", args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// scriptT adapts a TestScript to the testing.TB subset motoserver uses.
type scriptT struct{ ts *testscript.TestScript }

func (s scriptT) Helper()                           {}
func (s scriptT) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }
func (s scriptT) Skipf(format string, args ...any)  { s.ts.Fatalf("skip: "+format, args...) }
