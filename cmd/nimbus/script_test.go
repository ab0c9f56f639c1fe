package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
)

// scriptCmds are extra testscript commands; test files register theirs in
// init (e.g. freeport, waitfor for `nimbus dev`, moto helpers for deploy).
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){}

// scriptSetups run before each script, e.g. to point it at moto.
var scriptSetups []func(env *testscript.Env) error

func TestMain(m *testing.M) {
	code := testscript.RunMain(m, map[string]func() int{
		"nimbus": func() int { return run(os.Args[1:], os.Stdout, os.Stderr) },
	})
	motoserver.Stop()
	os.Exit(code)
}

// TestScripts runs every testdata/script/*.txtar: one CLI behaviour each.
// UPDATE_SCRIPTS=1 rewrites the expected stdout/stderr files in place.
func TestScripts(t *testing.T) {
	corpus, _ := filepath.Abs("../../../shared/corpus")
	repo, _ := filepath.Abs("../..")
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
		RequireExplicitExec: true,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("CORPUS", corpus)
			env.Setenv("REPO", repo)
			env.Setenv("HOME", env.WorkDir)
			for _, s := range scriptSetups {
				if err := s(env); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
