package packaging

import (
	"archive/zip"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// -record-sls re-creates testdata/corpus/*.json by running serverless v3
// (tools/node_modules/.bin/sls package) on stubbed copies of the services;
// without it the test compares Nimbus against the recorded lists, no Node
// needed.
var recordSLS = flag.Bool("record-sls", false, "record serverless v3 zip file lists into testdata/corpus")

// -record-corpus records every corpus service serverless v3 packages
// (results/sls3.tsv "ok"), skipping those whose plugins are not installed.
var recordCorpus = flag.Bool("record-corpus", false, "record serverless v3 zip file lists for the whole corpus")

// -record-match limits -record-corpus to services whose name matches.
var recordMatch = flag.String("record-match", "", "with -record-corpus: only services matching this regexp")

// corpusCases are the services compared with serverless v3: from the
// shared corpus (a name) or from testdata/corpus-extra (a "extra/" name)
// for shapes the corpus lacks. Chosen to cover the service zip with legacy
// include/exclude, package.individually, prebuilt artifacts (service and
// function level), executables, every file-handler runtime and layers.
var corpusCases = []string{
	"aws-golang-http-get-post",    // individually, function patterns, exclude ./**
	"aws-golang-auth-examples",    // exclude ./** then include ./bin/**
	"legacy__aws-csharp",          // individually + function artifact
	"legacy__aws-java-maven",      // service artifact
	"aws-node-stripe-integration", // include node_modules/** vs dev deps; exclude package.json
	"aws-python-rest-api",         // python
	"aws-ruby-simple-http-endpoint",
	"legacy__aws-provided", // bootstrap executable
	"aws-multiple-runtime", // node + python in one zip
	"aws-node-express-api", // plain node service zip
	"aws-ffmpeg-layer",     // layer zip and the service zip without the layer folder
	"extra/layers-individually",
}

// recorded is what one service packages to: zip base name → entry names.
type recorded struct {
	Zips map[string][]string `json:"zips"`
}

func corpusDir() string {
	if d := os.Getenv("NIMBUS_CORPUS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "corpus")
}

// stubbedCopy prepares a packageable copy of a case in a temp dir: the
// serverless.yml, the corpus stub handlers, and the shared extras.
func stubbedCopy(t *testing.T, name string) string {
	t.Helper()
	corpus := corpusDir()
	var src string
	if rest, ok := strings.CutPrefix(name, "extra/"); ok {
		src = filepath.Join("testdata", "corpus-extra", rest, "serverless.yml")
	} else {
		src = filepath.Join(corpus, "public", name, "serverless.yml")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	dir := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "serverless.yml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(corpus, "stub-handlers.sh")
	if _, err := os.Stat(stub); err != nil {
		t.Skipf("stub-handlers.sh not available: %v", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("stub-handlers.sh needs python3")
	}
	if out, err := exec.Command("bash", stub, dir).CombinedOutput(); err != nil {
		t.Fatalf("stub-handlers: %v\n%s", err, out)
	}
	writeFixture(t, dir, extras)
	return dir
}

func TestCorpusFileListsMatchServerlessV3(t *testing.T) {
	if *recordSLS {
		for _, name := range corpusCases {
			dir := stubbedCopy(t, name)
			if !recordServerless(t, dir, goldenPath(name)) {
				t.Fatalf("%s: serverless v3 produced no zip", name)
			}
		}
	}
	if *recordCorpus {
		match := regexp.MustCompile(*recordMatch)
		for _, name := range okCorpusServices(t) {
			if !match.MatchString(name) {
				continue
			}
			dir := stubbedCopy(t, name)
			if !recordServerless(t, dir, goldenPath(name)) {
				t.Logf("%s: serverless v3 produced no zip; not recorded", name)
			}
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	if len(goldens) < len(corpusCases) {
		t.Fatalf("%d recorded services, want at least %d (run with -record-sls)", len(goldens), len(corpusCases))
	}
	for _, golden := range goldens {
		name := strings.TrimSuffix(filepath.Base(golden), ".json")
		if rest, ok := strings.CutPrefix(name, "extra__"); ok {
			name = "extra/" + rest
		}
		if testing.Short() && !contains(corpusCases, name) {
			continue // -short: the chosen sample only
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			compareWithServerless(t, name, golden)
		})
	}
}

const customResourcesZip = "custom-resources.zip"

// pluginFiles are files a v3 plugin writes into the service folder while
// packaging (serverless-wsgi's handler shim), which Nimbus does not run.
// They are known differences, left out of the comparison.
var pluginFiles = map[string][]string{
	"aws-python-flask-api":          {".serverless-wsgi", "serverless_wsgi.py"},
	"aws-python-flask-dynamodb-api": {".serverless-wsgi", "serverless_wsgi.py"},
}

func goldenPath(name string) string {
	return filepath.Join("testdata", "corpus", strings.Replace(name, "extra/", "extra__", 1)+".json")
}

func compareWithServerless(t *testing.T, name, golden string) {
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want recorded
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	dir := stubbedCopy(t, name)
	svc := loadService(t, dir)
	res := mustPackage(t, svc)
	got := recorded{Zips: map[string][]string{}}
	for _, a := range res.Artifacts {
		if a.Built {
			got.Zips[filepath.Base(a.Path)] = a.Files
			if names := zipNames(t, a.Path); !reflect.DeepEqual(names, a.Files) {
				t.Errorf("%s: Result.Files %v differ from the zip's entries %v", a.Path, a.Files, names)
			}
		}
	}
	// v3 also writes custom-resources.zip, built by the compile stage
	// (internal/compile/aws), not by packaging.
	delete(want.Zips, customResourcesZip)
	for zipName, files := range want.Zips {
		var kept []string
		for _, f := range files {
			if !contains(pluginFiles[name], f) {
				kept = append(kept, f)
			}
		}
		want.Zips[zipName] = sorted(kept)
	}
	for zipName, files := range got.Zips {
		got.Zips[zipName] = sorted(files)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("zip contents differ from serverless v3\n got: %s\nwant: %s", listing(got), listing(want))
	}
}

// okCorpusServices lists the corpus services serverless v3 packaged.
func okCorpusServices(t *testing.T) []string {
	data, err := os.ReadFile(filepath.Join(corpusDir(), "results", "sls3.tsv"))
	if err != nil {
		t.Skipf("corpus results not available: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Split(line, "\t"); len(f) > 1 && f[1] == "ok" {
			names = append(names, f[0])
		}
	}
	return names
}

func listing(r recorded) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// recordServerless runs serverless v3 in dir and writes the entry names of
// each zip it produced. A failure after packaging (v3 looks up the
// deployed stack for layers) is fine as long as the zips were written;
// it reports false when v3 failed without writing any. (A service whose
// functions all use prebuilt artifacts succeeds with no zip.)
func recordServerless(t *testing.T, dir, golden string) bool {
	t.Helper()
	sls, err := filepath.Abs(filepath.Join("..", "..", "tools", "node_modules", ".bin", "sls"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), sls, "package", "--stage", "dev", "--region", "us-east-1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLS_TELEMETRY_DISABLED=1", "SLS_NOTIFICATIONS_MODE=off",
		"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x")
	out, runErr := cmd.CombinedOutput()
	zips, _ := filepath.Glob(filepath.Join(dir, ".serverless", "*.zip"))
	if len(zips) == 0 && runErr != nil {
		t.Logf("sls package in %s: %v\n%s", dir, runErr, out)
		return false
	}
	rec := recorded{Zips: map[string][]string{}}
	for _, z := range zips {
		if filepath.Base(z) == customResourcesZip {
			continue
		}
		zr, err := zip.OpenReader(z)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		zr.Close()
		sort.Strings(names)
		rec.Zips[filepath.Base(z)] = names
	}
	data, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(golden, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return true
}
