package cfn

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDependencyOrder(t *testing.T) {
	resources := map[string]any{
		"ApiGatewayDeployment1": map[string]any{"Type": "AWS::ApiGateway::Deployment", "DependsOn": []any{"ApiGatewayMethodGet"}},
		"ApiGatewayMethodGet": map[string]any{"Type": "AWS::ApiGateway::Method", "Properties": map[string]any{
			"RestApiId":   Ref("ApiGatewayRestApi"),
			"Integration": map[string]any{"Uri": Join("", "arn:", GetAtt("HelloLambdaFunction", "Arn"))},
		}},
		"ApiGatewayRestApi":   map[string]any{"Type": "AWS::ApiGateway::RestApi"},
		"HelloLambdaFunction": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{"Role": Sub("${IamRoleLambdaExecution.Arn}")}},
		"IamRoleLambdaExecution": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{
			"Path": Ref("AWS::Region"), // pseudo parameters are not resources
		}},
	}
	got := DependencyOrder(resources)
	want := []string{"ApiGatewayRestApi", "IamRoleLambdaExecution", "HelloLambdaFunction", "ApiGatewayMethodGet", "ApiGatewayDeployment1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestDependencyOrderCycleFallsBackToAlphabetical(t *testing.T) {
	resources := map[string]any{
		"B": map[string]any{"DependsOn": "A"},
		"A": map[string]any{"DependsOn": "B"},
		"C": map[string]any{},
	}
	if got, want := DependencyOrder(resources), []string{"C", "A", "B"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestTemplateJSONKeepsContentAndOrdersResources(t *testing.T) {
	tmpl := New()
	tmpl.AddResource("Z", "AWS::S3::Bucket", nil)
	tmpl.AddResource("A", "AWS::S3::BucketPolicy", map[string]any{"Bucket": Ref("Z"), "Doc": "<&>"})
	tmpl.AddOutput("Out", "d", Ref("Z"))
	raw, err := tmpl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	if strings.Index(s, `"Z"`) > strings.Index(s, `"A"`) {
		t.Errorf("bucket Z should precede A which refers to it:\n%s", s)
	}
	if !strings.Contains(s, `"<&>"`) {
		t.Errorf("HTML characters must not be escaped:\n%s", s)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if len(back["Resources"].(map[string]any)) != 2 || back["Outputs"] == nil {
		t.Errorf("content lost: %s", s)
	}
}
