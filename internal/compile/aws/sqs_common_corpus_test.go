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
	"sync"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
	"github.com/nimbusfw/nimbus/internal/service"
	"github.com/nimbusfw/nimbus/internal/variables"
)

// TestCorpusEventResources compiles every corpus service that uses a
// non-API event and compares the resources those events produce with the
// template serverless v3 packaged for it. It reports N/M services whose
// event resources all match.

// eventResourceID matches the logical IDs the non-API event compilers emit.
var eventResourceID = regexp.MustCompile(`EventsRuleSchedule\d|SchedulerSchedule\d|EventSourceMapping|IotTopicRule\d|` +
	`IotProvisioningTemplate|SnsSubscription|DLQPolicy$|EventsRuleCloudWatchEvent\d|LogsSubscriptionFilter|` +
	`AlbListenerRule|TargetGroup|EventBridge|CustomS31$|CustomCognitoUserPool1$|StreamConsumer$|` +
	`^S3Bucket|^SNSTopic|^CognitoUserPool|^CustomDashresourceDash(existing|event)|^IamRoleCustomResourcesLambdaExecution$|` +
	`LambdaPermission(AlexaSkill|AlexaSmartHome|Alb$|RegisterTarget$|LogsSubscription|CognitoUserPool|IotTopicRule|EventsRule|.*S3$|.*SNS$)`)

var nonAPIEventTypes = regexp.MustCompile(`(?m)^\s*-\s*(schedule|s3|stream|sqs|sns|iot|iotFleetProvisioning|alexaSkill|alexaSmartHome|` +
	`cloudwatchEvent|cloudwatchLog|cognitoUserPool|eventBridge|alb|kafka|msk|activemq|rabbitmq)\b`)

func TestCorpusEventResources(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus comparison skipped in -short mode")
	}
	root := os.Getenv("NIMBUS_CORPUS")
	if root == "" {
		root = "/work/shared/corpus"
	}
	if _, err := os.Stat(filepath.Join(root, "manifest.tsv")); err != nil {
		t.Skipf("corpus not found at %s", root)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "public", "*"))
	plugins := corpusPlugins(t, root)
	var mu sync.Mutex
	matched, total := 0, 0
	t.Run("services", func(t *testing.T) {
		for _, dir := range dirs {
			if p := plugins[filepath.Base(dir)]; strings.Contains(p, "lift") {
				// Lift's ${construct:…} variables and resources are not reproduced.
				continue
			}
			expPath := filepath.Join(dir, "expected", "sls3", "cloudformation-template-update-stack.json")
			yml, err := os.ReadFile(filepath.Join(dir, "serverless.yml"))
			if err != nil || !nonAPIEventTypes.Match(yml) {
				continue
			}
			if _, err := os.Stat(expPath); err != nil {
				continue
			}
			name := filepath.Base(dir)
			total++
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var want struct{ Resources map[string]any }
				raw, _ := os.ReadFile(expPath)
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				AcceptV3CustomResourceRuntime(want.Resources)
				got := compileCorpusService(t, root, name, yml)
				diffs := 0
				for _, id := range sortedIDs(want.Resources) {
					if !eventResourceID.MatchString(id) {
						continue
					}
					g, ok := got[id]
					if !ok {
						t.Errorf("missing %s", id)
						diffs++
						continue
					}
					normalizeCustomResourceKey(want.Resources[id], g)
					if a, b := indentJSON(want.Resources[id]), indentJSON(g); a != b {
						t.Errorf("%s differs:\nv3:     %s\nnimbus: %s", id, a, b)
						diffs++
					}
				}
				for _, id := range sortedIDs(got) {
					if _, ok := want.Resources[id]; !ok && eventResourceID.MatchString(id) {
						t.Errorf("%s is not in v3's template", id)
						diffs++
					}
				}
				wantStmts := eventStatements(roleStatements(asMap(want.Resources[RoleLogicalID])))
				gotStmts := eventStatements(roleStatements(asMap(got[RoleLogicalID])))
				if a, b := indentJSON(wantStmts), indentJSON(gotStmts); a != b {
					t.Errorf("execution role statements added by events differ:\nv3:     %s\nnimbus: %s", a, b)
					diffs++
				}
				if diffs == 0 {
					mu.Lock()
					matched++
					mu.Unlock()
				}
			})
		}
	})
	t.Logf("corpus services with non-API events whose event resources match v3: %d/%d", matched, total)
	if total == 0 {
		t.Skip("no corpus service uses non-API events")
	}
}

// corpusPlugins maps each corpus service to its manifest plugins column.
func corpusPlugins(t *testing.T, root string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) >= 3 && !strings.HasPrefix(line, "#") {
			out[cols[0]] = cols[2]
		}
	}
	return out
}

func compileCorpusService(t *testing.T, root, name string, yml []byte) map[string]any {
	t.Helper()
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "serverless.yml"), yml, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", filepath.Join(root, "stub-handlers.sh"), work).CombinedOutput(); err != nil {
		t.Fatalf("stub-handlers: %v\n%s", err, out)
	}
	src := diag.NewSources()
	cfg, ds := config.ParseFile(filepath.Join(work, "serverless.yml"), "serverless.yml", src)
	if ds.HasErrors() {
		t.Fatalf("parse: %v", ds.Err())
	}
	opts := map[string]string{"stage": "dev", "region": "us-east-1"}
	cfg, ds = variables.Resolve(context.Background(), cfg, variables.Options{
		Dir: work, ConfigFile: "serverless.yml", CLIOptions: opts,
		Env: func(string) (string, bool) { return "", false }, Sources: src,
	})
	if ds.HasErrors() {
		t.Fatalf("resolve: %v", ds.Err())
	}
	svc := service.New(cfg, work, filepath.Join(work, "serverless.yml"), opts)
	tmpl, ds := Compile(Input{
		Service:               svc,
		Artifacts:             packaging.Result{Functions: map[string]string{}, Layers: map[string]string{}},
		ArtifactDirectoryName: "serverless/" + svc.Name + "/dev/1700000000000-2023-11-14T22:13:20.000Z",
		InstanceID:            "1700000000000",
	})
	if ds.HasErrors() {
		t.Fatalf("compile: %v", ds.Err())
	}
	out, err := tmpl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Resources map[string]any }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got.Resources
}

// normalizeCustomResourceKey copies v3's S3 key of a custom-resource
// handler onto ours: it holds the packaging time.
func normalizeCustomResourceKey(want, got any) {
	w, _ := want.(map[string]any)
	g, _ := got.(map[string]any)
	wp, _ := w["Properties"].(map[string]any)
	gp, _ := g["Properties"].(map[string]any)
	wc, _ := wp["Code"].(map[string]any)
	gc, _ := gp["Code"].(map[string]any)
	if wc != nil && gc != nil && strings.HasSuffix(toString(wc["S3Key"]), "/custom-resources.zip") {
		gc["S3Key"] = wc["S3Key"]
	}
}

// eventActionPrefixes are the actions of statements event compilers add to
// the default execution role.
var eventActionPrefixes = []string{"sqs:", "dynamodb:GetRecords", "kinesis:", "sns:Publish", "kafka:",
	"mq:", "secretsmanager:", "ec2:CreateNetworkInterface", "lambda:InvokeFunction"}

// eventStatements keeps the role statements whose first action an event
// compiler adds, in order.
func eventStatements(stmts []any) []any {
	out := []any{}
	for _, st := range stmts {
		actions, _ := asMap(st)["Action"].([]any)
		if len(actions) == 0 {
			continue
		}
		first := toString(actions[0])
		for _, p := range eventActionPrefixes {
			if strings.HasPrefix(first, p) {
				out = append(out, st)
				break
			}
		}
	}
	return out
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func toString(v any) string { s, _ := v.(string); return s }

func indentJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func sortedIDs(m map[string]any) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
