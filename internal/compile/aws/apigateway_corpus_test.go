package aws

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/schema"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/internal/variables"
)

const apiCorpusDir = "../../../../shared/corpus/public"

var apiOwnedID = regexp.MustCompile(`^(ApiGateway|HttpApi|Websockets)|LambdaPermission(ApiGateway|HttpApi|Websockets)$|LambdaAuthorizerPermissionHttpApi$|(ApiGatewayAuthorizer|WebsocketsAuthorizer|WebsocketsIntegration|WebsocketsRoute|WebsocketsRouteResponse)$`)

var apiOwnedOutputs = []string{"ServiceEndpoint", "HttpApiId", "HttpApiUrl", "ServiceEndpointWebsocket"}

var apiDeploymentID = regexp.MustCompile(`^ApiGatewayDeployment\d+$`)

var apiDeploymentRef = regexp.MustCompile(`ApiGatewayDeployment\d+`)

// TestAPICorpus compiles every corpus service that has http, httpApi or
// websocket events and that serverless v3 packaged, and compares the
// resources and outputs these compilers own with v3's template. It fails
// when fewer services match than the floor below, so a regression shows.
func TestAPICorpus(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(apiCorpusDir, "*", "expected", "sls3", "cloudformation-template-update-stack.json"))
	if len(dirs) == 0 {
		t.Skip("corpus not present")
	}
	matched, total := 0, 0
	var failures []string
	for _, exp := range dirs {
		svcDir := filepath.Dir(filepath.Dir(filepath.Dir(exp)))
		name := filepath.Base(svcDir)
		raw, _ := os.ReadFile(filepath.Join(svcDir, "serverless.yml"))
		if !regexp.MustCompile(`(?m)^\s*-\s*(http|httpApi|websocket)\s*:`).Match(raw) {
			continue
		}
		total++
		if strings.Contains(string(raw), "${file(") {
			svcDir = apiStubbedCopy(t, svcDir, raw)
		}
		diff, err := apiCorpusDiff(svcDir, exp)
		if err != "" {
			failures = append(failures, name+": "+err)
			continue
		}
		if diff != "" {
			failures = append(failures, name+":\n"+diff)
			continue
		}
		matched++
	}
	t.Logf("API resources match serverless v3 for %d/%d corpus services", matched, total)
	for _, f := range failures {
		t.Log(f)
	}
	if floor := 58; matched < floor {
		t.Errorf("only %d/%d corpus services match (floor %d)", matched, total, floor)
	}
}

// apiStubbedCopy copies a service to a scratch folder and lets the
// corpus' stub-handlers.sh create the files its ${file()} variables read.
func apiStubbedCopy(t *testing.T, dir string, raw []byte) string {
	out := filepath.Join(t.TempDir(), filepath.Base(dir))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "serverless.yml"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(apiCorpusDir, "..", "stub-handlers.sh")
	if msg, err := exec.Command("bash", stub, out).CombinedOutput(); err != nil {
		t.Logf("%s: stub-handlers.sh: %v: %s", filepath.Base(dir), err, msg)
	}
	return out
}

func apiCorpusDiff(svcDir, expPath string) (string, string) {
	src := diag.NewSources()
	file := filepath.Join(svcDir, "serverless.yml")
	root, ds := config.ParseFile(file, "serverless.yml", src)
	if ds.HasErrors() {
		return "", "parse: " + firstLine(ds.Err().Error())
	}
	opts := map[string]string{"stage": "dev", "region": "us-east-1"}
	root, ds = variables.Resolve(context.Background(), root, variables.Options{
		Dir: svcDir, ConfigFile: "serverless.yml", CLIOptions: opts,
		Env: func(string) (string, bool) { return "", false }, Sources: src,
	})
	if ds.HasErrors() {
		return "", "resolve: " + firstLine(ds.Err().Error())
	}
	// schema validation coerces values in place the way v3's does
	schema.Validate(root)
	svc := service.New(root, svcDir, file, opts)
	tmpl, _ := Compile(Input{
		Service:               svc,
		Artifacts:             packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}},
		ArtifactDirectoryName: "serverless/" + svc.Name + "/dev/1700000000000-2023-11-14T22:13:20.000Z",
		InstanceID:            "1700000000000",
	})
	got := apiOwnedPart(tmpl)
	data, _ := os.ReadFile(expPath)
	var want struct {
		Resources map[string]any
		Outputs   map[string]any
	}
	json.Unmarshal(data, &want)
	wantPart := map[string]any{}
	for id, r := range want.Resources {
		typ, _ := r.(map[string]any)["Type"].(string)
		if apiOwns(id, typ) {
			wantPart["Resources."+apiDeploymentID.ReplaceAllString(id, "ApiGatewayDeployment")] = r
		}
	}
	for _, id := range apiOwnedOutputs {
		if o, ok := want.Outputs[id]; ok {
			wantPart["Outputs."+id] = o
		}
	}
	return apiDiffParts(wantPart, got), ""
}

func apiOwns(id, typ string) bool {
	return strings.HasPrefix(typ, "AWS::ApiGateway") || apiOwnedID.MatchString(id) || id == "CustomApiGatewayAccountCloudWatchRole" || id == "IamRoleCustomResourcesLambdaExecution"
}

func apiOwnedPart(tmpl interface{ JSON() ([]byte, error) }) map[string]any {
	data, _ := tmpl.JSON()
	var t struct {
		Resources map[string]any
		Outputs   map[string]any
	}
	json.Unmarshal(data, &t)
	out := map[string]any{}
	for id, r := range t.Resources {
		typ, _ := r.(map[string]any)["Type"].(string)
		if apiOwns(id, typ) {
			out["Resources."+apiDeploymentID.ReplaceAllString(id, "ApiGatewayDeployment")] = r
		}
	}
	for _, id := range apiOwnedOutputs {
		if o, ok := t.Outputs[id]; ok {
			out["Outputs."+id] = o
		}
	}
	return out
}

func apiDiffParts(want, got map[string]any) string {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		w, wok := want[k]
		g, gok := got[k]
		switch {
		case !gok:
			b.WriteString("  missing " + k + "\n")
		case !wok:
			b.WriteString("  extra " + k + "\n")
		default:
			wj, _ := json.Marshal(w)
			gj, _ := json.Marshal(g)
			wj = apiDeploymentRef.ReplaceAll(wj, []byte("ApiGatewayDeployment"))
			gj = apiDeploymentRef.ReplaceAll(gj, []byte("ApiGatewayDeployment"))
			if string(wj) != string(gj) {
				b.WriteString("  differs " + k + "\n    want " + string(wj) + "\n    got  " + string(gj) + "\n")
			}
		}
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.Index(s, "\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// TestAPIGoldenMatchesV3 compares, for every API golden case, the resources
// and outputs these compilers own with v3-template.json: the template
// serverless v3 packaged for the same serverless.yml (sls package --stage
// dev --region us-east-1 on a copy stubbed by the corpus' stub-handlers.sh).
func TestAPIGoldenMatchesV3(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/golden/*/v3-template.json")
	n := 0
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		base := filepath.Base(dir)
		if !strings.HasPrefix(base, "http") && !strings.HasPrefix(base, "websocket") {
			continue
		}
		n++
		t.Run(base, func(t *testing.T) {
			diff, err := apiCorpusDiff(dir, exp)
			if err != "" {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("differs from serverless v3:\n%s", diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("no API golden case has a v3-template.json")
	}
}
