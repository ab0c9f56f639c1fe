package aws

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

func loadTestService(t *testing.T, dir, yml string) *service.Service {
	t.Helper()
	root, ds := config.Parse(filepath.Join(dir, "serverless.yml"), []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(root, dir, filepath.Join(dir, "serverless.yml"), map[string]string{"stage": "dev", "region": "us-east-1"})
}

func TestPrebuiltArtifactsFollowWhatEachFunctionAndLayerShips(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"build/app.zip", "build/own.zip", "layers/deps.zip"} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	svc := loadTestService(t, dir, `service: svc
provider:
  name: aws
package:
  artifact: build/app.zip
functions:
  shared:
    handler: h.shared
  again:
    handler: h.again
  own:
    handler: h.own
    package:
      artifact: build/own.zip
  remote:
    handler: h.remote
    package:
      artifact: s3://bucket/remote.zip
  zipped:
    handler: h.zipped
    package:
      individually: true
  container:
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc
layers:
  deps:
    package:
      artifact: layers/deps.zip
`)
	got, err := PrebuiltArtifacts(svc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "build", "app.zip"),
		filepath.Join(dir, "build", "own.zip"),
		filepath.Join(dir, "layers", "deps.zip"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prebuilt artifacts\n got %q\nwant %q", got, want)
	}
}

func TestPrebuiltArtifactsWithoutArtifactsIsEmpty(t *testing.T) {
	svc := loadTestService(t, t.TempDir(), "service: svc\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: h.a\n")
	got, err := PrebuiltArtifacts(svc)
	if err != nil || len(got) != 0 {
		t.Errorf("PrebuiltArtifacts = %q, %v; want none", got, err)
	}
}

func TestMissingPrebuiltArtifactPointsAtItsKey(t *testing.T) {
	dir := t.TempDir()
	svc := loadTestService(t, dir, `service: svc
provider:
  name: aws
functions:
  a:
    handler: h.a
    package:
      artifact: build/gone.zip
`)
	_, err := PrebuiltArtifacts(svc)
	ds := diag.FromError(err)
	if len(ds) != 1 {
		t.Fatalf("diagnostics = %v (error %v), want one", ds, err)
	}
	d := ds[0]
	if d.Path != "functions.a.package.artifact" || d.Pos.Line != 8 || !strings.Contains(d.Summary, `"build/gone.zip"`) {
		t.Errorf("diagnostic = %+v", d)
	}
}
