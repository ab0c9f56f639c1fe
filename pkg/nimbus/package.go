package nimbus

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/cfn"
	awscompile "github.com/nimbusfw/nimbus/internal/compile/aws"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/lift"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/schema"
	"github.com/nimbusfw/nimbus/internal/service"
)

// PackageOptions control Package.
type PackageOptions struct {
	// OutDir is where the package goes (--package); default
	// <service>/.serverless. Relative paths are taken from the service dir.
	OutDir string
	// Now stamps the deployment's artifact directory and instance ID;
	// zero means the current time.
	Now time.Time
	// MinifyTemplate writes the update-stack template without indentation
	// (v3's --minify-template).
	MinifyTemplate bool
}

// PackageResult is what Package wrote.
type PackageResult struct {
	// Dir is the package directory (absolute).
	Dir string
	// ArtifactDirectoryName is the S3 folder of this deployment:
	// <prefix>/<service>/<stage>/<ms>-<ISO time>.
	ArtifactDirectoryName string
	// InstanceID is the millisecond timestamp used for ApiGatewayDeployment<id>.
	InstanceID string
	// CoreTemplate is the create-stack template (nil with a named
	// deployment bucket); Template the update-stack one.
	CoreTemplate, Template *cfn.Template
	// State is serverless-state.json's content.
	State map[string]any
	// Artifacts are the zips and prebuilt artifacts, paths inside Dir.
	Artifacts packaging.Result
	// Warnings found while packaging and compiling.
	Warnings diag.Diagnostics
}

// File names serverless v3 writes into the package directory.
const (
	CreateStackTemplateFile = "cloudformation-template-create-stack.json"
	UpdateStackTemplateFile = "cloudformation-template-update-stack.json"
	StateFile               = "serverless-state.json"
)

// Package builds the artifacts and CloudFormation templates of a loaded
// service and writes them as serverless v3's `package` does. Everything is
// built in a temporary directory beside the target and renamed into place
// at the end, so on any error the previous package stays as it was.
func Package(ctx context.Context, p *Project, opts PackageOptions) (*PackageResult, error) {
	svc := p.Service
	var ds diag.Diagnostics
	checkEvents(svc, &ds)
	if ds.HasErrors() {
		return nil, ds.Err()
	}

	target := opts.OutDir
	isDefault := target == ""
	if target == "" {
		target = filepath.Join(svc.Dir, ".serverless")
	} else if !filepath.IsAbs(target) {
		target = filepath.Join(svc.Dir, target)
	}
	target = filepath.Clean(target)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-")
	if err != nil {
		return nil, err
	}
	// MkdirTemp creates 0700; v3's .serverless is a plain 0755 directory.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(tmp)
		}
	}()

	arts, pds := packaging.Package(ctx, svc, tmp)
	ds = append(ds, pds...)
	if ds.HasErrors() {
		return nil, ds.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Millisecond)
	instanceID := strconv.FormatInt(now.UnixMilli(), 10)
	prefix := "serverless"
	if n := svc.Provider.Raw.Get("deploymentPrefix"); n != nil && n.Kind != config.Null {
		prefix = n.Scalar()
	}
	artifactDir := prefix + "/" + svc.Name + "/" + svc.Stage + "/" + instanceID + "-" + now.Format("2006-01-02T15:04:05.000Z")

	// Templates hold only artifact base names; version hashes read the
	// zips where they are now, in tmp.
	final := relocate(arts, tmp, target)
	res, cds := awscompile.CompileService(awscompile.Input{
		Service: svc, Artifacts: arts, ArtifactDirectoryName: artifactDir, InstanceID: instanceID,
	})
	ds = append(ds, cds...)
	if ds.HasErrors() {
		return nil, ds.Err()
	}

	// Bundled custom-resource handlers (existing S3 buckets, Cognito
	// pools, EventBridge, API Gateway's CloudWatch role) ship as v3's
	// custom-resources.zip beside the service artifacts.
	if crPath, err := awscompile.WriteCustomResourcesArtifact(tmp, res.Template); err != nil {
		return nil, err
	} else if crPath != "" {
		data, err := os.ReadFile(crPath)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		final.Artifacts = append(final.Artifacts, packaging.Artifact{
			Path: filepath.Join(target, filepath.Base(crPath)), Built: true,
			SHA256: base64.StdEncoding.EncodeToString(sum[:]), Size: int64(len(data)),
		})
	}

	state := buildState(svc, res, final, artifactDir)
	if res.Core != nil {
		if err := writeJSONFile(filepath.Join(tmp, CreateStackTemplateFile), res.Core); err != nil {
			return nil, err
		}
	}
	if opts.MinifyTemplate {
		data, err := cfn.MarshalCompact(res.Template)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, UpdateStackTemplateFile), data, 0o644); err != nil {
			return nil, err
		}
	} else if err := writeJSONFile(filepath.Join(tmp, UpdateStackTemplateFile), res.Template); err != nil {
		return nil, err
	}
	if err := writeJSONFile(filepath.Join(tmp, StateFile), state); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, target, isDefault); err != nil {
		return nil, err
	}
	committed = true
	return &PackageResult{
		Dir: target, ArtifactDirectoryName: artifactDir, InstanceID: instanceID,
		CoreTemplate: res.Core, Template: res.Template, State: state,
		Artifacts: final, Warnings: ds.Warnings(),
	}, nil
}

// checkEvents stops on an event type serverless v3 knows but no Nimbus
// compiler handles, pointing at the event in the file. Types v3 does not
// know are left alone: Load's schema check already reported them as
// configValidationMode says (a warning by default; an error, which stopped
// Load, in error mode; nothing when off), and v3 then packages the service
// without them, as the compilers here do.
func checkEvents(svc *service.Service, ds *diag.Diagnostics) {
	compiled := map[string]bool{}
	for _, t := range awscompile.KnownEventTypes() {
		compiled[t] = true
	}
	v3Knows := map[string]bool{}
	for _, t := range schema.EventTypes() {
		v3Knows[t] = true
	}
	for _, f := range svc.Functions {
		for _, e := range f.Events {
			if e.Type == "" || compiled[e.Type] || !v3Knows[e.Type] {
				continue
			}
			ds.Errorf(e.Pos, fmt.Sprintf("functions.%s.events[%d].%s", f.Key, e.Index, e.Type),
				"Nimbus cannot package %q events yet (function %q)", e.Type, f.Key)
			d := &(*ds)[len(*ds)-1]
			d.Width = len(e.Type)
			d.Detail = "serverless v3 supports them; Nimbus compiles " + strings.Join(awscompile.KnownEventTypes(), ", ") + "."
		}
	}
}

// relocate rewrites artifact paths under from to the same path under to.
func relocate(r packaging.Result, from, to string) packaging.Result {
	mv := func(p string) string {
		if rel, err := filepath.Rel(from, p); err == nil && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
			return filepath.Join(to, rel)
		}
		return p
	}
	out := packaging.Result{ServiceArtifact: r.ServiceArtifact, Functions: map[string]string{}, Layers: map[string]string{}}
	if out.ServiceArtifact != "" {
		out.ServiceArtifact = mv(out.ServiceArtifact)
	}
	for k, v := range r.Functions {
		out.Functions[k] = mv(v)
	}
	for k, v := range r.Layers {
		out.Layers[k] = mv(v)
	}
	for _, a := range r.Artifacts {
		a.Path = mv(a.Path)
		out.Artifacts = append(out.Artifacts, a)
	}
	return out
}

// replaceDir swaps dir into target: the old target is moved aside first and
// removed only once the new one is in place. A target holding anything but
// a previous package (say --package pointing at a folder of the user's) is
// never removed: the new files are moved into it one by one instead.
func replaceDir(dir, target string, isDefault bool) error {
	// v3 empties .serverless itself before packaging, so the default
	// folder is always replaced whole.
	if !isDefault && !onlyPackageFiles(target) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(target, e.Name())); err != nil {
				return err
			}
		}
		return os.Remove(dir)
	}
	old := ""
	if _, err := os.Lstat(target); err == nil {
		old = target + ".old-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := os.Rename(target, old); err != nil {
			return err
		}
	}
	if err := os.Rename(dir, target); err != nil {
		if old != "" {
			os.Rename(old, target)
		}
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// onlyPackageFiles reports whether target is absent or holds nothing but
// what a package holds (zips and JSON files).
func onlyPackageFiles(target string) bool {
	entries, err := os.ReadDir(target)
	if err != nil {
		return true
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".zip" && ext != ".json") {
			return false
		}
	}
	return true
}

func writeJSONFile(path string, v any) error {
	data, err := cfn.MarshalIndent(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// buildState is serverless-state.json as v3 writes it: the service as
// configured plus what packaging and compilation added (function names,
// memory/timeout/runtime, artifacts, version IDs, both templates).
func buildState(svc *service.Service, res *awscompile.Result, arts packaging.Result, artifactDir string) map[string]any {
	root := svc.Root
	provider, _ := root.Get("provider").Interface().(map[string]any)
	if provider == nil {
		provider = map[string]any{}
	}
	// v3 keeps the configured stage (the CLI stage is read from options)
	// but overwrites the region.
	if provider["stage"] == nil {
		provider["stage"] = service.DefaultStage
	}
	provider["region"] = svc.Region
	if _, ok := provider["versionFunctions"]; !ok || provider["versionFunctions"] == nil {
		provider["versionFunctions"] = true
	}
	if _, ok := provider["vpc"]; !ok && len(svc.Functions) > 0 {
		provider["vpc"] = map[string]any{}
	}
	// v3's provider start-up hook splits an object deploymentBucket into
	// the bucket name (or null) and deploymentBucketObject.
	if db, ok := provider["deploymentBucket"].(map[string]any); ok {
		provider["deploymentBucketObject"] = db
		provider["deploymentBucket"] = db["name"]
	}
	provider["compiledCloudFormationTemplate"] = res.Template
	if res.Core != nil {
		provider["coreCloudFormationTemplate"] = res.Core
	}

	functions := map[string]any{}
	for _, f := range svc.Functions {
		fm, _ := f.Raw.Interface().(map[string]any)
		if fm == nil {
			fm = map[string]any{}
		}
		if _, ok := fm["events"]; !ok {
			fm["events"] = []any{}
		}
		fm["name"] = f.Name
		fm["memory"] = firstValue(f.Raw.Get("memorySize"), svc.Provider.Raw.Get("memorySize"), int64(1024))
		fm["timeout"] = firstValue(f.Raw.Get("timeout"), svc.Provider.Raw.Get("timeout"), int64(6))
		if f.Raw.Get("handler").Truthy() {
			fm["runtime"] = firstValue(f.Raw.Get("runtime"), svc.Provider.Raw.Get("runtime"), awscompile.DefaultRuntime)
		}
		if _, ok := fm["vpc"]; !ok {
			fm["vpc"] = map[string]any{}
		}
		pkg, _ := fm["package"].(map[string]any)
		if pkg == nil {
			pkg = map[string]any{}
		}
		// Zips Nimbus built are recorded by path; a prebuilt artifact
		// keeps the path as written.
		if a := arts.Functions[f.Key]; a != "" && f.Package.Artifact == "" && (svc.Package.Individually || f.Package.Individually) {
			pkg["artifact"] = a
		}
		fm["package"] = pkg
		if id := res.VersionLogicalIDs[f.Key]; id != "" {
			fm["versionLogicalId"] = id
		}
		if name, id, ok := res.Alias(f.Key); ok {
			fm["targetAlias"] = map[string]any{"name": name, "logicalId": id}
		}
		functions[f.Key] = fm
	}
	layers := map[string]any{}
	for _, l := range svc.Layers {
		lm, _ := l.Raw.Interface().(map[string]any)
		if lm == nil {
			lm = map[string]any{}
		}
		if a := arts.Layers[l.Key]; a != "" {
			pkg, _ := lm["package"].(map[string]any)
			if pkg == nil {
				pkg = map[string]any{}
			}
			pkg["artifact"] = a
			lm["package"] = pkg
		}
		layers[l.Key] = lm
	}
	// The layers object v3 holds is the one in initialServerlessConfig,
	// so json-cycle writes the full copy there and a $ref here.
	hasLayers := root.Get("layers") != nil && root.Get("layers").Kind == config.Map

	svcState := map[string]any{
		"service":                            svc.Name,
		"serviceObject":                      map[string]any{"name": svc.Name},
		"provider":                           provider,
		"pluginsData":                        map[string]any{},
		"functions":                          functions,
		"configValidationMode":               firstValue(root.Get("configValidationMode"), nil, "warn"),
		"serviceFilename":                    filepath.Base(svc.ConfigFile),
		"layers":                             layers,
		"isDashboardMonitoringPreconfigured": false,
	}
	// initialServerlessConfig is the config as read. v3 writes the state
	// through json-cycle, so objects it shares with the service above
	// become $refs; its package block is the live one, which packaging
	// has annotated.
	initial := map[string]any{}
	for _, p := range root.Pairs {
		switch p.Key {
		case "provider", "functions", "resources", "custom", "plugins":
			initial[p.Key] = map[string]any{"$ref": `$["service"]["` + p.Key + `"]`}
		case "layers":
			if hasLayers {
				initial[p.Key] = layers
				svcState["layers"] = map[string]any{"$ref": `$["service"]["initialServerlessConfig"]["layers"]`}
			} else {
				initial[p.Key] = p.Value.Interface()
			}
		case "package":
			pkg, _ := p.Value.Interface().(map[string]any)
			if pkg == nil {
				initial[p.Key] = p.Value.Interface()
				break
			}
			pkg["artifactsS3KeyDirname"] = strings.TrimSuffix(artifactDir, "/"+filepath.Base(artifactDir)) + "/code-artifacts"
			pkg["artifactDirectoryName"] = artifactDir
			if arts.ServiceArtifact != "" && svc.Package.Artifact == "" {
				pkg["artifact"] = arts.ServiceArtifact
			}
			if db := awscompile.DeploymentBucketOf(svc); db.Name != "" {
				pkg["deploymentBucket"] = db.Name
			}
			initial[p.Key] = pkg
		default:
			initial[p.Key] = p.Value.Interface()
		}
	}
	if svc.Initial != nil {
		pluginInitialConfig(svc, initial, functions)
	}
	svcState["initialServerlessConfig"] = initial
	for _, k := range []string{"custom", "plugins", "resources", "app", "org", "outputs"} {
		if n := root.Get(k); n != nil && n.Kind != config.Null {
			svcState[k] = n.Interface()
		}
	}
	// v3's resources merge gives the user's block Resources and Outputs.
	if r, ok := svcState["resources"].(map[string]any); ok {
		for _, k := range []string{"Resources", "Outputs"} {
			if r[k] == nil {
				r[k] = map[string]any{}
			}
		}
	}
	// v3 writes package.artifact for the shared service zip at service level.
	// A prebuilt package.artifact is not recorded there.
	if arts.ServiceArtifact != "" && svc.Package.Artifact == "" {
		svcState["artifact"] = arts.ServiceArtifact
	}
	artifactName := ""
	if svc.Package.Artifact != "" {
		artifactName = filepath.Base(svc.Package.Artifact)
	} else if arts.ServiceArtifact != "" {
		artifactName = filepath.Base(arts.ServiceArtifact)
	}
	pkgState := map[string]any{"artifactDirectoryName": artifactDir, "artifact": artifactName}
	if svc.Package.Individually {
		pkgState["individually"] = true
	}
	return map[string]any{"service": svcState, "package": pkgState}
}

// pluginInitialConfig rewrites initialServerlessConfig for a service whose
// live config a plugin replaced after v3 read it (serverless-lift resolves
// its tokens into new objects): provider, functions, resources, custom
// and layers are the old objects, written in full rather than as $refs,
// holding the plugin's additions and unresolved tokens; package has only
// what v3 set before the plugin ran. A function's environment value that
// lift resolved is one object shared with the template, so json-cycle
// writes it as a $ref to the template in the live functions.
func pluginInitialConfig(svc *service.Service, initial, functions map[string]any) {
	for _, k := range []string{"provider", "functions", "resources", "custom", "layers"} {
		if n := svc.Initial.Get(k); n != nil {
			initial[k] = n.Interface()
		} else {
			delete(initial, k) // added by the plugin after v3 read the config
		}
	}
	if prov, ok := initial["provider"].(map[string]any); ok {
		if prov["stage"] == nil {
			prov["stage"] = service.DefaultStage
		}
		prov["region"] = svc.Region
		if prov["versionFunctions"] == nil {
			prov["versionFunctions"] = true
		}
	}
	fns, _ := initial["functions"].(map[string]any)
	for _, f := range svc.Functions {
		if fm, ok := fns[f.Key].(map[string]any); ok {
			fm["name"] = f.Name
			if _, ok := fm["events"]; !ok {
				fm["events"] = []any{} // v3 adds it when loading, before lift copies
			}
		}
		env := svc.Initial.Lookup("functions", f.Key, "environment")
		live, _ := functions[f.Key].(map[string]any)
		liveEnv, _ := live["environment"].(map[string]any)
		for _, p := range env.Entries() {
			text, ok := p.Value.Str()
			if _, isMap := liveEnv[p.Key].(map[string]any); ok && isMap && lift.HasToken(text) {
				liveEnv[p.Key] = map[string]any{"$ref": `$["service"]["provider"]["compiledCloudFormationTemplate"]["Resources"]["` +
					awscompile.FunctionLogicalID(f.Key) + `"]["Properties"]["Environment"]["Variables"]["` + p.Key + `"]`}
			}
		}
	}
	if pkg := svc.Initial.Get("package"); pkg != nil && pkg.Kind == config.Map {
		m, _ := pkg.Interface().(map[string]any)
		if old, ok := initial["package"].(map[string]any); ok && old["artifactsS3KeyDirname"] != nil {
			m["artifactsS3KeyDirname"] = old["artifactsS3KeyDirname"]
		}
		initial["package"] = m
	}
}

func firstValue(a, b *config.Node, def any) any {
	if a.Truthy() {
		return a.Interface()
	}
	if b.Truthy() {
		return b.Interface()
	}
	return def
}
