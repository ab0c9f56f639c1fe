package nimbus

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awscompile "github.com/nimbusfw/nimbus/internal/compile/aws"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/schema"
)

func writeService(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadAndPackage(t *testing.T, dir string) (*PackageResult, error) {
	t.Helper()
	p, err := Load(context.Background(), Options{Dir: dir, Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return Package(context.Background(), p, PackageOptions{Now: time.UnixMilli(1700000000123)})
}

const helloService = `service: hello
provider:
  name: aws
  runtime: nodejs18.x
functions:
  hello:
    handler: handler.hello
`

func TestPackageWritesV3Layout(t *testing.T) {
	dir := writeService(t, map[string]string{
		"serverless.yml": helloService,
		"handler.js":     "exports.hello = async () => 'hi';\n",
	})
	res, err := loadAndPackage(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "serverless/hello/dev/1700000000123-2023-11-14T22:13:20.123Z"
	if res.ArtifactDirectoryName != want {
		t.Errorf("artifact directory %q, want %q", res.ArtifactDirectoryName, want)
	}
	for _, f := range []string{CreateStackTemplateFile, UpdateStackTemplateFile, StateFile, "hello.zip"} {
		if _, err := os.Stat(filepath.Join(dir, ".serverless", f)); err != nil {
			t.Errorf("missing .serverless/%s: %v", f, err)
		}
	}
	var tmpl map[string]any
	readJSONFile(t, filepath.Join(dir, ".serverless", UpdateStackTemplateFile), &tmpl)
	fn := tmpl["Resources"].(map[string]any)["HelloLambdaFunction"].(map[string]any)
	code := fn["Properties"].(map[string]any)["Code"].(map[string]any)
	if code["S3Key"] != want+"/hello.zip" {
		t.Errorf("S3Key = %v", code["S3Key"])
	}
	var state map[string]any
	readJSONFile(t, filepath.Join(dir, ".serverless", StateFile), &state)
	pkg := state["package"].(map[string]any)
	if pkg["artifactDirectoryName"] != want || pkg["artifact"] != "hello.zip" {
		t.Errorf("state package = %v", pkg)
	}
	svc := state["service"].(map[string]any)
	if svc["artifact"] != filepath.Join(dir, ".serverless", "hello.zip") {
		t.Errorf("state service.artifact = %v (must name the final directory, not the temporary one)", svc["artifact"])
	}
	fnState := svc["functions"].(map[string]any)["hello"].(map[string]any)
	if !strings.HasPrefix(fnState["versionLogicalId"].(string), "HelloLambdaVersion") {
		t.Errorf("versionLogicalId = %v", fnState["versionLogicalId"])
	}
	if info, _ := os.Stat(filepath.Join(dir, ".serverless")); info.Mode().Perm() != 0o755 {
		t.Errorf(".serverless mode %v, want 0755", info.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".serverless.*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary directories left behind: %v", leftovers)
	}
}

func TestPackageFailureKeepsPreviousPackage(t *testing.T) {
	dir := writeService(t, map[string]string{
		"serverless.yml": helloService,
		"handler.js":     "exports.hello = async () => 'hi';\n",
	})
	if _, err := loadAndPackage(t, dir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ".serverless", UpdateStackTemplateFile))
	// Extending a resource the stack does not have fails in the last
	// compile step, after packaging wrote zips into the temporary directory.
	broken := helloService + "resources:\n  extensions:\n    NoSuchResource:\n      Properties:\n        A: b\n"
	os.WriteFile(filepath.Join(dir, "serverless.yml"), []byte(broken), 0o644)
	p, err := Load(context.Background(), Options{Dir: dir, Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	_, err = Package(context.Background(), p, PackageOptions{})
	if err == nil || !strings.Contains(err.Error(), "NoSuchResource") {
		t.Fatalf("want the extensions error, got %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ".serverless", UpdateStackTemplateFile))
	if string(before) != string(after) || len(after) == 0 {
		t.Error("the previous .serverless/ changed after a failed package")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".serverless.*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary directories left behind: %v", leftovers)
	}
}

// An event type serverless v3 does not know is reported once, by the
// schema check, as configValidationMode says; packaging then goes on
// without it, as v3's does, unless the mode is error.
func TestPackageSkipsEventTypesV3DoesNotKnow(t *testing.T) {
	const events = "    events:\n      - carrierPigeon:\n          coop: roof\n      - schedule: rate(1 hour)\n"
	want := packagedResources(t, helloService+"    events:\n      - schedule: rate(1 hour)\n")
	for _, tc := range []struct {
		mode      string
		severity  diag.Severity
		reported  bool
		loadFails bool
	}{
		{mode: "", severity: diag.Warning, reported: true},
		{mode: "warn", severity: diag.Warning, reported: true},
		{mode: "off", reported: false},
		{mode: "error", severity: diag.Error, reported: true, loadFails: true},
	} {
		t.Run("mode="+tc.mode, func(t *testing.T) {
			yml := helloService + events
			line := 9
			if tc.mode != "" {
				yml = "configValidationMode: " + tc.mode + "\n" + yml
				line++
			}
			dir := writeService(t, map[string]string{"serverless.yml": yml, "handler.js": "exports.hello = async () => 'hi';\n"})
			p, err := Load(context.Background(), Options{Dir: dir, Env: func(string) (string, bool) { return "", false }})
			var shown diag.Diagnostics
			shown = append(shown, p.Warnings...)
			if tc.loadFails {
				var de *diag.DiagError
				if !errors.As(err, &de) {
					t.Fatalf("want Load to fail with a diagnostic in error mode, got %v", err)
				}
				shown = append(shown, de.Diags...)
			} else {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				res, err := Package(context.Background(), p, PackageOptions{Now: time.UnixMilli(1700000000123)})
				if err != nil {
					t.Fatalf("package stopped on an event type v3 ignores: %v", err)
				}
				shown = append(shown, res.Warnings...)
				if got := templateResources(t, res); canonical(got) != canonical(want) {
					t.Errorf("template differs from the same service without the unknown event:\n%s\nwant\n%s", canonical(got), canonical(want))
				}
			}
			var about diag.Diagnostics
			for _, d := range shown {
				if strings.Contains(d.Path, "carrierPigeon") {
					about = append(about, d)
				}
			}
			if !tc.reported {
				if len(about) != 0 {
					t.Errorf("configValidationMode off still reports: %v", about)
				}
				return
			}
			if len(about) != 1 {
				t.Fatalf("want the event reported once, got %d: %v", len(about), about)
			}
			d := about[0]
			if d.Severity != tc.severity || d.Pos.Line != line || d.Pos.Col != 9 || d.Path != "functions.hello.events[0].carrierPigeon" {
				t.Errorf("got %s at %s %s, want %s at line %d col 9, functions.hello.events[0].carrierPigeon", d.Severity, d.Pos, d.Path, tc.severity, line)
			}
			if !strings.Contains(d.Summary, "unsupported function event 'carrierPigeon'") {
				t.Errorf("summary %q", d.Summary)
			}
		})
	}
}

// Skipping unknown event types is safe only while every type v3 knows has
// a compiler: otherwise an event v3 compiles would be left out silently
// (checkEvents stops on those, but the two lists should simply agree).
func TestEveryV3EventTypeHasACompiler(t *testing.T) {
	v3, compiled := schema.EventTypes(), awscompile.KnownEventTypes()
	if strings.Join(v3, ",") != strings.Join(compiled, ",") {
		t.Errorf("event types v3 knows:\n  %v\ncompiled by Nimbus:\n  %v", v3, compiled)
	}
}

func packagedResources(t *testing.T, yml string) map[string]any {
	t.Helper()
	dir := writeService(t, map[string]string{"serverless.yml": yml, "handler.js": "exports.hello = async () => 'hi';\n"})
	res, err := loadAndPackage(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	return templateResources(t, res)
}

func templateResources(t *testing.T, res *PackageResult) map[string]any {
	t.Helper()
	data, err := res.Template.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct{ Resources map[string]any }
	if err := json.Unmarshal(data, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl.Resources
}

func canonical(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestPackageMissingHandlerFileFails(t *testing.T) {
	dir := writeService(t, map[string]string{"serverless.yml": helloService})
	if _, err := loadAndPackage(t, dir); err == nil {
		t.Fatal("want an error when handler.js is missing")
	}
	if _, err := os.Stat(filepath.Join(dir, ".serverless")); !os.IsNotExist(err) {
		t.Error(".serverless/ written despite the error")
	}
}

func TestPackageNamedBucketHasNoCreateStackTemplate(t *testing.T) {
	dir := writeService(t, map[string]string{
		"serverless.yml": strings.Replace(helloService, "  runtime: nodejs18.x\n", "  runtime: nodejs18.x\n  deploymentBucket: my-bucket\n", 1),
		"handler.js":     "exports.hello = async () => 'hi';\n",
	})
	res, err := loadAndPackage(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.CoreTemplate != nil {
		t.Error("v3 writes no create-stack template with a named deployment bucket")
	}
	if _, err := os.Stat(filepath.Join(dir, ".serverless", CreateStackTemplateFile)); !os.IsNotExist(err) {
		t.Error("create-stack template written")
	}
	code := res.Template.Resource("HelloLambdaFunction")["Properties"].(map[string]any)["Code"].(map[string]any)
	if code["S3Bucket"] != "my-bucket" {
		t.Errorf("S3Bucket = %v", code["S3Bucket"])
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func TestPackageWritesCustomResourcesZip(t *testing.T) {
	dir := writeService(t, map[string]string{
		"serverless.yml": helloService + "    events:\n      - s3:\n          bucket: existing-bucket\n          event: s3:ObjectCreated:*\n          existing: true\n",
		"handler.js":     "exports.hello = async () => 'hi';\n",
	})
	res, err := loadAndPackage(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".serverless", "custom-resources.zip")); err != nil {
		t.Fatalf("custom-resources.zip not written: %v", err)
	}
	found := false
	for _, a := range res.Artifacts.Artifacts {
		if filepath.Base(a.Path) == "custom-resources.zip" && a.SHA256 != "" && filepath.Dir(a.Path) == res.Dir {
			found = true
		}
	}
	if !found {
		t.Errorf("custom-resources.zip missing from the artifact list: %+v", res.Artifacts.Artifacts)
	}
}

func TestPackageIntoFolderWithOtherFilesKeepsThem(t *testing.T) {
	dir := writeService(t, map[string]string{
		"serverless.yml":    helloService,
		"handler.js":        "exports.hello = async () => 'hi';\n",
		"dist/notes.txt":    "mine",
		"dist/sub/keep.txt": "mine too",
	})
	p, err := Load(context.Background(), Options{Dir: dir, Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Package(context.Background(), p, PackageOptions{OutDir: "dist"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"notes.txt", "sub/keep.txt", UpdateStackTemplateFile, "hello.zip"} {
		if _, err := os.Stat(filepath.Join(dir, "dist", f)); err != nil {
			t.Errorf("dist/%s: %v", f, err)
		}
	}
}
