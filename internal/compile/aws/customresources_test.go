package aws

import (
	"encoding/json"
	"testing"
)

// v3CustomResourceFunctionRuntime is the Runtime serverless v3 3.40 gives
// its custom-resource handler Lambdas; Nimbus deliberately writes
// CustomResourceFunctionRuntime instead (see customresources.go).
const v3CustomResourceFunctionRuntime = "nodejs18.x"

// AcceptV3CustomResourceRuntime rewrites, in resources from a template
// serverless v3 produced, the Runtime of each custom-resource handler
// Lambda from v3's nodejs18.x to ours, so the comparisons with v3's output
// pass over this one intentional difference (listed in
// testdata/known-differences.txt) and nothing else: other resources, other
// properties and any other runtime stay as v3 wrote them and still have to
// match.
func AcceptV3CustomResourceRuntime(resources map[string]any) {
	for kind := range customResourceHandler {
		res, _ := resources[CustomResourceFunctionLogicalIDOf(kind)].(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		if res["Type"] == "AWS::Lambda::Function" && props["Runtime"] == v3CustomResourceFunctionRuntime {
			props["Runtime"] = CustomResourceFunctionRuntime
		}
	}
}

func TestCustomResourceHandlersUseTheChosenRuntime(t *testing.T) {
	tmpl, ds := compileYAML(t, `service: svc
provider: {name: aws, runtime: nodejs18.x}
functions:
  first:
    handler: h.first
    events:
      - s3: {bucket: legacy-bucket, event: "s3:ObjectCreated:*", existing: true}
      - cognitoUserPool: {pool: legacy-pool, trigger: PreSignUp, existing: true}
`)
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	for _, kind := range []CustomResourceKind{CustomResourceS3, CustomResourceCognitoUserPool} {
		fn := tmpl.Resource(CustomResourceFunctionLogicalIDOf(kind))
		if fn == nil {
			t.Fatalf("no %s handler Lambda in the template", kind)
		}
		if got := fn["Properties"].(map[string]any)["Runtime"]; got != CustomResourceFunctionRuntime {
			t.Errorf("%s handler Runtime = %v, want %s", kind, got, CustomResourceFunctionRuntime)
		}
	}
	// The service's own functions keep the runtime the user chose.
	if got := tmpl.Resource("FirstLambdaFunction")["Properties"].(map[string]any)["Runtime"]; got != "nodejs18.x" {
		t.Errorf("user function Runtime = %v, want the provider's nodejs18.x", got)
	}
}

func TestAcceptV3CustomResourceRuntimeChangesOnlyThatRuntime(t *testing.T) {
	const v3 = `{
  "CustomDashresourceDashexistingDashs3LambdaFunction": {"Type": "AWS::Lambda::Function",
    "Properties": {"Runtime": "nodejs18.x", "MemorySize": 1024, "Handler": "s3/handler.handler"}},
  "CustomDashresourceDashapigwDashcwDashroleLambdaFunction": {"Type": "AWS::Lambda::Function",
    "Properties": {"Runtime": "nodejs16.x"}},
  "CustomDashresourceDashexistingDashcupLambdaFunction": {"Type": "AWS::Lambda::Version",
    "Properties": {"Runtime": "nodejs18.x"}},
  "HelloLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "nodejs18.x"}}
}`
	var resources map[string]any
	if err := json.Unmarshal([]byte(v3), &resources); err != nil {
		t.Fatal(err)
	}
	AcceptV3CustomResourceRuntime(resources)
	runtime := func(id string) any { return resources[id].(map[string]any)["Properties"].(map[string]any)["Runtime"] }
	if got := runtime("CustomDashresourceDashexistingDashs3LambdaFunction"); got != CustomResourceFunctionRuntime {
		t.Errorf("v3's nodejs18.x handler Runtime became %v, want %s", got, CustomResourceFunctionRuntime)
	}
	if got := resources["CustomDashresourceDashexistingDashs3LambdaFunction"].(map[string]any)["Properties"].(map[string]any)["MemorySize"]; got != float64(1024) {
		t.Errorf("other handler properties must stay as v3 wrote them, MemorySize = %v", got)
	}
	for id, want := range map[string]string{
		// Another runtime than v3 3.40's is a real difference to report.
		"CustomDashresourceDashapigwDashcwDashroleLambdaFunction": "nodejs16.x",
		// Only Lambda functions under the handlers' logical IDs.
		"CustomDashresourceDashexistingDashcupLambdaFunction": "nodejs18.x",
		// The user's own functions keep the runtime they chose.
		"HelloLambdaFunction": "nodejs18.x",
	} {
		if got := runtime(id); got != want {
			t.Errorf("%s Runtime = %v, want it left at %s", id, got, want)
		}
	}
}
