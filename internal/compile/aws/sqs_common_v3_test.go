package aws

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The event compilers are checked against serverless v3's own output: each
// golden case of an event type carries sls3-resources.json, the resources
// `sls package --stage dev --region us-east-1` produced for it (everything
// except the function, version, log group and deployment bucket resources
// and the user's own `resources`), plus the default execution role's
// statements. Regenerate after changing a case:
//
//	stub a copy of the case, run sls package in it, then
//	go test ./internal/compile/aws -run TestEventsMatchServerlessV3 -sls3dir=DIR
//
// where DIR/<case>/.serverless holds v3's output.
var sls3Dir = flag.String("sls3dir", "", "rewrite sls3-resources.json from DIR/<case>/.serverless (v3 output)")

// eventGoldenPrefixes are the golden cases owned by the event compilers.
var eventGoldenPrefixes = []string{"schedule", "sqs", "sns", "s3", "stream", "eventbridge", "alb",
	"cloudwatch", "cognito", "iot", "alexa", "kafka", "msk"}

type sls3Expectation struct {
	Resources               map[string]any `json:"Resources"`
	ExecutionRoleStatements []any          `json:"ExecutionRoleStatements,omitempty"`
	// ExecutionRoleAssumePolicy matters where scheduler events let
	// EventBridge Scheduler assume the role.
	ExecutionRoleAssumePolicy any `json:"ExecutionRoleAssumePolicy,omitempty"`
}

func TestEventsMatchServerlessV3(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/golden/*")
	checked := 0
	for _, dir := range dirs {
		if !isEventGoldenCase(filepath.Base(dir)) {
			continue
		}
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			expPath := filepath.Join(dir, "sls3-resources.json")
			if *sls3Dir != "" {
				writeSLS3Expectation(t, dir, filepath.Join(*sls3Dir, filepath.Base(dir)))
			}
			raw, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatalf("%v (generate it with -sls3dir)", err)
			}
			var want sls3Expectation
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			AcceptV3CustomResourceRuntime(want.Resources)
			got := compiledResources(t, dir)
			for _, id := range sortedMapKeys(want.Resources) {
				g, ok := got[id]
				if !ok {
					t.Errorf("missing resource %s", id)
					continue
				}
				if a, b := canonicalJSON(want.Resources[id]), canonicalJSON(g); a != b {
					t.Errorf("resource %s differs from v3:\n%s", id, lineDiff(a, b))
				}
			}
			user := userResourceIDs(t, dir)
			for _, id := range sortedMapKeys(got) {
				if _, ok := want.Resources[id]; !ok && !user[id] && isEventResource(id, got[id]) {
					t.Errorf("resource %s is not in v3's output", id)
				}
			}
			if want.ExecutionRoleAssumePolicy != nil {
				role, _ := got[RoleLogicalID].(map[string]any)
				props, _ := role["Properties"].(map[string]any)
				if a, b := canonicalJSON(want.ExecutionRoleAssumePolicy), canonicalJSON(props["AssumeRolePolicyDocument"]); a != b {
					t.Errorf("execution role trust policy differs from v3:\n%s", lineDiff(a, b))
				}
			}
			if want.ExecutionRoleStatements != nil {
				role, _ := got[RoleLogicalID].(map[string]any)
				gotStmts := roleStatements(role)
				if a, b := canonicalJSON(want.ExecutionRoleStatements), canonicalJSON(gotStmts); a != b {
					t.Errorf("execution role statements differ from v3:\n%s", lineDiff(a, b))
				}
			}
		})
		checked++
	}
	if checked == 0 {
		t.Fatal("no event golden cases found")
	}
}

func isEventGoldenCase(name string) bool {
	for _, p := range eventGoldenPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// coreResourceTypes are compiled by the core steps, not by event compilers.
var coreResourceTypes = map[string]bool{
	"AWS::Logs::LogGroup":  true,
	"AWS::Lambda::Version": true,
	"AWS::Lambda::Alias":   true,
}

// isEventResource tells whether v3's output for a case should list id: all
// compiled resources except the core ones (functions other than the
// custom-resource handlers, versions, log groups, deployment bucket, the
// default execution role).
func isEventResource(id string, res any) bool {
	m, _ := res.(map[string]any)
	typ, _ := m["Type"].(string)
	switch {
	case strings.HasPrefix(id, "CustomDashresource"):
		// The custom-resource handlers and their log groups.
		return true
	case coreResourceTypes[typ]:
		return false
	case id == RoleLogicalID || strings.HasPrefix(id, DeploymentBucketLogicalID):
		return false
	case typ == "AWS::Lambda::Function":
		return false
	}
	return true
}

func compiledResources(t *testing.T, dir string) map[string]any {
	t.Helper()
	out, err := compileGoldenCase(t, dir).JSON()
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]any
	}
	if err := json.Unmarshal(out, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl.Resources
}

func roleStatements(role map[string]any) []any {
	props, _ := role["Properties"].(map[string]any)
	policies, _ := props["Policies"].([]any)
	if len(policies) == 0 {
		return nil
	}
	doc, _ := policies[0].(map[string]any)["PolicyDocument"].(map[string]any)
	stmts, _ := doc["Statement"].([]any)
	return stmts
}

// writeSLS3Expectation extracts from v3's template the resources event
// compilers are responsible for. The user's own resources are left out
// unless an event compiler also produced them (a created pool the user
// overrides); the custom-resource handler's S3 key is pinned to the golden
// harness' artifact directory, since v3's holds the packaging time.
func writeSLS3Expectation(t *testing.T, caseDir, slsDir string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(slsDir, ".serverless", "cloudformation-template-update-stack.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]any
	}
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	compiled := compiledResources(t, caseDir)
	userDefined := userResourceIDs(t, caseDir)
	exp := sls3Expectation{Resources: map[string]any{}}
	for id, res := range tmpl.Resources {
		if !isEventResource(id, res) {
			continue
		}
		if userDefined[id] {
			if _, ours := compiled[id]; !ours || !strings.HasPrefix(id, "CognitoUserPool") {
				continue
			}
		}
		m := res.(map[string]any)
		if strings.HasPrefix(id, "CustomDashresource") && m["Type"] == "AWS::Lambda::Function" {
			code := m["Properties"].(map[string]any)["Code"].(map[string]any)
			key := code["S3Key"].(string)
			code["S3Key"] = "serverless/" + strings.Split(key, "/")[1] + "/dev/1700000000000-2023-11-14T22:13:20.000Z/" +
				filepath.Base(key)
		}
		exp.Resources[id] = m
	}
	if role, ok := tmpl.Resources[RoleLogicalID].(map[string]any); ok {
		exp.ExecutionRoleStatements = roleStatements(role)
		exp.ExecutionRoleAssumePolicy = role["Properties"].(map[string]any)["AssumeRolePolicyDocument"]
	}
	out, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caseDir, "sls3-resources.json"), append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// userResourceIDs lists the logical IDs under resources.Resources of a case.
func userResourceIDs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "serverless.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	inResources := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case line == "  Resources:":
			inResources = true
		case inResources && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && strings.HasSuffix(line, ":"):
			ids[strings.TrimSuffix(strings.TrimSpace(line), ":")] = true
		case line != "" && !strings.HasPrefix(line, " "):
			inResources = false
		}
	}
	return ids
}

func canonicalJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
