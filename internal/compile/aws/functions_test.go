package aws

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/schema"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/internal/variables"
)

// compileServiceYAML compiles a service given as YAML text.
func compileServiceYAML(t *testing.T, yml string) (*Result, diag.Diagnostics) {
	t.Helper()
	return CompileService(Input{Service: loadServiceYAML(t, yml), ArtifactDirectoryName: "serverless/x/dev/1-2",
		Artifacts: packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}}})
}

// loadServiceYAML resolves a service given as YAML text (stage dev, us-east-1).
func loadServiceYAML(t testing.TB, yml string) *service.Service {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "serverless.yml")
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	src := diag.NewSources()
	root, ds := config.ParseFile(path, "serverless.yml", src)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	opts := map[string]string{"stage": "dev", "region": "us-east-1"}
	root, ds = variables.Resolve(context.Background(), root, variables.Options{
		Dir: dir, ConfigFile: "serverless.yml", CLIOptions: opts,
		Env: func(string) (string, bool) { return "", false }, Sources: src,
	})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	// Validation normalises the tree as v3's ajv does (type coercion,
	// list-form resources). Its errors are ignored: these tests check the
	// compiler's own checks, which SDK callers reach without Load.
	schema.Validate(root)
	return service.New(root, dir, path, opts)
}

func wantError(t *testing.T, ds diag.Diagnostics, line, col int, path, text string) {
	t.Helper()
	for _, d := range ds.Errors() {
		if d.Pos.Line == line && d.Pos.Col == col && d.Path == path && strings.Contains(d.Summary, text) {
			return
		}
	}
	t.Errorf("no error at %d:%d %s containing %q; got:\n%v", line, col, path, text, ds)
}

func TestCompileErrorsArePositioned(t *testing.T) {
	_, ds := compileServiceYAML(t, `service: errs
provider:
  name: aws
functions:
  efs:
    handler: h.main
    fileSystemConfig:
      arn: arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0
      localMountPath: /mnt/x
  both:
    handler: h.main
    provisionedConcurrency: 1
    snapStart: true
  nothing:
    memorySize: 128
resources:
  extensions:
    MissingResource:
      Properties:
        A: 1
    EfsLambdaFunction:
      Tags: []
`)
	wantError(t, ds, 7, 5, "functions.efs.fileSystemConfig", "ensure that function has vpc configured")
	wantError(t, ds, 10, 3, "functions.both", "SnapStart does not support provisioned concurrency")
	wantError(t, ds, 14, 3, "functions.nothing", `"handler" or "image"`)
	wantError(t, ds, 18, 5, "resources.extensions.MissingResource", "not found in generated stack")
	wantError(t, ds, 22, 7, "resources.extensions.EfsLambdaFunction.Tags", "not supported")
}

func TestFunctionTargetUsesAlias(t *testing.T) {
	res, ds := compileServiceYAML(t, `service: alias
provider:
  name: aws
functions:
  warm:
    handler: h.main
    provisionedConcurrency: 3
    url: true
    maximumRetryAttempts: 0
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	url := res.Template.Resource("WarmLambdaFunctionUrl")
	if url["DependsOn"] != "WarmProvConcLambdaAlias" {
		t.Errorf("URL DependsOn = %v", url["DependsOn"])
	}
	target := url["Properties"].(map[string]any)["TargetFunctionArn"].(map[string]any)
	join := target["Fn::Join"].([]any)
	if join[0] != ":" || join[1].([]any)[1] != "provisioned" {
		t.Errorf("TargetFunctionArn = %v, want the provisioned alias", target)
	}
	conf := res.Template.Resource("WarmLambdaEvConf")["Properties"].(map[string]any)
	if conf["Qualifier"] != "provisioned" || conf["MaximumRetryAttempts"] != int64(0) {
		t.Errorf("EventInvokeConfig = %v", conf)
	}
}

func TestNoRoleWhenEveryFunctionHasOne(t *testing.T) {
	res, ds := compileServiceYAML(t, `service: roles
provider:
  name: aws
functions:
  a:
    handler: h.a
    role: arn:aws:iam::123456789012:role/a
  b:
    handler: h.b
    role: RoleB
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	if res.Template.Resource(RoleLogicalID) != nil {
		t.Error("IamRoleLambdaExecution created although every function has a role")
	}
	b := res.Template.Resource("BLambdaFunction")
	deps := b["DependsOn"].([]any)
	if len(deps) != 2 || deps[0] != "BLogGroup" || deps[1] != "RoleB" {
		t.Errorf("DependsOn = %v, want [BLogGroup RoleB]", deps)
	}
	if res.Template.Resource("ALogGroup") == nil {
		t.Error("log groups must exist even without the default role")
	}
}

// BenchmarkCompile300Functions compiles a 300-function service with an
// httpApi route each (the size bench/package.sh times end to end).
func BenchmarkCompile300Functions(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("service: big\nprovider:\n  name: aws\n  runtime: nodejs18.x\npackage:\n  individually: true\nfunctions:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&sb, "  fn%d:\n    handler: src/fn%d/index.handler\n    events:\n      - httpApi: GET /fn%d\n", i, i, i)
	}
	svc := loadServiceYAML(b, sb.String())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ds := CompileService(Input{Service: svc, ArtifactDirectoryName: "serverless/big/dev/1-2"}); ds.HasErrors() {
			b.Fatal(ds.Err())
		}
	}
}

// FuzzCompile feeds arbitrary YAML through the model into the compiler,
// which must report problems as diagnostics and never panic, whatever
// shape (null, scalar, list) a setting has.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/golden/*/serverless.yml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("service: s\nprovider: {name: aws}\nlayers:\n  l:\n    path: x\nfunctions:\n  f:\n    handler: h.h\n    layers: [{Ref: LLambdaLayer}]\n"))
	f.Add([]byte("service: s\nprovider: {name: aws, vpc: x, iam: {role: {statements: 3}}}\nfunctions:\n  f: {handler: h.h, url: {cors: 1}, destinations: {onSuccess: {}}}\nresources: [1, {extensions: {F: 2}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := diag.NewSources()
		root, ds := config.Parse("serverless.yml", data, src)
		if ds.HasErrors() || root == nil {
			return
		}
		svc := service.New(root, t.TempDir(), "serverless.yml", map[string]string{"stage": "dev", "region": "us-east-1"})
		CompileService(Input{Service: svc, ArtifactDirectoryName: "serverless/s/dev/1-2"})
	})
}

// TestCompileSurvivesAnyShape replaces, one at a time, every value in the
// core golden services with null, a string and an empty list, and compiles
// each variant: a setting of an unexpected shape must give diagnostics or
// be ignored, never a panic.
func TestCompileSurvivesAnyShape(t *testing.T) {
	cases, _ := filepath.Glob("testdata/golden/*/serverless.yml")
	shapes := []func(p diag.Pos) *config.Node{
		func(p diag.Pos) *config.Node { return config.NewNull(p) },
		func(p diag.Pos) *config.Node { return config.NewString("x", p) },
		func(p diag.Pos) *config.Node { return config.NewSeq(p) },
	}
	compiled := 0
	for _, path := range cases {
		name := filepath.Base(filepath.Dir(path))
		if !strings.HasPrefix(name, "function") && !strings.HasPrefix(name, "iam") && !strings.HasPrefix(name, "layer") &&
			!strings.HasPrefix(name, "resources") && !strings.HasPrefix(name, "vpc") {
			continue
		}
		svc := loadServiceYAML(t, mustRead(t, path))
		var slots []*config.Node
		config.Walk(svc.Root, nil, func(n *config.Node, _ config.Path) bool {
			slots = append(slots, n)
			return true
		})
		for i := range slots {
			for _, shape := range shapes {
				root := svc.Root.Clone()
				var target *config.Node
				j := 0
				config.Walk(root, nil, func(n *config.Node, _ config.Path) bool {
					if j == i {
						target = n
					}
					j++
					return true
				})
				if target == nil || target == root {
					continue
				}
				*target = *shape(target.Pos)
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("%s: compile panicked with value #%d set to %s: %v", name, i, target.Kind, r)
						}
					}()
					mutated := service.New(root, svc.Dir, svc.ConfigFile, svc.Options)
					CompileService(Input{Service: mutated, ArtifactDirectoryName: "serverless/x/dev/1-2"})
					compiled++
				}()
			}
		}
	}
	if compiled == 0 {
		t.Fatal("no variants compiled")
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
