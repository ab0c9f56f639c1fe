package packaging

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/internal/diag"
)

const nodeService = `service: svc
provider:
  name: aws
  runtime: nodejs18.x
functions:
  api:
    handler: handler.main
`

var handlerFile = fixtureFile{Path: "handler.js", Body: "exports.main = async () => ({});\n"}

func TestDevDependencyGlobsMatchNpmLsDifference(t *testing.T) {
	svc := newService(t, nodeService, append(extras, handlerFile)...)
	tr, err := walkTree(svc.Dir, svc.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// scoped package: v3 puts its .bin entry under the scope folder
		"node_modules/@scope/tool/**", "node_modules/@scope/.bin/tool",
		"node_modules/@types/node/**",
		"node_modules/debug/**",
		"node_modules/mocha/**", "node_modules/.bin/_mocha", "node_modules/.bin/mocha",
		"node_modules/mocha/node_modules/ms/**",
		"node_modules/ms/**",
		"sub/node_modules/devonly/**", "sub/node_modules/.bin/devonly",
	}
	if got := devDependencyGlobs(tr); !reflect.DeepEqual(got, want) {
		t.Errorf("dev globs\n got %q\nwant %q", got, want)
	}
}

func TestDevDependenciesArePrunedUnlessDisabled(t *testing.T) {
	files := append(extras, handlerFile)
	res := mustPackage(t, newService(t, nodeService+"package:\n  patterns: ['node_modules/mocha/**']\n", files...))
	got := strings.Join(res.Artifacts[0].Files, "\n")
	for _, gone := range []string{"node_modules/mocha/index.js", "node_modules/debug/index.js", "node_modules/.bin/mocha", "sub/node_modules/devonly/cli.js"} {
		if strings.Contains(got, gone+"\n") {
			t.Errorf("dev dependency file %s packaged (dev excludes must win over includes)", gone)
		}
	}
	for _, kept := range []string{"node_modules/left-pad/index.js", "node_modules/shared/index.js", "sub/node_modules/kept/index.js", "node_modules/extraneous/index.js"} {
		if !strings.Contains(got, kept) {
			t.Errorf("production file %s missing", kept)
		}
	}

	res = mustPackage(t, newService(t, nodeService+"package:\n  excludeDevDependencies: false\n", files...))
	if !contains(res.Artifacts[0].Files, "node_modules/mocha/index.js") {
		t.Error("excludeDevDependencies: false must keep dev dependencies")
	}
}

func TestIndividuallyBuildsOneZipPerFunctionSharingTheWalk(t *testing.T) {
	yml := `service: svc
provider: {name: aws, runtime: nodejs18.x}
package:
  patterns: ['!src/**']
functions:
  one:
    handler: src/one.main
    package:
      individually: true
      patterns: ['src/one.js']
  two:
    handler: src/two.main
    package:
      patterns: ['src/two.js']
  three:
    handler: handler.main
`
	svc := newService(t, yml, handlerFile,
		fixtureFile{Path: "src/one.js", Body: "1"}, fixtureFile{Path: "src/two.js", Body: "2"})
	res, ds := Package(context.Background(), svc, ".serverless")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	out := filepath.Join(svc.Dir, ".serverless")
	if res.ServiceArtifact != filepath.Join(out, "svc.zip") {
		t.Errorf("service artifact %q", res.ServiceArtifact)
	}
	wantFns := map[string]string{
		"one":   filepath.Join(out, "one.zip"),
		"two":   filepath.Join(out, "svc.zip"),
		"three": filepath.Join(out, "svc.zip"),
	}
	if !reflect.DeepEqual(res.Functions, wantFns) {
		t.Errorf("functions %v, want %v", res.Functions, wantFns)
	}
	if got := zipNames(t, wantFns["one"]); !reflect.DeepEqual(got, []string{"handler.js", "src/one.js"}) {
		t.Errorf("one.zip %q", got)
	}
	// Function patterns without individually are ignored, as v3 warns.
	if got := zipNames(t, res.ServiceArtifact); !reflect.DeepEqual(got, []string{"handler.js"}) {
		t.Errorf("svc.zip %q", got)
	}
	// ...and then two's own handler file is not in the zip.
	w := ds.Warnings()
	if len(w) != 2 || w[0].Path != "functions.two.package.patterns" || w[0].Pos.Line != 14 ||
		w[1].Path != "functions.two.handler" || !strings.Contains(w[1].Summary, "src/two.js is excluded") {
		t.Errorf("want warnings at functions.two.package.patterns (line 14) and functions.two.handler, got %s", diagSummaries(ds))
	}
}

func TestPrebuiltArtifactsAreUsedInPlace(t *testing.T) {
	yml := `service: svc
provider: {name: aws, runtime: java17}
package:
  artifact: target/app.jar
functions:
  a:
    handler: com.example.A
  b:
    handler: com.example.B
    package:
      artifact: build/b.zip
  c:
    handler: com.example.C
    package:
      artifact: s3://bucket/key/c.zip
  img:
    image: 123.dkr.ecr.us-east-1.amazonaws.com/app:latest
  off:
    handler: x
    package:
      disable: true
layers:
  prebuilt:
    package:
      artifact: build/layer.zip
`
	svc := newService(t, yml, fixtureFile{Path: "target/app.jar", Body: "jar"},
		fixtureFile{Path: "build/b.zip", Body: "zip"}, fixtureFile{Path: "build/layer.zip", Body: "layer"})
	res := mustPackage(t, svc)
	want := map[string]string{
		"a": filepath.Join(svc.Dir, "target/app.jar"),
		"b": filepath.Join(svc.Dir, "build/b.zip"),
		"c": "s3://bucket/key/c.zip",
	}
	if !reflect.DeepEqual(res.Functions, want) {
		t.Errorf("functions %v, want %v", res.Functions, want)
	}
	if res.Layers["prebuilt"] != filepath.Join(svc.Dir, "build/layer.zip") {
		t.Errorf("layers %v", res.Layers)
	}
	if _, err := os.Stat(filepath.Join(svc.Dir, ".serverless")); !os.IsNotExist(err) {
		t.Errorf("nothing to build, yet the output directory was created (%v)", err)
	}
	sha, _ := FileSHA256(filepath.Join(svc.Dir, "target/app.jar"))
	if res.Artifacts[0].Path != want["a"] || res.Artifacts[0].Built || res.Artifacts[0].SHA256 != sha {
		t.Errorf("first artifact %+v, want the prebuilt service jar with sha %s", res.Artifacts[0], sha)
	}
}

func TestArtifactProblemsPointAtTheConfig(t *testing.T) {
	yml := `service: svc
provider: {name: aws, runtime: java17}
functions:
  a:
    handler: com.example.A
    package:
      artifact: build/missing.zip
  b:
    handler: com.example.B
    package:
      artifact: ../elsewhere/b.zip
`
	svc := newService(t, yml)
	_, ds := Package(context.Background(), svc, ".serverless")
	errs := ds.Errors()
	if len(errs) != 2 {
		t.Fatalf("want 2 errors, got %s", diagSummaries(ds))
	}
	assertDiag(t, errs[0], "functions.a.package.artifact", 7, 17, "build/missing.zip")
	assertDiag(t, errs[1], "functions.b.package.artifact", 11, 17, "outside the service directory")
}

func assertDiag(t *testing.T, d diag.Diagnostic, path string, line, col int, text string) {
	t.Helper()
	if d.Path != path || d.Pos.Line != line || d.Pos.Col != col || !strings.Contains(d.Summary, text) {
		t.Errorf("diagnostic %q at %s, want %s at %d:%d containing %q", d.Message(), d.Path, path, line, col, text)
	}
	if !strings.HasSuffix(d.Pos.File, "serverless.yml") {
		t.Errorf("diagnostic file %q", d.Pos.File)
	}
}

func TestLayerZipIsRootedAtTheLayerPath(t *testing.T) {
	yml := nodeService + `layers:
  libs:
    path: layer
    package:
      patterns: ['!nodejs/skip.txt']
`
	svc := newService(t, yml, handlerFile,
		fixtureFile{Path: "layer/nodejs/node_modules/lib/index.js", Body: "lib"},
		fixtureFile{Path: "layer/nodejs/skip.txt", Body: "skip"})
	res := mustPackage(t, svc)
	if got := zipNames(t, res.Layers["libs"]); !reflect.DeepEqual(got, []string{"nodejs/node_modules/lib/index.js"}) {
		t.Errorf("layer zip %q", got)
	}
	if filepath.Base(res.Layers["libs"]) != "libs.zip" {
		t.Errorf("layer zip name %s", res.Layers["libs"])
	}
	if got := zipNames(t, res.ServiceArtifact); !reflect.DeepEqual(got, []string{"handler.js"}) {
		t.Errorf("service zip must leave the layer folder out, got %q", got)
	}
}

func TestZipsAreDeterministic(t *testing.T) {
	files := append([]fixtureFile{handlerFile,
		{Path: "bootstrap", Body: "#!/bin/sh\n", Mode: 0o755},
		{Path: "data/big.txt", Body: strings.Repeat("nimbus ", 20000)},
		{Path: "data/ünïcode.txt", Body: "u"},
	}, extras...)
	svc := newService(t, nodeService, files...)
	first := mustPackage(t, svc).Artifacts[0]
	again := mustPackage(t, svc).Artifacts[0]
	if first.SHA256 != again.SHA256 {
		t.Fatalf("repackaging changed the zip: %s then %s", first.SHA256, again.SHA256)
	}
	disk, err := FileSHA256(first.Path)
	if err != nil || disk != first.SHA256 {
		t.Fatalf("Result.SHA256 %s, file on disk %s (%v)", first.SHA256, disk, err)
	}
	// New modification times (a fresh checkout, a touched file) must not
	// change a byte.
	future := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	filepath.Walk(svc.Dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			os.Chtimes(p, future, future)
		}
		return nil
	})
	if touched := mustPackage(t, svc).Artifacts[0]; touched.SHA256 != first.SHA256 {
		t.Fatalf("touching files changed the zip: %s then %s", first.SHA256, touched.SHA256)
	}

	zr, err := zip.OpenReader(first.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var prev string
	for _, f := range zr.File {
		if f.Name <= prev {
			t.Errorf("entries not sorted: %q after %q", f.Name, prev)
		}
		prev = f.Name
		if f.ModifiedDate != dosEpochDate || f.ModifiedTime != 0 || len(f.Extra) != 0 {
			t.Errorf("%s: date %d time %d extra %d bytes, want the fixed DOS epoch and no extra field", f.Name, f.ModifiedDate, f.ModifiedTime, len(f.Extra))
		}
		wantMode := os.FileMode(0o644)
		if f.Name == "bootstrap" || f.Name == "scripts/run.sh" || f.Name == "scripts/current.sh" || f.Name == "node_modules/.bin/tool" {
			wantMode = 0o755
		}
		if f.Mode() != wantMode {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), wantMode)
		}
	}

	// A content change must change the hash (the test above can fail).
	os.WriteFile(filepath.Join(svc.Dir, "handler.js"), []byte("changed"), 0o644)
	if changed := mustPackage(t, svc).Artifacts[0]; changed.SHA256 == first.SHA256 {
		t.Fatal("changed content kept the same hash")
	}
}

func TestZipContentRoundTrips(t *testing.T) {
	body := strings.Repeat("round trip ", 5000)
	svc := newService(t, "service: svc\nprovider: {name: aws, runtime: provided.al2}\nfunctions:\n  f:\n    handler: x\n",
		fixtureFile{Path: "a/data.txt", Body: body}, fixtureFile{Path: "empty", Body: ""})
	res := mustPackage(t, svc)
	zr, err := zip.OpenReader(res.ServiceArtifact)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		buf := new(strings.Builder)
		if _, err := io.Copy(buf, rc); err != nil {
			t.Fatalf("%s: %v (CRC or size mismatch)", f.Name, err)
		}
		rc.Close()
		want := map[string]string{"a/data.txt": body, "empty": ""}[f.Name]
		if buf.String() != want {
			t.Errorf("%s: content differs", f.Name)
		}
	}
}

func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	writeFixture(t, outside, []fixtureFile{{Path: "secret.txt", Body: "s"}, {Path: "lib/x.js", Body: "x"}})
	svc := newService(t, nodeService, handlerFile,
		fixtureFile{Path: "lib/real.js", Body: "r"},
		fixtureFile{Path: "lib/alias.js", Link: "real.js"},
		fixtureFile{Path: "linked-dir", Link: "lib"},
		fixtureFile{Path: "loop/self", Link: ".."},
		fixtureFile{Path: "shared", Link: filepath.Join(outside, "lib")},
		fixtureFile{Path: "secret.txt", Link: filepath.Join(outside, "secret.txt")},
		fixtureFile{Path: "dangling.js", Link: "nowhere.js"},
	)
	_, ds := Package(context.Background(), svc, ".serverless")
	msg := diagSummaries(ds)
	for _, want := range []string{"symlink shared points outside the service directory", "symlink secret.txt points outside", "symlink dangling.js points to a missing file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(svc.Dir, ".serverless")); !os.IsNotExist(err) {
		t.Error("a refused package must write nothing")
	}

	// Excluding the offending links makes the rest packageable; links
	// inside the service are followed and stored as regular files.
	yml := nodeService + "package:\n  patterns: ['!shared/**', '!secret.txt', '!dangling.js']\n"
	if err := os.WriteFile(filepath.Join(svc.Dir, "serverless.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	svc = loadService(t, svc.Dir)
	res := mustPackage(t, svc)
	// loop/self points back at the service root: the loop is not entered.
	want := []string{"handler.js", "lib/alias.js", "lib/real.js", "linked-dir/alias.js", "linked-dir/real.js"}
	if got := res.Artifacts[0].Files; !reflect.DeepEqual(got, want) {
		t.Errorf("files\n got %q\nwant %q", got, want)
	}
}

func TestEscapingPatternIsRefusedWithPosition(t *testing.T) {
	yml := nodeService + "package:\n  patterns:\n    - '!tmp/**'\n    - ../shared/**\n"
	svc := newService(t, yml, handlerFile)
	_, ds := Package(context.Background(), svc, ".serverless")
	if errs := ds.Errors(); len(errs) != 1 {
		t.Fatalf("want one error, got %s", diagSummaries(ds))
	} else {
		assertDiag(t, errs[0], "package.patterns[1]", 11, 7, "reaches outside the service directory")
	}
}

func TestMissingHandlerIsAnErrorAtTheHandlerAndWritesNothing(t *testing.T) {
	yml := `service: svc
provider: {name: aws, runtime: nodejs18.x}
functions:
  ok:
    handler: handler.main
  py:
    runtime: python3.12
    handler: app/main.handler
  rb:
    runtime: ruby3.3
    handler: lib/fn.Mod::Klass.call
  gone:
    handler: src/missing.main
  go:
    runtime: go1.x
    handler: bin/whatever
`
	svc := newService(t, yml, handlerFile,
		fixtureFile{Path: "app/main.py", Body: "def handler(e, c): pass\n"},
		fixtureFile{Path: "lib/fn.rb", Body: "module Mod; end\n"})
	_, ds := Package(context.Background(), svc, ".serverless")
	errs := ds.Errors()
	if len(errs) != 1 {
		t.Fatalf("want exactly one error, got %s", diagSummaries(ds))
	}
	assertDiag(t, errs[0], "functions.gone.handler", 13, 14, `function "gone"`)
	if _, err := os.Stat(filepath.Join(svc.Dir, ".serverless")); !os.IsNotExist(err) {
		t.Error("nothing may be written when a handler is missing")
	}
}

func TestHandlerFiles(t *testing.T) {
	tests := []struct {
		runtime, handler, first string
		ok                      bool
	}{
		{"nodejs20.x", "src/api.handlers.main", "src/api", true},
		{"nodejs20.x", "index.handler", "index", true},
		{"python3.12", "pkg/mod.sub.fn", "pkg/mod/sub.py", true},
		{"python3.12", "app.handler", "app.py", true},
		{"ruby3.3", "lib/fn.Mod::K.call", "lib/fn.rb", true},
		{"java17", "com.example.Handler", "", false},
		{"provided.al2", "bootstrap", "", false},
	}
	for _, tt := range tests {
		files, ok := handlerFiles(tt.runtime, tt.handler)
		if ok != tt.ok || (ok && files[0] != tt.first) {
			t.Errorf("handlerFiles(%s, %s) = %q, %v; want first %q, %v", tt.runtime, tt.handler, files, ok, tt.first, tt.ok)
		}
	}
}

func TestSameZipNameIsRefused(t *testing.T) {
	yml := `service: api
provider: {name: aws, runtime: nodejs18.x}
functions:
  api:
    handler: handler.main
    package: {individually: true}
  other:
    handler: handler.main
`
	_, ds := Package(context.Background(), newService(t, yml, handlerFile), ".serverless")
	if !strings.Contains(diagSummaries(ds), "api.zip") || !ds.HasErrors() {
		t.Errorf("want a collision error naming api.zip, got %s", diagSummaries(ds))
	}
}

func TestNoMatchingFilesIsAnError(t *testing.T) {
	yml := "service: svc\nprovider: {name: aws, runtime: provided.al2}\nfunctions:\n  f:\n    handler: x\npackage:\n  patterns: ['!**']\n"
	_, ds := Package(context.Background(), newService(t, yml, handlerFile), ".serverless")
	if errs := ds.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Summary, "no file matches") || errs[0].Pos.Line != 7 || errs[0].Path != "package.patterns" {
		t.Errorf("got %s", diagSummaries(ds))
	}
}

func TestFailedBuildLeavesNoPartialZip(t *testing.T) {
	svc := newService(t, nodeService, handlerFile, fixtureFile{Path: "a.txt", Body: "a"})
	out := filepath.Join(svc.Dir, ".serverless")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "svc.zip"), []byte("previous"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ds := Package(ctx, svc, ".serverless"); !ds.HasErrors() {
		t.Fatal("a cancelled package must fail")
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "svc.zip" {
		t.Errorf("output dir holds %v, want only the previous svc.zip", entries)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "svc.zip")); string(data) != "previous" {
		t.Error("the previous zip was replaced by a failed build")
	}
}

func TestOutputDirectoryInsideTheServiceIsNotPackaged(t *testing.T) {
	svc := newService(t, nodeService, handlerFile, fixtureFile{Path: "dist/old.zip", Body: "old"})
	res, ds := Package(context.Background(), svc, "dist")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if got := res.Artifacts[0].Files; !reflect.DeepEqual(got, []string{"handler.js"}) {
		t.Errorf("files %q: the output directory must not be packaged", got)
	}
	if res.ServiceArtifact != filepath.Join(svc.Dir, "dist", "svc.zip") {
		t.Errorf("artifact %s, want it under the service's dist/", res.ServiceArtifact)
	}
}

func TestLayerFolderOutsideTheServiceIsAllowed(t *testing.T) {
	parent := t.TempDir()
	writeFixture(t, parent, []fixtureFile{
		{Path: "shared-layer/python/lib.py", Body: "x = 1\n"},
		{Path: "svc/serverless.yml", Body: nodeService + "layers:\n  shared:\n    path: ../shared-layer\n"},
		{Path: "svc/handler.js", Body: handlerFile.Body},
	})
	res := mustPackage(t, loadService(t, filepath.Join(parent, "svc")))
	if got := zipNames(t, res.Layers["shared"]); !reflect.DeepEqual(got, []string{"python/lib.py"}) {
		t.Errorf("layer zip %q", got)
	}
}

func TestMissingLayerFolderPointsAtItsPath(t *testing.T) {
	svc := newService(t, nodeService+"layers:\n  libs:\n    path: nowhere\n", handlerFile)
	_, ds := Package(context.Background(), svc, ".serverless")
	if errs := ds.Errors(); len(errs) != 1 {
		t.Fatalf("want one error, got %s", diagSummaries(ds))
	} else {
		assertDiag(t, errs[0], "layers.libs.path", 10, 11, `"nowhere" is not a directory`)
	}
}
