package nimbus

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// corpusDir is the shared corpus of real serverless.yml services.
const corpusDir = "../../../shared/corpus"

// corpusEnv is the environment scripts/corpus-print-expected.sh gave
// serverless v3, so ${env:…} resolves the same way for both tools.
var corpusEnv = map[string]string{
	"SLS_TELEMETRY_DISABLED": "1", "SLS_TRACKING_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
	"SLS_DEPRECATION_DISABLE": "*", "SLS_INTERACTIVE_SETUP_DISABLE": "1", "CI": "1",
	"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
	"AWS_DEFAULT_REGION": "us-east-1", "AWS_SDK_LOAD_CONFIG": "0", "FORCE_COLOR": "0", "NO_COLOR": "1",
}

// stubService copies a corpus service into a temp dir and adds the
// placeholder files its serverless.yml points at (stub-handlers.sh).
func stubService(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(corpusDir, "public", name, "serverless.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "serverless.yml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", filepath.Join(corpusDir, "stub-handlers.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("stub-handlers: %v\n%s", err, out)
	}
	return dir
}

type printOracle struct {
	service string
	ok      bool
	reason  string
}

func readPrintOracle(t *testing.T) []printOracle {
	t.Helper()
	f, err := os.Open("../../testdata/corpus-print/results.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []printOracle
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.SplitN(sc.Text(), "\t", 3)
		if len(cols) < 2 {
			continue
		}
		o := printOracle{service: cols[0], ok: cols[1] == "ok"}
		if len(cols) == 3 {
			o.reason = cols[2]
		}
		out = append(out, o)
	}
	return out
}

// v3FailureIsEnvironmental says whether serverless v3 failed to print for
// a reason outside the config: a plugin it could not load, or the network.
// Nimbus runs no plugins, so those services print fine in Nimbus and are
// not compared.
func v3FailureIsEnvironmental(reason string) bool {
	for _, s := range []string{"plugin", "Plugin", "Inaccessible host", "credentials", "ENOTFOUND", "getaddrinfo"} {
		if strings.Contains(reason, s) {
			return true
		}
	}
	return false
}

// printChangingPlugins are plugins whose presence changes what v3 prints,
// so services using them are set aside (named in the corpus manifest's
// plugins column). None today: serverless-lift's constructs are expanded
// natively (internal/lift).
var printChangingPlugins = []string{}

// setAsideByPlugin returns the plugin that sets a corpus service aside.
func setAsideByPlugin(t *testing.T, service string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) < 3 || cols[0] != service {
			continue
		}
		for _, p := range printChangingPlugins {
			if strings.Contains(cols[2], p) {
				return p
			}
		}
	}
	return ""
}

// TestCorpusPrint checks that `nimbus print` equals `sls print` of
// serverless v3 (parsed data, not bytes) for every corpus service v3 can
// print offline, and that Nimbus also rejects the services v3 rejects for
// reasons in the config itself.
func TestCorpusPrint(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("shared corpus not present")
	}
	// Remote variable sources must fail fast and never reach real AWS.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	var equal, compared, rejected, mustReject atomic.Int32
	oracle := readPrintOracle(t)
	t.Run("services", func(t *testing.T) {
		for _, o := range oracle {
			o := o
			if !o.ok && v3FailureIsEnvironmental(o.reason) {
				continue
			}
			t.Run(o.service, func(t *testing.T) {
				t.Parallel()
				if p := setAsideByPlugin(t, o.service); p != "" {
					t.Skipf("set aside: %s changes what v3 prints", p)
				}
				dir := stubService(t, o.service)
				p, err := Load(context.Background(), Options{
					Dir: dir, Stage: "dev", Region: "us-east-1",
					Env: func(k string) (string, bool) { v, ok := corpusEnv[k]; return v, ok },
				})
				if !o.ok {
					mustReject.Add(1)
					if err == nil {
						t.Fatalf("serverless v3 rejects this service (%s) but Nimbus loaded it", o.reason)
					}
					rejected.Add(1)
					return
				}
				compared.Add(1)
				if err != nil {
					t.Fatalf("Nimbus failed where serverless v3 printed:\n%v", err)
				}
				got := normalizeJSON(t, p.Config(true))
				raw, err := os.ReadFile(filepath.Join("../../testdata/corpus-print", o.service+".json"))
				if err != nil {
					t.Fatal(err)
				}
				var want any
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				if diffs := jsonDiff("", want, got); len(diffs) > 0 {
					sort.Strings(diffs)
					if len(diffs) > 20 {
						diffs = append(diffs[:20], fmt.Sprintf("… and %d more", len(diffs)-20))
					}
					t.Fatalf("nimbus print differs from sls print:\n%s", strings.Join(diffs, "\n"))
				}
				equal.Add(1)
			})
		}
	})
	t.Logf("corpus print: %d/%d equal to serverless v3; %d/%d v3 rejections rejected too",
		equal.Load(), compared.Load(), rejected.Load(), mustReject.Load())
}

func normalizeJSON(t *testing.T, v json.Marshaler) any {
	t.Helper()
	raw, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonDiff lists the paths where two decoded JSON values differ.
func jsonDiff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want object, got %s", orRoot(path), short(got))}
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing (want %s)", path, k, short(wv)))
				continue
			}
			out = append(out, jsonDiff(path+"."+k, wv, gv)...)
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: unexpected %s", path, k, short(gv)))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %s, got %s", orRoot(path), short(want), short(got))}
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: want %s, got %s", orRoot(path), short(want), short(got))}
	}
	return nil
}

func orRoot(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}
