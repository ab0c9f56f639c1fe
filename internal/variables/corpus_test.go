package variables

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

const corpusDir = "../../../shared/corpus"

// corpusEnv is the environment serverless v3 ran with when the corpus
// oracles were recorded, so ${env:…} resolves the same way here.
var corpusEnv = map[string]string{
	"SLS_TELEMETRY_DISABLED": "1", "SLS_TRACKING_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
	"SLS_DEPRECATION_DISABLE": "*", "SLS_INTERACTIVE_SETUP_DISABLE": "1", "CI": "1",
	"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
	"AWS_DEFAULT_REGION": "us-east-1", "AWS_SDK_LOAD_CONFIG": "0", "FORCE_COLOR": "0", "NO_COLOR": "1",
}

// v3Resolution reads results/sls3.tsv: for each service, whether v3
// packaged it and its first error.
func v3Resolution(t *testing.T) map[string][2]string {
	f, err := os.Open(filepath.Join(corpusDir, "results", "sls3.tsv"))
	if err != nil {
		t.Skipf("corpus results not present: %v", err)
	}
	defer f.Close()
	out := map[string][2]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) >= 2 {
			reason := ""
			if len(cols) >= 4 {
				reason = cols[3]
			}
			out[cols[0]] = [2]string{cols[1], reason}
		}
	}
	return out
}

// isVariableFailure says whether v3 failed because of variable resolution.
func isVariableFailure(reason string) bool {
	return strings.Contains(reason, "Cannot resolve variable") || strings.Contains(reason, "Value not found") ||
		strings.Contains(reason, "Variables resolution errored")
}

// TestCorpusResolution resolves every public corpus service (copied and
// stubbed with stub-handlers.sh, stage dev, region us-east-1, the oracle's
// environment). Services serverless v3 packaged must resolve cleanly, those
// v3 rejected for unresolvable variables must fail here too, and where
// `sls print` output was recorded, every value that held a variable must
// equal what v3 printed.
func TestCorpusResolution(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus walk skipped in -short mode")
	}
	if _, err := os.Stat(filepath.Join(corpusDir, "public")); err != nil {
		t.Skip("shared corpus not present")
	}
	// Remote sources must fail fast and never reach real AWS.
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "test",
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "1"} {
		t.Setenv(k, v)
	}
	plugins := corpusPlugins(t)
	v3 := v3Resolution(t)
	names, _ := filepath.Glob(filepath.Join(corpusDir, "public", "*", "serverless.yml"))
	scratch := t.TempDir()
	var agree, total, pluginOnly, clean, valuesChecked, valuesEqual int
	for _, file := range names {
		name := filepath.Base(filepath.Dir(file))
		want, ok := v3[name]
		if !ok {
			continue
		}
		dir := filepath.Join(scratch, name)
		os.MkdirAll(dir, 0o755)
		data, _ := os.ReadFile(file)
		os.WriteFile(filepath.Join(dir, "serverless.yml"), data, 0o644)
		// Only ${file()} reads the service folder; stubbing the others
		// would only cost time.
		if strings.Contains(string(data), "${file(") {
			if out, err := exec.Command("bash", filepath.Join(corpusDir, "stub-handlers.sh"), dir).CombinedOutput(); err != nil {
				t.Fatalf("%s: stub-handlers: %v\n%s", name, err, out)
			}
		}
		src := diag.NewSources()
		root, ds := config.Parse("serverless.yml", data, src)
		if ds.HasErrors() {
			t.Errorf("%s: parse: %v", name, ds.Err())
			continue
		}
		resolved, rds := Resolve(context.Background(), root, Options{
			Dir: dir, ConfigFile: "serverless.yml", Sources: src,
			CLIOptions: map[string]string{"stage": "dev", "region": "us-east-1"},
			Env:        func(k string) (string, bool) { v, ok := corpusEnv[k]; return v, ok },
		})
		if !rds.HasErrors() {
			clean++
		}
		if want[0] == "fail" && !isVariableFailure(want[1]) {
			continue // v3 stopped for another reason (a plugin, the version): nothing to compare
		}
		total++
		switch {
		case want[0] == "ok" && rds.HasErrors() && onlyPluginSources(rds, plugins[name]):
			agree++ // the source comes from a plugin Nimbus does not run
			pluginOnly++
		case want[0] == "ok" && rds.HasErrors():
			t.Errorf("%s: v3 packaged it, we fail:\n%v", name, rds.Err())
		case want[0] == "fail" && isVariableFailure(want[1]) && !rds.HasErrors():
			t.Errorf("%s: v3 fails (%s), we resolved it", name, want[1])
		default:
			agree++
		}
		if rds.HasErrors() {
			continue
		}
		printed, err := os.ReadFile(filepath.Join("../../testdata/corpus-print", name+".json"))
		if err != nil {
			continue
		}
		var oracle any
		if err := json.Unmarshal(printed, &oracle); err != nil {
			t.Fatal(err)
		}
		c, e := compareVariableValues(t, name, root, resolved, oracle)
		valuesChecked += c
		valuesEqual += e
	}
	t.Logf("corpus: %d/%d services resolve cleanly", clean, len(names))
	t.Logf("corpus: %d/%d services agree with serverless v3 on resolving (%d of them only miss a plugin-provided source); %d/%d resolved values equal sls print",
		agree, total, pluginOnly, valuesEqual, valuesChecked)
}

// compareVariableValues compares, for each string of the original tree that
// held a variable, our resolved value with v3's printed one at that path.
func compareVariableValues(t *testing.T, name string, original, resolved *config.Node, printed any) (checked, equal int) {
	config.Walk(original, nil, func(n *config.Node, path config.Path) bool {
		s, ok := n.Str()
		if !ok || !strings.Contains(s, "${") {
			return true
		}
		if vars, _ := parseVariables(s); vars == nil {
			return true
		}
		want, ok := lookupJSON(printed, path)
		if !ok {
			return true // print drops or renames some keys; nothing to compare
		}
		keys := make([]string, len(path))
		for i, k := range path {
			keys[i] = fmt.Sprint(k)
		}
		got := resolved.Lookup(keys...)
		checked++
		gotJSON, _ := got.MarshalJSON()
		var gotV any
		json.Unmarshal(gotJSON, &gotV)
		if looseEqual(want, gotV) {
			equal++
		} else {
			t.Errorf("%s: %s: resolved %s, sls print has %s", name, path, gotJSON, mustJSON(want))
		}
		return true
	})
	return checked, equal
}

func lookupJSON(v any, path config.Path) (any, bool) {
	for _, k := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[fmt.Sprint(k)]; !ok {
				return nil, false
			}
		case []any:
			i, ok := k.(int)
			if !ok || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// looseEqual compares JSON values, treating a scalar and its string form
// as equal: sls print normalizes some values (environment numbers) to text.
func looseEqual(a, b any) bool {
	if mustJSON(a) == mustJSON(b) {
		return true
	}
	as, bs := fmt.Sprint(a), fmt.Sprint(b)
	_, aMap := a.(map[string]any)
	_, bMap := b.(map[string]any)
	return !aMap && !bMap && as == bs
}

// pluginSources are variable sources that v3 gets from plugins.
var pluginSources = map[string]string{"construct": "serverless-lift", "secrets": "serverless-secrets-plugin"}

// corpusPlugins reads the plugins column of manifest.tsv.
func corpusPlugins(t *testing.T) map[string]string {
	data, err := os.ReadFile(filepath.Join(corpusDir, "manifest.tsv"))
	if err != nil {
		t.Skipf("corpus manifest not present: %v", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) >= 3 && !strings.HasPrefix(line, "#") {
			out[cols[0]] = cols[2]
		}
	}
	return out
}

// onlyPluginSources says whether every error is an unrecognized source that
// one of the service's plugins provides in v3.
func onlyPluginSources(ds diag.Diagnostics, plugins string) bool {
	for _, d := range ds.Errors() {
		ok := false
		for src, plugin := range pluginSources {
			if strings.Contains(d.Summary, fmt.Sprintf("source %q", src)) && strings.Contains(plugins, plugin) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
