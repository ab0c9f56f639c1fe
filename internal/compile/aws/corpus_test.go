package aws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/internal/compile/aws"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// The differential harness: every corpus service serverless v3 could
// package is packaged by Nimbus and the update-stack template, the
// important parts of serverless-state.json and the artifact list are
// compared with v3's output. Only values that change on every run or with
// the zip library are normalised (see normalize), plus the one intentional
// divergence, the custom-resource handlers' runtime
// (aws.AcceptV3CustomResourceRuntime). Differences that are v3 bugs are
// listed with evidence in testdata/known-differences.txt.

// skippedPlugins change the template in ways Nimbus does not reproduce;
// services using them are skipped by name.
var skippedPlugins = []string{"pseudo-parameters", "cf-vars", "wsgi", "apigw-binary"}

func corpusRoot(t testing.TB) string {
	dir := os.Getenv("NIMBUS_CORPUS")
	if dir == "" {
		dir = "/work/shared/corpus"
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.tsv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus not found at %s (set NIMBUS_CORPUS)", dir)
		}
		t.Skipf("corpus not found at %s (set NIMBUS_CORPUS)", dir)
	}
	return dir
}

type corpusService struct {
	name, plugins string
}

func corpusServices(t testing.TB, root string) []corpusService {
	f, err := os.Open(filepath.Join(root, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusService
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 3 {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "public", cols[0], "expected", "sls3")); err != nil {
			continue
		}
		out = append(out, corpusService{name: cols[0], plugins: cols[2]})
	}
	return out
}

func skippedPlugin(plugins string) string {
	for _, p := range strings.Split(plugins, ",") {
		for _, s := range skippedPlugins {
			if p != "-" && strings.Contains(p, s) {
				return p
			}
		}
	}
	return ""
}

// packaged is what Nimbus produced for one corpus service.
type packaged struct {
	dir      string
	template map[string]any
	state    map[string]any
	files    []string
}

// packageCorpusService copies a service to a scratch dir, stubs its
// handlers and runs nimbus.Package with stage dev, region us-east-1.
func packageCorpusService(scratch, root, name string) (*packaged, error) {
	work, err := os.MkdirTemp(scratch, name+"-")
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(root, "public", name, "serverless.yml"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "serverless.yml"), data, 0o644); err != nil {
		return nil, err
	}
	stub := exec.Command("bash", filepath.Join(root, "stub-handlers.sh"), work)
	if out, err := stub.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("stub-handlers: %v\n%s", err, out)
	}
	ctx := context.Background()
	p, err := nimbus.Load(ctx, nimbus.Options{
		Dir: work, Stage: "dev", Region: "us-east-1",
		Env: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		return nil, fmt.Errorf("load: %v", err)
	}
	res, err := nimbus.Package(ctx, p, nimbus.PackageOptions{Now: time.UnixMilli(1700000000000)})
	if err != nil {
		return nil, fmt.Errorf("package: %v", err)
	}
	out := &packaged{dir: res.Dir}
	if err := readJSON(filepath.Join(res.Dir, nimbus.UpdateStackTemplateFile), &out.template); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(res.Dir, nimbus.StateFile), &out.state); err != nil {
		return nil, err
	}
	entries, _ := os.ReadDir(res.Dir)
	for _, e := range entries {
		out.files = append(out.files, e.Name())
	}
	return out, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// corpusRun is the packaging of every corpus service, shared by the tests
// of this file so each service is packaged once per test binary.
type corpusRun struct {
	root     string
	services []corpusService
	results  []corpusResult
}

type corpusResult struct {
	got   *packaged
	diffs []string
}

var (
	corpusOnce   sync.Once
	corpusShared *corpusRun
	corpusDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if corpusDir != "" {
		os.RemoveAll(corpusDir)
	}
	os.Exit(code)
}

func packageCorpus(t *testing.T) *corpusRun {
	root := corpusRoot(t)
	known := loadKnownDifferences(t)
	corpusOnce.Do(func() {
		var err error
		if corpusDir, err = os.MkdirTemp("", "nimbus-corpus-"); err != nil {
			t.Fatal(err)
		}
		run := &corpusRun{root: root, services: corpusServices(t, root)}
		run.results = make([]corpusResult, len(run.services))
		// Packaging a service is mostly waiting on the stub script and the
		// file system, so run more of them at once than there are CPUs.
		sem := make(chan struct{}, 4*runtime.NumCPU())
		var wg sync.WaitGroup
		for i, svc := range run.services {
			if skippedPlugin(svc.plugins) != "" {
				continue
			}
			wg.Add(1)
			go func(i int, svc corpusService) {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				got, diffs := compareService(corpusDir, root, svc.name, known[svc.name])
				run.results[i] = corpusResult{got, diffs}
			}(i, svc)
		}
		wg.Wait()
		corpusShared = run
	})
	if corpusShared == nil {
		t.Fatal("corpus packaging failed")
	}
	return corpusShared
}

func TestCorpus(t *testing.T) {
	run := packageCorpus(t)
	services := run.services
	var ok, total, skipped int
	var failed []string
	var summary strings.Builder
	t.Run("services", func(t *testing.T) {
		for i, svc := range services {
			diffs := run.results[i].diffs
			t.Run(svc.name, func(t *testing.T) {
				if p := skippedPlugin(svc.plugins); p != "" {
					skipped++
					t.Skipf("uses plugin %s", p)
				}
				total++
				if len(diffs) == 0 {
					ok++
					return
				}
				failed = append(failed, svc.name)
				fmt.Fprintf(&summary, "  FAIL %s: %s\n", svc.name, firstLine(diffs[0]))
				if len(diffs) > 40 {
					diffs = append(diffs[:40], fmt.Sprintf("… and %d more", len(diffs)-40))
				}
				t.Errorf("%d differences from serverless v3:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
			})
		}
	})
	fmt.Printf("corpus: %d/%d equivalent (%d skipped for plugins)\n%s", ok, total, skipped, summary.String())
	if len(failed) > 0 {
		t.Errorf("%d services differ from serverless v3: %s", len(failed), strings.Join(failed, ", "))
	}
}

// compareService returns the unexplained differences for one service.
func compareService(scratch, root, name string, known []knownDifference) (*packaged, []string) {
	got, err := packageCorpusService(scratch, root, name)
	if err != nil {
		return nil, []string{err.Error()}
	}
	expDir := filepath.Join(root, "public", name, "expected", "sls3")
	var expTmpl, expState map[string]any
	if err := readJSON(filepath.Join(expDir, "cloudformation-template-update-stack.json"), &expTmpl); err != nil {
		return got, []string{err.Error()}
	}
	if err := readJSON(filepath.Join(expDir, "serverless-state.json"), &expState); err != nil {
		return got, []string{err.Error()}
	}
	if res, ok := expTmpl["Resources"].(map[string]any); ok {
		aws.AcceptV3CustomResourceRuntime(res)
	}
	var diffs []string
	diffs = append(diffs, diffJSON("template", normalize(expTmpl), normalize(got.template))...)
	diffs = append(diffs, diffJSON("state", stateEssentials(expState), stateEssentials(got.state))...)
	diffs = append(diffs, diffJSON("artifacts", artifactNames(expState, expTmpl), zipNames(got.files))...)
	var out []string
	for _, d := range diffs {
		if !isKnown(d, known) {
			out = append(out, d)
		}
	}
	return got, out
}

var (
	timestampDir  = regexp.MustCompile(`\d{13}-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`)
	apiDeployment = regexp.MustCompile(`ApiGatewayDeployment\d+`)
	lambdaVersion = regexp.MustCompile(`LambdaVersion[0-9A-Za-z]+`)
	layerRetainID = regexp.MustCompile(`(LambdaLayer(?:Permission[0-9A-Za-z]*)?)[0-9a-f]{40}$`)
	// serverless-lift's unresolved CDK tokens, kept in the state's
	// initialServerlessConfig, are numbered by a counter global to the
	// CDK library in the node process, which every CDK object it creates
	// advances; Nimbus numbers its own from 1.
	cdkToken = regexp.MustCompile(`\$\{Token\[TOKEN\.\d+\]\}`)
)

// normalize replaces what differs on every run or with the zip library
// (and the number in serverless-lift's CDK tokens, see cdkToken):
// the timestamped S3 directory, ApiGatewayDeployment<ms>, the
// LambdaVersion<hash> suffix, CodeSha256, and layer content hashes (the
// Hash output and the suffix of retained layers, sha1 over the zip bytes).
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			nk := normString(k)
			nk = layerRetainID.ReplaceAllString(nk, "${1}<sha1>")
			if k == "CodeSha256" {
				e = "<sha256>"
			}
			m[nk] = normalize(e)
			if strings.HasSuffix(k, "LambdaLayerHash") {
				if o, ok := m[nk].(map[string]any); ok {
					o["Value"] = "<sha1>"
				}
			}
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = normalize(e)
		}
		return s
	case string:
		return layerRetainID.ReplaceAllString(normString(x), "${1}<sha1>")
	}
	return v
}

func normString(s string) string {
	s = timestampDir.ReplaceAllString(s, "<timestamp>")
	s = cdkToken.ReplaceAllString(s, "${Token[TOKEN.<n>]}")
	s = apiDeployment.ReplaceAllString(s, "ApiGatewayDeployment<id>")
	return lambdaVersion.ReplaceAllString(s, "LambdaVersion<hash>")
}

// stateEssentials is serverless-state.json without what is compared
// elsewhere or cannot match: the templates (compared above) and function
// events (v3's event compilers write their defaults back into them).
// Paths into the package folder and run stamps are normalised.
func stateEssentials(st map[string]any) any {
	st = cfnDeepCopy(st).(map[string]any)
	svc, _ := st["service"].(map[string]any)
	if prov, ok := svc["provider"].(map[string]any); ok {
		delete(prov, "compiledCloudFormationTemplate")
		delete(prov, "coreCloudFormationTemplate")
	}
	if fns, ok := svc["functions"].(map[string]any); ok {
		for _, f := range fns {
			if fm, ok := f.(map[string]any); ok {
				delete(fm, "events")
			}
		}
	}
	return normalizeState(st)
}

var packageDirPath = regexp.MustCompile(`^/.*/\.serverless/`)

func normalizeState(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[normString(k)] = normalizeState(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeState(e)
		}
		return out
	case string:
		return packageDirPath.ReplaceAllString(normString(x), "<package>/")
	}
	return v
}

func cfnDeepCopy(v any) any {
	data, _ := json.Marshal(v)
	var out any
	json.Unmarshal(data, &out)
	return out
}

// artifactNames lists the zip files v3's package directory held: the
// service zip and each function's and layer's own zip, as named in state,
// and custom-resources.zip when the template deploys it.
func artifactNames(st, tmpl map[string]any) any {
	set := map[string]bool{}
	svc, _ := st["service"].(map[string]any)
	add := func(p any) {
		s, ok := p.(string)
		if ok && strings.HasSuffix(s, ".zip") && strings.Contains(s, "/.serverless/") {
			set[filepath.Base(s)] = true
		}
	}
	add(svc["artifact"])
	if res, ok := tmpl["Resources"].(map[string]any); ok {
		for _, r := range res {
			props, _ := r.(map[string]any)["Properties"].(map[string]any)
			code, _ := props["Code"].(map[string]any)
			if key, ok := code["S3Key"].(string); ok && strings.HasSuffix(key, "/custom-resources.zip") {
				set["custom-resources.zip"] = true
			}
		}
	}
	for _, group := range []string{"functions", "layers"} {
		if m, ok := svc[group].(map[string]any); ok {
			for _, f := range m {
				fm, _ := f.(map[string]any)
				if p, ok := fm["package"].(map[string]any); ok {
					add(p["artifact"])
				}
			}
		}
	}
	return sortedList(set)
}

func zipNames(files []string) any {
	set := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, ".zip") {
			set[f] = true
		}
	}
	return sortedList(set)
}

func sortedList(set map[string]bool) []any {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

// diffJSON lists path-level differences between want and got.
func diffJSON(path string, want, got any) []string {
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want %s, got %s", path, short(want), short(got))}
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, wok := w[k]
			gv, gok := g[k]
			p := path + "." + k
			switch {
			case !gok:
				out = append(out, fmt.Sprintf("%s: missing (want %s)", p, short(wv)))
			case !wok:
				out = append(out, fmt.Sprintf("%s: unexpected (got %s)", p, short(gv)))
			default:
				out = append(out, diffJSON(p, wv, gv)...)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %s, got %s", path, short(want), short(got))}
		}
		for i := range w {
			out = append(out, diffJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) || fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			out = append(out, fmt.Sprintf("%s: want %s, got %s", path, short(want), short(got)))
		}
	}
	return out
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 160 {
		return string(b[:157]) + "…"
	}
	return string(b)
}

// knownDifference is one line of testdata/known-differences.txt:
// service, JSON path prefix, reason (a v3 bug, with evidence).
type knownDifference struct{ path, reason string }

func loadKnownDifferences(t testing.TB) map[string][]knownDifference {
	data, err := os.ReadFile("testdata/known-differences.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]knownDifference{}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.SplitN(line, "\t", 3)
		if len(cols) != 3 || strings.TrimSpace(cols[2]) == "" {
			t.Fatalf("known-differences.txt:%d: want service<TAB>path<TAB>reason", i+1)
		}
		out[cols[0]] = append(out[cols[0]], knownDifference{cols[1], cols[2]})
	}
	return out
}

func isKnown(diff string, known []knownDifference) bool {
	for _, k := range known {
		if strings.HasPrefix(diff, k.path+":") || strings.HasPrefix(diff, k.path+".") || strings.HasPrefix(diff, k.path+"[") {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:197] + "…"
	}
	return s
}
