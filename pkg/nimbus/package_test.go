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

	"github.com/nimbusfw/nimbus/internal/diag"
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

func TestPackageUnknownEventTypeIsPositioned(t *testing.T) {
	dir := writeService(t, map[string]string{
		"serverless.yml": helloService + "    events:\n      - carrierPigeon:\n          coop: roof\n",
		"handler.js":     "exports.hello = async () => 'hi';\n",
	})
	_, err := loadAndPackage(t, dir)
	var de *diag.DiagError
	if !errors.As(err, &de) {
		t.Fatalf("want a diagnostic error, got %v", err)
	}
	d := de.Diags[0]
	if d.Pos.Line != 9 || d.Pos.Col != 9 || d.Path != "functions.hello.events[0].carrierPigeon" {
		t.Errorf("diagnostic at %s %s, want line 9 col 9, path functions.hello.events[0].carrierPigeon", d.Pos, d.Path)
	}
	if !strings.Contains(d.Summary, `"carrierPigeon"`) {
		t.Errorf("summary %q does not name the event type", d.Summary)
	}
	if _, err := os.Stat(filepath.Join(dir, ".serverless")); !os.IsNotExist(err) {
		t.Error(".serverless/ written despite the error")
	}
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
