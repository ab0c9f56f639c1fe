package main

import (
	"os/exec"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// goEnvOnce reads the host's Go caches once: scripts run with HOME set to
// their work folder, and a Go handler built there would otherwise rebuild
// the standard library and re-download modules on every run.
var goEnvOnce = sync.OnceValue(func() []string {
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
})

func init() {
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		if vals := goEnvOnce(); len(vals) == 2 {
			env.Setenv("GOCACHE", vals[0])
			env.Setenv("GOMODCACHE", vals[1])
		}
		return nil
	})
}
